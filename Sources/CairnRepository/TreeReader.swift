import CairnCore

/// Streams a snapshot's nodes back from its tree blobs, loading one blob at a time.
public final class TreeReader {
    private let reader: BlobReader
    private let blobs: [ChunkID]
    private var nextBlob = 0
    private var buffer: [UInt8] = []
    private var position = 0
    /// True while the current file's chunk list has not been read to its end.
    public private(set) var inChunkList = false
    private var groupRemaining = 0

    public init(reader: BlobReader, tree: [ChunkID]) {
        self.reader = reader
        self.blobs = tree
    }

    public convenience init(repository: Repository, snapshot: SnapshotDocument) throws {
        self.init(reader: BlobReader(repository: repository), tree: try snapshot.treeChunkIDs())
    }

    /// Makes at least `count` unread bytes available, loading blobs as needed; false at the end.
    private func ensure(_ count: Int) throws -> Bool {
        while buffer.count - position < count {
            guard nextBlob < blobs.count else { return false }
            if position > 0 {
                buffer.removeFirst(position)
                position = 0
            }
            buffer += try reader.read(blobs[nextBlob])
            nextBlob += 1
        }
        return true
    }

    private func varint() throws -> UInt64 {
        _ = try ensure(10)
        var byteReader = ByteReader(buffer, what: "snapshot tree", position: position)
        let value = try byteReader.varint()
        position = byteReader.position
        return value
    }

    /// The longest node record `next` reads. Cairn's are a few KiB at most (the path and the link
    /// target come from the file system, which bounds each by PATH_MAX, 4096); one announcing
    /// more is malformed, rather than a reason to load blob after blob.
    static let maximumRecordLength = 1 << 20

    /// The next node, or nil at the end. Skips any chunk ids of the previous file not read.
    ///
    /// A record cut by the end of a blob goes on in the next one, which is loaded then; a record
    /// that is malformed (or would be longer than `maximumRecordLength`) fails where it is, before
    /// any further blob is read: memory stays one record and the blobs it spans, and a damaged
    /// blob is reported as such, not as whatever is wrong with the blobs after it.
    public func next() throws -> TreeNode? {
        if inChunkList { try skipChunks() }
        guard try ensure(1) else { return nil }
        while true {
            var byteReader = ByteReader(buffer, what: "snapshot tree", position: position)
            do {
                let node = try TreeNode.decode(from: &byteReader)
                position = byteReader.position
                inChunkList = node.kind == .file
                groupRemaining = 0
                return node
            } catch {
                guard let shortfall = byteReader.shortfall else { throw error }
                // The record runs from `position` past the end of the buffer, and then some.
                let unread = buffer.count - position
                guard shortfall <= Self.maximumRecordLength - unread else {
                    throw RepositoryError(.integrity, "snapshot tree is malformed: a node record would be longer than "
                                              + "\(Self.maximumRecordLength >> 20) MiB", cause: error)
                }
                guard try ensure(unread + shortfall) else { throw error }
            }
        }
    }

    /// Up to `limit` chunk ids of the current file; empty once its list has ended.
    public func nextChunks(limit: Int = 256) throws -> [ChunkID] {
        var out: [ChunkID] = []
        while inChunkList && out.count < limit {
            if groupRemaining == 0 {
                // Groups may be of any size, but not of more ids than an Int counts bytes for.
                let count = try varint()
                guard count <= UInt64(Int.max / 32) else {
                    throw RepositoryError(.integrity, "snapshot tree is malformed: a file's chunk list announces a group of \(count) ids")
                }
                groupRemaining = Int(count)
                if groupRemaining == 0 {
                    inChunkList = false
                    break
                }
            }
            let take = min(groupRemaining, limit - out.count)
            guard try ensure(take * 32) else {
                throw RepositoryError(.integrity, "snapshot tree ends inside a file's chunk list")
            }
            buffer.withUnsafeBytes { raw in
                for index in 0..<take {
                    let start = position + index * 32
                    out.append(ChunkID(Hash256(bytes: UnsafeRawBufferPointer(rebasing: raw[start..<(start + 32)]))))
                }
            }
            position += take * 32
            groupRemaining -= take
        }
        return out
    }

    /// A reader at this one's position that goes on with its own `reader` (a `BlobReader` is not
    /// for two threads at once): the rest of a file's chunk list can then be read on another
    /// thread while this reader moves on to the next node.
    public func fork(reader: BlobReader) -> TreeReader {
        let copy = TreeReader(reader: reader, tree: blobs)
        copy.nextBlob = nextBlob
        copy.buffer = Array(buffer[position...])
        copy.inChunkList = inChunkList
        copy.groupRemaining = groupRemaining
        return copy
    }

    /// Reads past the rest of the current file's chunk list.
    public func skipChunks() throws {
        while inChunkList { _ = try nextChunks(limit: 4096) }
    }
}

extension SnapshotDocument {
    /// The tree blob ids, validated.
    public func treeChunkIDs() throws -> [ChunkID] {
        try tree.map { hex in
            guard let id = ChunkID(hex: hex) else {
                throw RepositoryError(.integrity, "snapshot names a malformed tree blob id \(hex)")
            }
            return id
        }
    }
}
