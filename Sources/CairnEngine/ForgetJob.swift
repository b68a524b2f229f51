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

    /// The stored snapshot object whose name starts with `text` and that cannot be read (it failed
    /// authentication or does not decode, so the catalog left it out and no selection finds it);
    /// nil when there is none. Such an object keeps prune from running until it is removed.
    public func damagedSnapshot(matching text: String) throws -> SnapshotID? {
        let lowered = text.lowercased()
        guard !lowered.isEmpty, lowered.allSatisfy(\.isHexDigit) else { return nil }
        let loaded = Set(try repository.snapshots().map(\.id))
        let candidates = try repository.store.list(.snapshots).compactMap { SnapshotID(hex: $0.key.name) }
            .filter { $0.hex.hasPrefix(lowered) && !loaded.contains($0) }
        guard candidates.count == 1 else { return nil }
        do {
            _ = try repository.loadSnapshot(candidates[0])
            return nil
        } catch let failure as any CairnFailure where failure.category == .integrity {
            return candidates[0]
        }
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
