import ArgumentParser
import CairnEngine
import CairnRepository
import Foundation

struct DrillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drill",
        abstract: "Prove a snapshot restores: load it in a throwaway redis-server and compare key counts.",
        discussion: """
        Restores into a temporary directory, starts redis-server on a free loopback port, loads the RDB, \
        compares keys per database with what the snapshot recorded, and — when the snapshot has an AOF — \
        loads the AOF in a second server to prove it loads too. Exits 13 on a mismatch. Run it nightly \
        after the backup: it is the restore test operators otherwise never run.

        EXAMPLES:
          cairn drill latest
          cairn drill --at 1W --json
        """)

    @OptionGroup var options: RepositoryOptions
    @OptionGroup var selection: SnapshotSelectionOptions

    @Option(help: ArgumentHelp("The redis-server binary to load with.", valueName: "path"))
    var redisServer = "redis-server"

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let repository = try options.openToRestore()
        let lock = try options.readLock(repository, command: "drill")
        defer { lock?.release() }
        let chosen = try selection.resolve(in: repository, quiet: options.quiet || json)
        let result = try DrillJob(repository: repository, snapshot: chosen, redisServer: redisServer, logger: options.logger).run()
        if json {
            var object: [String: Any] = ["snapshot_id": chosen.id.hex, "passed": result.passed, "rdb": result.rdb.description,
                                         "seconds": result.seconds]
            if let aof = result.aofKeys { object["aof_keys"] = aof.keys.sorted().map { "db\($0)=\(aof[$0]!)" }.joined(separator: ",") }
            object["warnings"] = result.aofWarning.map { [$0] } ?? []
            Console.json(object)
        } else {
            Console.out("drill of snapshot \(chosen.id.short): RDB loaded, \(result.rdb.description)" + (result.rdb.matches ? "" : " — MISMATCH"))
            if let aof = result.aofKeys {
                Console.out("  AOF loaded on its own: " + aof.keys.sorted().map { "db\($0): \(aof[$0]!)" }.joined(separator: ", "))
            }
            Console.out(result.passed ? "drill passed in \(String(format: "%.1f", result.seconds))s" : "drill FAILED")
        }
        if let warning = result.aofWarning { Console.error("cairn: warning: \(warning)") }
        if !result.passed {
            throw CLIError(.integrity, "the snapshot's key counts do not match after loading (\(result.rdb.description))")
        }
    }
}
