import ArgumentParser
import CairnRepository

struct UnlockCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unlock",
        abstract: "Remove stale locks (or, with --remove-all, every lock).",
        discussion: """
        A lock is stale when its process is gone (same host) or it has not been refreshed for 30 minutes. \
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
        let removed = try RepositoryLock.unlock(store: store, all: removeAll, hostname: options.identity.hostname, logger: options.logger)
        if !options.quiet { Console.out("removed \(removed) lock(s)") }
    }
}
