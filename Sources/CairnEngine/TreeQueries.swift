import CairnCodec
import CairnCore
import CairnRepository

/// `cairn ls` and `cairn diff`: streaming views of snapshot trees.
public enum TreeQueries {
    /// Calls `visit` for every node of the snapshot, in path order.
    public static func list(_ snapshot: Snapshot, in repository: Repository, visit: (TreeNode) throws -> Void) throws {
        let tree = try TreeReader(repository: repository, snapshot: snapshot.document)
        while let node = try tree.next() { try visit(node) }
    }

    public enum Change: String, Sendable {
        case added = "+", removed = "-", modified = "M", metadata = "U", typeChanged = "T"
    }

    /// Compares two snapshots by merging their trees; content compares by chunk lists.
    public static func diff(_ old: Snapshot, _ new: Snapshot, in repository: Repository,
                            visit: (Change, TreeNode) throws -> Void) throws {
        let left = try TreeReader(repository: repository, snapshot: old.document)
        let right = try TreeReader(repository: repository, snapshot: new.document)
        var a = try left.next()
        var aChunks = try chunks(of: a, left)
        var b = try right.next()
        var bChunks = try chunks(of: b, right)
        while a != nil || b != nil {
            let order: Int
            if let a, let b { order = TreeNode.pathOrder(a.path, b.path) } else { order = a == nil ? 1 : -1 }
            if order < 0 {
                try visit(.removed, a!)
                a = try left.next(); aChunks = try chunks(of: a, left)
            } else if order > 0 {
                try visit(.added, b!)
                b = try right.next(); bChunks = try chunks(of: b, right)
            } else {
                let before = a!, after = b!
                if before.kind != after.kind {
                    try visit(.typeChanged, after)
                } else if aChunks != bChunks || before.linkTarget != after.linkTarget {
                    try visit(.modified, after)
                } else if before.mode != after.mode || before.uid != after.uid || before.gid != after.gid
                            || before.modificationSeconds != after.modificationSeconds
                            || before.modificationNanoseconds != after.modificationNanoseconds {
                    try visit(.metadata, after)
                }
                a = try left.next(); aChunks = try chunks(of: a, left)
                b = try right.next(); bChunks = try chunks(of: b, right)
            }
        }
    }

    /// SHA-256 over a file's chunk list, so huge lists compare without being held.
    private static func chunks(of node: TreeNode?, _ reader: TreeReader) throws -> Hash256 {
        guard let node, node.kind == .file else { return .zero }
        var digest = StreamingSHA256()
        while true {
            let ids = try reader.nextChunks(limit: 4096)
            if ids.isEmpty { break }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(ids.count * 32)
            for id in ids { id.hash.append(to: &bytes) }
            bytes.withUnsafeBytes { digest.update($0) }
        }
        return digest.finalize()
    }
}
