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

    /// Appends one group of the current file's chunk ids.
    public func append(chunks: [ChunkID]) throws {
        precondition(inFile, "chunk ids follow a file node")
        guard !chunks.isEmpty else { return }
        var writer = ByteWriter()
        writer.varint(UInt64(chunks.count))
        buffer.append(contentsOf: writer.bytes)
        for chunk in chunks {
            chunk.hash.append(to: &buffer)
        }
        try cutIfFull()
    }

    /// Ends the current file's chunk list.
    public func endChunks() throws {
        precondition(inFile, "endChunks() follows a file node")
        buffer.append(0)
        inFile = false
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
