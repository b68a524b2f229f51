import ArgumentParser
import CairnCore
import CairnEngine
import CairnPolicy
import CairnRepository
import Foundation

struct ForgetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forget",
        abstract: "Remove snapshots by a retention policy (or by id); with --prune, delete their data.",
        discussion: """
        Snapshots are grouped (by host and paths unless --group-by says otherwise) and walked newest \
        first. --keep-last N keeps the N newest. --keep-hourly/daily/weekly/monthly/yearly N keep the \
        newest snapshot of each of the N most recent hours/days/ISO weeks/months/years that have one \
        (calendar periods in local time, so a missed night keeps an older one instead). --keep-within \
        AGE keeps every snapshot up to AGE older than the group's newest (a backup job that stopped \
        running does not make retention eat the last good snapshots). --keep-tag T keeps snapshots \
        tagged T. A snapshot kept for several reasons lists them all. Everything not kept is removed.

        forget only removes snapshot objects; the data they alone used stays until `cairn prune` (or \
        --prune here). A policy that would remove every snapshot of a group is refused unless --force. \
        Exit code 7 means nothing was removed (and, with --prune, nothing reclaimed).

        EXAMPLES:
          cairn forget --keep-daily 7 --keep-weekly 4 --keep-monthly 12 --dry-run
          cairn forget --keep-daily 7 --keep-weekly 4 --keep-monthly 3 --prune
          cairn forget --keep-within 30D --keep-tag release --group-by host
          cairn forget 3f9a2c1d                 # remove one snapshot by id
        """)

    @OptionGroup var options: RepositoryOptions

    @Argument(help: "Snapshot ids to remove (instead of a policy).")
    var snapshots: [String] = []

    @Option(help: ArgumentHelp("Keep the N newest snapshots.", valueName: "n")) var keepLast: Int?
    @Option(help: ArgumentHelp("Keep the newest snapshot of each of the last N hours.", valueName: "n")) var keepHourly: Int?
    @Option(help: ArgumentHelp("Keep the newest snapshot of each of the last N days.", valueName: "n")) var keepDaily: Int?
    @Option(help: ArgumentHelp("Keep the newest snapshot of each of the last N weeks.", valueName: "n")) var keepWeekly: Int?
    @Option(help: ArgumentHelp("Keep the newest snapshot of each of the last N months.", valueName: "n")) var keepMonthly: Int?
    @Option(help: ArgumentHelp("Keep the newest snapshot of each of the last N years.", valueName: "n")) var keepYearly: Int?
    @Option(help: ArgumentHelp("Keep snapshots up to this age before the newest (e.g. 30D, 2W, 1Y6M).", valueName: "age"))
    var keepWithin: String?
    @Option(help: ArgumentHelp("Keep snapshots with this tag (repeatable).", valueName: "tag")) var keepTag: [String] = []

    @Option(help: ArgumentHelp("Group snapshots by any of host, tags, paths (comma separated) or `none`.", valueName: "keys"))
    var groupBy: String = "host,paths"

    @Option(name: .customLong("host"), help: "Only consider snapshots of this host (repeatable).") var hosts: [String] = []
    @Option(name: .customLong("tag"), help: "Only consider snapshots with this tag (repeatable).") var tags: [String] = []
    @Option(name: .customLong("path"), help: "Only consider snapshots of this path (repeatable).") var paths: [String] = []

    @Flag(help: "Show every snapshot with keep/remove and the reasons; change nothing.") var dryRun = false
    @Flag(help: "Remove even when the policy would remove every snapshot of a group.") var force = false
    @Flag(help: "Run prune afterwards to delete the data no snapshot uses.") var prune = false
    @Option(help: ArgumentHelp("With --prune: unused data tolerated, as for `cairn prune`.", valueName: "percent"))
    var maxUnused: String = "5%"
    @Flag(help: "Print one JSON object: the groups with their decisions, what was removed, and prune's report.") var json = false

    @OptionGroup var metricsOptions: MetricsOptions

    var policy: RetentionPolicy {
        get throws {
            RetentionPolicy(keepLast: keepLast, keepHourly: keepHourly, keepDaily: keepDaily, keepWeekly: keepWeekly,
                            keepMonthly: keepMonthly, keepYearly: keepYearly,
                            keepWithin: try keepWithin.map { try Age(parsing: $0) }, keepTags: keepTag)
        }
    }

    var grouping: [GroupingKey] {
        get throws {
            if groupBy == "none" || groupBy.isEmpty { return [] }
            return try groupBy.split(separator: ",").map { part in
                guard let key = GroupingKey(rawValue: part.trimmingCharacters(in: .whitespaces)) else {
                    throw ValidationError("--group-by takes host, tags, paths (comma separated) or none, not \(part)")
                }
                return key
            }
        }
    }

    func validate() throws {
        let rules = try policy
        for value in [keepLast, keepHourly, keepDaily, keepWeekly, keepMonthly, keepYearly].compactMap({ $0 }) where value < 0 {
            throw ValidationError("keep counts must be 0 or more, not \(value)")
        }
        if rules.isEmpty && snapshots.isEmpty {
            throw ValidationError("give a policy (e.g. --keep-daily 7 --keep-weekly 4) or snapshot ids to remove")
        }
        if !rules.isEmpty && !snapshots.isEmpty {
            throw ValidationError("give either a policy or snapshot ids, not both")
        }
        _ = try grouping
        _ = try PruneRunner.fraction(maxUnused)
    }

    func run() throws {
        var metrics = RunMetrics(command: prune ? "forget --prune" : "forget", repository: (try? options.location) ?? "")
        try MetricsFile.recording(metricsOptions, &metrics) { try perform(&$0) }
    }

    private func perform(_ metrics: inout RunMetrics) throws {
        let repository = try options.openToLock()
        let lock = try options.lock(repository, exclusive: true, command: "forget")
        defer { lock.release() }
        defer { metrics.measure(repository) }
        let job = ForgetJob(repository: repository)
        var output: [String: Any] = ["dry_run": dryRun]
        let toRemove: [Snapshot]
        var damaged: [SnapshotID] = []
        if snapshots.isEmpty {
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone.current
            let groups = try job.plan(policy: try policy, groupBy: try grouping,
                                      filter: SnapshotFilter(hosts: hosts, tags: tags, paths: paths), calendar: calendar)
            if Retention.wouldRemoveEverything(groups) && !force {
                throw CLIError(.usage, "this policy would remove every snapshot of a group",
                               hint: "check it with --dry-run; add --force if that is really what you want")
            }
            if json {
                output["groups"] = groups.map(Self.groupJSON)
            } else if !options.quiet {
                for group in groups { print(group) }
            }
            let all = try repository.snapshots()
            let removeIDs = Set(groups.flatMap { $0.decisions.filter { !$0.keep }.map(\.snapshot.id) })
            toRemove = all.filter { removeIDs.contains($0.id) }
        } else {
            var resolved: [Snapshot] = []
            for text in snapshots {
                do {
                    resolved.append(try SnapshotQueries.resolve(text, in: repository))
                } catch let failure as any CairnFailure where failure.category == .noMatch {
                    // A snapshot object too damaged to read is not in any listing, but can be removed by id.
                    guard let id = try job.damagedSnapshot(matching: text) else { throw failure }
                    damaged.append(id)
                }
            }
            toRemove = resolved
        }
        output["remove"] = toRemove.map(\.id.hex) + damaged.map(\.hex)
        if !dryRun {
            try job.remove(toRemove.map(\.id) + damaged)
        }
        if !json && !options.quiet {
            Console.out("\(dryRun ? "would remove" : "removed") \(toRemove.count + damaged.count) snapshot(s)"
                        + (damaged.isEmpty ? "" : ", \(damaged.count) of them damaged beyond reading: "
                            + damaged.map(\.short).joined(separator: ", ")))
        }
        var reclaimed = false
        if prune {
            if !json && !options.quiet { Console.out("") }
            let report = try PruneRunner.run(repository, options: options, lock: lock, maxUnused: try PruneRunner.fraction(maxUnused),
                                             dryRun: dryRun, json: false, print: !json)
            reclaimed = report.reclaimedAnything
            if json { output["prune"] = try JSONSerialization.jsonObject(with: JSONEncoder.sorted.encode(report)) }
        }
        if json { Console.json(output) }
        if !dryRun && toRemove.isEmpty && damaged.isEmpty && !reclaimed { throw ExitCode(ExitCodes.nothingToDo) }
    }

    private func print(_ group: RetentionGroup) {
        let label = group.key.isEmpty ? "all snapshots" : group.key.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.isEmpty ? "(none)" : $0.value)" }.joined(separator: ", ")
        Console.out("\(label):")
        Console.table(["ID", "Time", "Host", "Tags", "Action", "Reasons"], group.decisions.map { decision in
            [decision.snapshot.id.short, Rendering.localTime(decision.snapshot.time), decision.snapshot.hostname,
             decision.snapshot.tags.joined(separator: ","), decision.keep ? "keep" : "remove", decision.reasons.joined(separator: ", ")]
        })
        let kept = group.decisions.filter(\.keep).count
        Console.out("keep \(kept), remove \(group.decisions.count - kept)\n")
    }

    static func groupJSON(_ group: RetentionGroup) -> [String: Any] {
        [
            "group": group.key,
            "keep": group.decisions.filter(\.keep).map(\.snapshot.id.hex),
            "remove": group.decisions.filter { !$0.keep }.map(\.snapshot.id.hex),
            "decisions": group.decisions.map { decision in
                ["id": decision.snapshot.id.hex, "short_id": decision.snapshot.id.short, "time": RFC3339.format(decision.snapshot.time),
                 "hostname": decision.snapshot.hostname, "tags": decision.snapshot.tags, "paths": decision.snapshot.paths,
                 "keep": decision.keep, "reasons": decision.reasons] as [String: Any]
            },
        ]
    }
}
