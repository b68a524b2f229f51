import ArgumentParser
import CairnBackends
import CairnCore
import CairnEngine
import CairnRepository
import Foundation
import Logging

/// `--repo` and friends, shared by every command that opens a repository.
struct RepositoryOptions: ParsableArguments {
    @Option(name: [.customLong("repo"), .customShort("r")],
            help: ArgumentHelp("Repository location: a local path. Default: $CAIRN_REPOSITORY.", valueName: "repo"))
    var repository: String?

    @Option(name: .customLong("cache-dir"),
            help: ArgumentHelp("Where the SQLite catalog (a rebuildable cache) lives. Default: REPO/cache for local repositories.", valueName: "dir"))
    var cacheDirectory: String?

    @Option(help: ArgumentHelp("How long to wait for a conflicting lock (e.g. 30s, 10m, 1h). Default: do not wait.", valueName: "duration"))
    var lockWait: String?

    @Flag(name: .shortAndLong, help: "Print only errors.")
    var quiet = false

    @Flag(name: .shortAndLong, help: "Print more about what happens.")
    var verbose = false

    var location: String {
        get throws {
            if let repository { return repository }
            if let value = Environment.value("CAIRN_REPOSITORY") { return value }
            throw CLIError(.usage, "no repository given", hint: "pass --repo PATH or set CAIRN_REPOSITORY")
        }
    }

    var logger: Logger { LoggingSetup.logger(verbose: verbose) }

    func store() throws -> any ObjectStore {
        let location = try self.location
        if location.contains("://") {
            throw CLIError(.usage, "\(location): only local repositories are supported by this build",
                           hint: "give a local path")
        }
        let absolute = location.hasPrefix("/") ? location : Environment.workingDirectory + "/" + location
        return LocalStore(root: URL(fileURLWithPath: absolute).standardizedFileURL.path)
    }

    func open() throws -> Repository {
        let store = try store()
        let cache = cacheDirectory ?? Environment.value("CAIRN_CACHE_DIR").map { $0 + "/" + "catalog" } ?? (store.location + "/cache")
        return try Repository.open(store: store, password: { try PasswordSource.read() }, cacheDirectory: cache, logger: logger)
    }

    /// Takes the repository lock for a command: shared for backups, exclusive for prune and repair.
    func lock(_ repository: Repository, exclusive: Bool, command: String) throws -> RepositoryLock {
        try RepositoryLock.acquire(store: repository.store, exclusive: exclusive, command: command, identity: identity,
                                   wait: try DurationText.seconds(lockWait ?? "0"), logger: logger)
    }

    var identity: Identity {
        Identity(hostname: Environment.hostname, username: Environment.username, now: Date())
    }
}
