import CairnCore
import CairnRepository

/// The parent snapshot's tree, read alongside the walk (both are in path order), so unchanged
/// files reuse their chunk lists without being read.
struct PreviousTree {
    private let reader: TreeReader
    private var current: TreeNode?
    private var exhausted = false

    init(repository: Repository, snapshot: SnapshotDocument) throws {
        reader = try TreeReader(repository: repository, snapshot: snapshot)
    }

    /// The parent's node at `path`, if it has one. Paths must be asked for in increasing order.
    mutating func find(_ path: [UInt8]) throws -> TreeNode? {
        while !exhausted {
            if current == nil {
                current = try reader.next()
                if current == nil { exhausted = true; return nil }
            }
            let order = TreeNode.pathOrder(current!.path, path)
            if order == 0 { return current }
            if order > 0 { return nil }
            current = nil
        }
        return nil
    }

    /// Copies the chunk list of the node `find` returned into `tree`, and ends the list.
    mutating func copyChunks(into tree: TreeWriter) throws {
        while true {
            let chunks = try reader.nextChunks(limit: 4096)
            if chunks.isEmpty { break }
            try tree.append(chunks: chunks)
        }
        try tree.endChunks()
        current = nil
    }
}
