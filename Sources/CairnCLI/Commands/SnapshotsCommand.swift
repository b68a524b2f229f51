import ArgumentParser
import CairnCore
import CairnEngine
import CairnRepository

struct SnapshotsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshots",
        abstract: "List snapshots, oldest first.",
        discussion: """
        EXAMPLES:
          cairn snapshots --repo /srv/backups/redis
          cairn snapshots --json | jq -r '.[-1].id'
          cairn snapshots --host redis-a --tag nightly
        """)

    @OptionGroup var options: RepositoryOptions

    @Option(name: .customLong("host"), help: "Only snapshots of this host (repeatable).")
    var hosts: [String] = []

    @Option(name: .customLong("tag"), help: "Only snapshots with this tag (repeatable: any of them).")
    var tags: [String] = []

    @Flag(help: "Print a JSON array.")
    var json = false

    func run() throws {
        let repository = try options.open()
        let snapshots = try repository.snapshots().filter { snapshot in
            (hosts.isEmpty || hosts.contains(snapshot.document.hostname))
                && (tags.isEmpty || !Set(tags).isDisjoint(with: snapshot.document.tags))
        }
        if json {
            Console.json(snapshots.map(Rendering.snapshotJSON))
            return
        }
        Console.table(["ID", "Time", "Host", "Tags", "Files", "Size", "Added", "Redis", "Keys", "Paths"], snapshots.map { snapshot in
            let document = snapshot.document
            let redis = document.redis ?? [:]
            return [snapshot.id.short, Rendering.localTime(document.time), document.hostname, document.tags.joined(separator: ","),
                    String(document.summary.files), Rendering.size(document.summary.bytes),
                    Rendering.size(document.summary.addedBytes), redis["redis_version"] ?? (redis["rdb_version"].map { "rdb " + $0 } ?? "-"),
                    redis["keys"] ?? "-", document.paths.joined(separator: " ")]
        })
        if !options.quiet { Console.out("\(snapshots.count) snapshot(s)") }
    }
}
