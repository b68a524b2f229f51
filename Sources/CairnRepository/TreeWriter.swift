import CairnCodec
import CairnCore

/// Serializes a snapshot's nodes (and each file's chunk ids after its node) into one stream,
/// cuts it with the tree chunker and stores the pieces as tree blobs. Memory stays bounded by
/// a few maximum-size tree chunks.
///
/// For a file: `append(node)`, then `append(chunks:)` any number of times, then `endChunks()`.
public final class TreeWriter {
    private let blobs: BlobWriter
    private let chunker: ContentDefinedChunker
    private let maximum: Int
    private var buffer: [UInt8] = []
    private var inFile = false
    /// The current file's ids not yet written. Lists are written in groups of exactly
    /// `groupSize` ids (the last group holds the rest), however they are handed in: a file just
    /// read arrives a window at a time, one whose list is copied from the parent arrives in the
    /// reader's pieces, and both must serialize to the same bytes for their tree blobs to
    /// deduplicate. (Before, the first unchanged backup after a file was read stored its list
    /// again: 8.4 MB of new tree blobs for the medium benchmark's night 1.)
    private var group: [ChunkID] = []
    public static let groupSize = 4096
    public private(set) var treeIDs: [ChunkID] = []

    public init(blobs: BlobWriter, chunker: ContentDefinedChunker, maximumChunkSize: Int) {
        self.blobs = blobs
        self.chunker = chunker
        self.maximum = maximumChunkSize
        buffer.reserveCapacity(maximumChunkSize * 3)
    }

    public func append(_ node: TreeNode) throws {
        precondition(!inFile, "endChunks() must close a file's chunk list before the next node")
        var writer = ByteWriter()
        node.encode(into: &writer)
        buffer.append(contentsOf: writer.bytes)
        inFile = node.kind == .file
        try cutIfFull()
    }

    /// Appends the next of the current file's chunk ids.
    public func append(chunks: [ChunkID]) throws {
        precondition(inFile, "chunk ids follow a file node")
        var rest = chunks[...]
        while !rest.isEmpty {
            let take = min(rest.count, Self.groupSize - group.count)
            group += rest.prefix(take)
            rest = rest.dropFirst(take)
            if group.count == Self.groupSize { try writeGroup() }
        }
    }

    /// Ends the current file's chunk list.
    public func endChunks() throws {
        precondition(inFile, "endChunks() follows a file node")
        try writeGroup()
        buffer.append(0)
        inFile = false
        try cutIfFull()
    }

    private func writeGroup() throws {
        guard !group.isEmpty else { return }
        var writer = ByteWriter()
        writer.varint(UInt64(group.count))
        buffer.append(contentsOf: writer.bytes)
        for chunk in group {
            chunk.hash.append(to: &buffer)
        }
        group.removeAll(keepingCapacity: true)
        try cutIfFull()
    }

    private func cutIfFull() throws {
        guard buffer.count >= maximum * 2 else { return }
        try cut(final: false)
    }

    /// Cuts every full chunk (or, when `final`, everything) and stores the pieces.
    private func cut(final: Bool) throws {
        var lengths: [Int] = []
        var position = 0
        try buffer.withUnsafeBytes { all in
            while position < all.count {
                let rest = all.count - position
                if !final && rest < maximum { break }
                let length = chunker.nextChunkLength(in: UnsafeRawBufferPointer(rebasing: all[position...]))
                lengths.append(length)
                position += length
            }
            guard !lengths.isEmpty else { return }
            treeIDs += try blobs.store(UnsafeRawBufferPointer(rebasing: all[0..<position]), lengths: lengths, kind: .tree)
        }
        buffer.removeFirst(position)
    }

    /// Stores what is left; returns the ids of every tree blob in stream order.
    public func finish() throws -> [ChunkID] {
        precondition(!inFile, "endChunks() must close the last file")
        try cut(final: true)
        return treeIDs
    }
}
