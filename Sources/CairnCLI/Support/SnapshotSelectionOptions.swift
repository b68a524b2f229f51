import ArgumentParser
import CairnEngine
import CairnPolicy
import CairnRepository
import Foundation

/// `SNAPSHOT` or `--at WHEN`, with `--host`, `--tag`, `--path` filters for `--at`.
struct SnapshotSelectionOptions: ParsableArguments {
    @Argument(help: "Snapshot id (or an 8-digit prefix) or `latest`. Omit when using --at.")
    var snapshot: String?

    @Option(help: ArgumentHelp("Newest snapshot at or before WHEN: now, an age (90m, 36h, 3D, 2W, 6M, 1Y, 1D12h), a date or date-time (local time unless a zone is given), or NB for the N-th newest (0B = newest).", valueName: "when"))
    var at: String?

    @Option(name: .customLong("host"), help: "With --at: only snapshots of this host (repeatable).")
    var hosts: [String] = []

    @Option(name: .customLong("filter-tag"), help: "With --at: only snapshots with this tag (repeatable).")
    var tags: [String] = []

    @Option(name: .customLong("path"), help: "With --at: only snapshots of this path (repeatable).")
    var paths: [String] = []

    func validate() throws {
        if (snapshot == nil) == (at == nil) { throw ValidationError("name a snapshot (an id or `latest`) or give --at WHEN") }
    }

    /// The chosen snapshot; with --at, says which one it picked and how old it is.
    func resolve(in repository: Repository, quiet: Bool) throws -> Snapshot {
        if let snapshot { return try SnapshotQueries.resolve(snapshot, in: repository) }
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = TimeZone.current
        let now = Date()
        let chosen = try SnapshotQueries.resolve(at: at!, filter: SnapshotFilter(hosts: hosts, tags: tags, paths: paths),
                                                 in: repository, now: now, calendar: calendar)
        if !quiet {
            let age = Int(now.timeIntervalSince(chosen.document.time))
            Console.error("--at \(at!): snapshot \(chosen.id.short) from \(Rendering.localTime(chosen.document.time)) (\(Self.describe(age)) old)")
        }
        return chosen
    }

    static func describe(_ seconds: Int) -> String {
        if seconds < 120 { return "\(seconds)s" }
        if seconds < 7200 { return "\(seconds / 60)m" }
        if seconds < 172_800 { return "\(seconds / 3600)h" }
        return "\(seconds / 86400)d"
    }
}
