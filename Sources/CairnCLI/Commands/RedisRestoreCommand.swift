import ArgumentParser
import CairnEngine
import CairnRedis
import CairnRepository
import Foundation

struct RedisRestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redis-restore",
        abstract: "Restore a snapshot into a Redis server's data directory, safely.",
        discussion: """
        The whole procedure, each step printed before it is taken: restore the snapshot's RDB next to the \
        live files while the server still runs, with its numeric owner (or --owner), and when AOF is on \
        build the AOF folder there with the RDB as its base and a fresh manifest, so the server loads \
        exactly the snapshot; stop the server (SHUTDOWN SAVE, so the data it held is saved first, or \
        --stop-command); move the current dump.rdb and AOF folder aside as *.old (nothing is deleted) and \
        the restored ones into place; start (--start-command); wait for loading; compare key counts with \
        the snapshot (keys whose TTL passed since the backup excepted). --dry-run prints the plan only.

        Nothing is replaced unless the server is known to be stopped: a server that answers --redis with \
        an error (a wrong or missing password), nothing at --redis while the server in --conf listens on \
        another port or its pidfile names a live process, a redis-server running in the data directory \
        when there is no server to ask at --redis, or a server under a supervisor (systemd) without \
        --stop-command, stops the restore before anything changes. So does an AOF folder in the data \
        directory when neither --conf nor --redis says whether AOF is on, and any failure while the \
        snapshot is restored next to the live files: the server keeps running on its own data.

        EXAMPLES:
          cairn redis-restore latest --redis redis://127.0.0.1:6379 \\
              --conf /etc/redis/redis.conf \\
              --stop-command 'systemctl stop redis-server' \\
              --start-command 'systemctl start redis-server'
          # a server that is already stopped:
          cairn redis-restore --at 1D --conf /etc/redis/redis.conf \\
              --owner redis:redis --dry-run
        """)

    @OptionGroup var options: RepositoryOptions
    @OptionGroup var selection: SnapshotSelectionOptions
    @OptionGroup var redisOptions: RedisOptions

    @Option(help: ArgumentHelp("The server's data directory (default: CONFIG GET dir, or dir in --conf).", valueName: "dir"))
    var dataDir: String?

    @Option(help: ArgumentHelp("The server's redis.conf, read for dir, dbfilename and AOF settings (needed when CONFIG is renamed, and without --redis when the data directory holds an AOF folder).", valueName: "file"))
    var conf: String?

    @Option(help: ArgumentHelp("Shell command that stops the server (default: SHUTDOWN SAVE through --redis).", valueName: "command"))
    var stopCommand: String?

    @Option(help: ArgumentHelp("Shell command that starts the server.", valueName: "command"))
    var startCommand: String?

    @Option(help: ArgumentHelp("Owner of the placed files, as USER:GROUP names or numbers (default: the snapshot's numeric ids).", valueName: "user:group"))
    var owner: String?

    @Flag(help: "Print the plan and change nothing.")
    var dryRun = false

    func run() throws {
        let repository = try options.openToRestore()
        let lock = try options.readLock(repository, command: "redis-restore")
        defer { lock?.release() }
        let chosen = try selection.resolve(in: repository, quiet: options.quiet)
        var request = RedisRestoreRequest()
        request.dataDirectory = dataDir
        request.directIO = Environment.value("CAIRN_RESTORE_DIRECT_IO") != "0"
        request.sideBySideMinimumBytes = try RestoreTuning.sideBySideMinimumBytes()
        request.address = try redisOptions.address()
        request.configFile = conf
        request.stopCommand = stopCommand
        request.startCommand = startCommand
        request.owner = try owner.map(OwnerParser.parse)
        request.dryRun = dryRun
        try RedisRestoreJob(repository: repository, snapshot: chosen, request: request, logger: options.logger) { line in
            Console.out(line)
        }.run()
    }
}

enum OwnerParser {
    /// `redis:redis` or `999:999`.
    static func parse(_ text: String) throws -> (uid: UInt32, gid: UInt32) {
        let parts = text.split(separator: ":").map(String.init)
        guard parts.count == 2 else { throw CLIError(.usage, "--owner takes USER:GROUP, e.g. redis:redis or 999:999") }
        let uid = UInt32(parts[0]) ?? getpwnam(parts[0])?.pointee.pw_uid
        let gid = UInt32(parts[1]) ?? getgrnam(parts[1])?.pointee.gr_gid
        guard let uid, let gid else { throw CLIError(.usage, "unknown user or group in --owner \(text)") }
        return (uid, gid)
    }
}
