import CairnPolicy
import CairnRepository
import Foundation

extension SnapshotQueries {
    /// Resolves `--at WHEN` among the snapshots matching `filter`.
    public static func resolve(at when: String, filter: SnapshotFilter, in repository: Repository,
                               now: Date, calendar: Calendar) throws -> Snapshot {
        let all = try repository.snapshots()
        let point = try PointInTime.parse(when, timeZone: calendar.timeZone)
        let chosen = try SnapshotSelection.select(point, from: all.map(\.summary), filter: filter, now: now, calendar: calendar)
        return all.first { $0.id == chosen.id }!
    }
}

extension Snapshot {
    /// The fields policies look at.
    public var summary: SnapshotSummary {
        SnapshotSummary(id: id, time: document.time, hostname: document.hostname, tags: document.tags, paths: document.paths)
    }
}
