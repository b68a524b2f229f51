import CairnCLI

CairnCommand.runMain()
