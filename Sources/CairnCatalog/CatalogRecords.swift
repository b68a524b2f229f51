import CairnCore
import Foundation

/// Where a chunk is stored: the blob (`offset`, `storedLength`) that holds it, and where its
/// `rawLength` bytes start in that blob's plaintext (`frameOffset`; a blob may hold a frame of
/// several chunks that were new and adjacent when they were stored).
public struct ChunkLocation: Sendable, Equatable {
    public var pack: PackID
    public var offset: Int64
    public var storedLength: Int32
    public var rawLength: Int32
    public var kind: BlobKind
    public var compression: UInt8
    public var frameOffset: Int32

    public init(pack: PackID, offset: Int64, storedLength: Int32, rawLength: Int32, kind: BlobKind, compression: UInt8,
                frameOffset: Int32 = 0) {
        self.pack = pack; self.offset = offset; self.storedLength = storedLength; self.rawLength = rawLength
        self.kind = kind; self.compression = compression; self.frameOffset = frameOffset
    }

    /// Whether `other` is stored in the same blob.
    public func sharesBlob(with other: ChunkLocation) -> Bool {
        offset == other.offset && pack == other.pack
    }
}

/// One chunk of a pack, as its header and index objects list it. Chunks of one frame share a
/// blob: the same `offset` and `storedLength`, each with its own `frameOffset`.
public struct PackEntry: Sendable, Equatable {
    public var chunk: ChunkID
    public var kind: BlobKind
    public var compression: UInt8
    public var offset: Int64
    public var storedLength: Int32
    public var rawLength: Int32
    public var frameOffset: Int32

    public init(chunk: ChunkID, kind: BlobKind, compression: UInt8, offset: Int64, storedLength: Int32, rawLength: Int32,
                frameOffset: Int32 = 0) {
        self.chunk = chunk; self.kind = kind; self.compression = compression; self.offset = offset
        self.storedLength = storedLength; self.rawLength = rawLength; self.frameOffset = frameOffset
    }

    /// The entry as a location in `pack`.
    public func location(in pack: PackID) -> ChunkLocation {
        ChunkLocation(pack: pack, offset: offset, storedLength: storedLength, rawLength: rawLength, kind: kind,
                      compression: compression, frameOffset: frameOffset)
    }
}

/// A pack and its blobs.
public struct PackRecord: Sendable, Equatable {
    public var id: PackID
    public var size: Int64
    public var entries: [PackEntry]

    public init(id: PackID, size: Int64, entries: [PackEntry]) {
        self.id = id; self.size = size; self.entries = entries
    }
}

/// A snapshot row: the decrypted snapshot object kept whole.
public struct SnapshotRow: Sendable, Equatable {
    public var id: SnapshotID
    public var time: Date
    public var hostname: String
    public var document: [UInt8]

    public init(id: SnapshotID, time: Date, hostname: String, document: [UInt8]) {
        self.id = id; self.time = time; self.hostname = hostname; self.document = document
    }
}

public struct CatalogStatistics: Sendable, Equatable {
    public var packCount: Int
    public var packBytes: Int64
    public var chunkCount: Int
    public var storedChunkBytes: Int64
    public var rawChunkBytes: Int64
    public var snapshotCount: Int
}

/// How much of a pack the marked (used) chunks occupy; for prune.
public struct PackUsage: Sendable, Equatable {
    public var pack: PackID
    public var size: Int64
    /// Chunks the pack holds, and how many of them are marked.
    public var blobs: Int
    public var usedBlobs: Int
    public var usedStoredBytes: Int64
    public var unusedStoredBytes: Int64
}
