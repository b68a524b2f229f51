import CairnCore
import CairnPolicy
import CairnRepository
import Foundation

/// `cairn forget`: evaluates a retention policy (or takes explicit ids) and removes the snapshot
/// objects it does not keep. Data stays until `prune`.
public struct ForgetJob {
    public let repository: Repository
    public init(repository: Repository) { self.repository = repository }

    /// The decisions for every group of snapshots matching `filter`.
    public func plan(policy: RetentionPolicy, groupBy: [GroupingKey], filter: SnapshotFilter,
                     calendar: Calendar) throws -> [RetentionGroup] {
        let matching = try repository.snapshots().map(\.summary).filter(filter.matches)
        return Retention.evaluate(matching, policy: policy, groupBy: groupBy, calendar: calendar)
    }

    /// Removes the given snapshots (objects first, then catalog rows); returns how many.
    @discardableResult
    public func remove(_ ids: [SnapshotID], progress: (Int) -> Void = { _ in }) throws -> Int {
        for (position, id) in ids.enumerated() {
            try repository.forgetSnapshot(id)
            progress(position + 1)
        }
        return ids.count
    }
}
