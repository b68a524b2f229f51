import CairnCore
import Foundation

/// What policies look at in a snapshot.
public struct SnapshotSummary: Sendable, Equatable {
    public var id: SnapshotID
    public var time: Date
    public var hostname: String
    public var tags: [String]
    public var paths: [String]

    public init(id: SnapshotID, time: Date, hostname: String, tags: [String], paths: [String]) {
        self.id = id; self.time = time; self.hostname = hostname; self.tags = tags; self.paths = paths
    }
}

/// `--host`, `--tag`, `--path` filters; empty lists match anything. A snapshot matches when its
/// host is one of `hosts`, it carries every tag of `tags`, and it has every path of `paths`.
public struct SnapshotFilter: Sendable, Equatable {
    public var hosts: [String]
    public var tags: [String]
    public var paths: [String]

    public init(hosts: [String] = [], tags: [String] = [], paths: [String] = []) {
        self.hosts = hosts; self.tags = tags; self.paths = paths
    }

    public func matches(_ snapshot: SnapshotSummary) -> Bool {
        (hosts.isEmpty || hosts.contains(snapshot.hostname))
            && tags.allSatisfy(snapshot.tags.contains)
            && paths.allSatisfy(snapshot.paths.contains)
    }
}
