import ArgumentParser
import CairnRepository

struct UnlockCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unlock",
        abstract: "Remove stale locks (or, with --remove-all, every lock).",
        discussion: """
        A lock is stale when it has not been refreshed for 30 minutes, or when its process is gone and \
        it was written on this boot of this host in this PID namespace (so not from a container or \
        another machine of the same short name, whose pids mean nothing here, nor by a Cairn too old \
        to record these). \
        Commands remove stale locks in their way by themselves; this is for looking and cleaning up by hand.

        EXAMPLES:
          cairn unlock
          # only when you know no cairn process uses the repository:
          cairn unlock --remove-all
        """)

    @OptionGroup var options: RepositoryOptions

    @Flag(help: "Remove every lock, also those of running processes.")
    var removeAll = false

    func run() throws {
        let store = try options.store()
        let removed = try RepositoryLock.unlock(store: store, all: removeAll, identity: options.identity, logger: options.logger)
        if !options.quiet { Console.out("removed \(removed) lock(s)") }
    }
}
