import CairnCatalog
import CairnCodec
import CairnCore

/// How pack headers and index objects lay out their entries: fixed by the repository's format
/// version (docs/FORMAT.md, "Packs").
public enum PackLayout: Sendable {
    /// Format 1: `"CPK1"`/`"CIX1"`, 50-byte entries, one chunk per blob.
    case v1
    /// Format 2: `"CPK2"`/`"CIX2"`, 54-byte entries ending with the chunk's offset in its blob's
    /// plaintext, so one blob may hold a frame of several chunks.
    case v2

    /// The layout a repository of format `version` writes.
    public init(formatVersion version: Int) { self = version >= 2 ? .v2 : .v1 }

    var entrySize: Int { self == .v1 ? 50 : 54 }
    var packMagic: [UInt8] { Array((self == .v1 ? "CPK1" : "CPK2").utf8) }
    var indexMagic: [UInt8] { Array((self == .v1 ? "CIX1" : "CIX2").utf8) }
    /// Whether a blob may hold several chunks.
    public var framesChunks: Bool { self == .v2 }

    static func pack(magic: [UInt8]) -> PackLayout? {
        [PackLayout.v1, .v2].first { $0.packMagic == magic }
    }

    static func index(magic: [UInt8]) -> PackLayout? {
        [PackLayout.v1, .v2].first { $0.indexMagic == magic }
    }
}

/// The byte layout of a pack file (docs/FORMAT.md, "Packs"):
///
///     blob 0 | blob 1 | … | sealed header | header length (u32 LE)
///
/// Each blob is an envelope-sealed, possibly compressed frame of one chunk or (format 2) several.
/// The header plaintext is the layout's magic, an entry count (u32 LE), and per chunk: kind (u8),
/// compression (u8), chunk id (32), blob offset (u64 LE), blob stored length (u32 LE), raw
/// length (u32 LE) and, in format 2, the chunk's offset in the blob's plaintext (u32 LE).
enum PackFormat {
    static let trailerSize = 4

    static func encodeHeader(_ entries: [PackEntry], layout: PackLayout) -> [UInt8] {
        var writer = ByteWriter(capacity: 8 + entries.count * layout.entrySize)
        writer.raw(layout.packMagic)
        writer.u32(UInt32(entries.count))
        for entry in entries { encodeEntry(entry, layout: layout, into: &writer) }
        return writer.bytes
    }

    static func encodeEntry(_ entry: PackEntry, layout: PackLayout, into writer: inout ByteWriter) {
        precondition(layout.framesChunks || entry.frameOffset == 0, "format 1 holds one chunk per blob")
        writer.u8(entry.kind.rawValue)
        writer.u8(entry.compression)
        writer.hash(entry.chunk.hash)
        writer.u64(UInt64(entry.offset))
        writer.u32(UInt32(bitPattern: entry.storedLength))
        writer.u32(UInt32(bitPattern: entry.rawLength))
        if layout.framesChunks { writer.u32(UInt32(bitPattern: entry.frameOffset)) }
    }

    static func decodeEntry(from reader: inout ByteReader, layout: PackLayout, what: String) throws -> PackEntry {
        guard let kind = BlobKind(rawValue: try reader.u8()) else {
            throw RepositoryError(.integrity, "\(what) names an unknown blob kind")
        }
        let compression = try reader.u8()
        let chunk = ChunkID(try reader.hash())
        let offset = try reader.u64()
        let stored = Int32(bitPattern: try reader.u32())
        let raw = Int32(bitPattern: try reader.u32())
        let frameOffset = layout.framesChunks ? Int32(bitPattern: try reader.u32()) : 0
        // Written from Int64 and Int32 values that are never negative: a top bit set is damage,
        // and a negative length would trap where readers slice the blob.
        guard offset <= UInt64(Int64.max), stored >= 0, raw >= 0, frameOffset >= 0 else {
            throw RepositoryError(.integrity, "\(what) names chunk \(chunk.short) with an impossible length or place in its blob "
                                  + "(offset \(offset), stored \(stored), raw \(raw), frame offset \(frameOffset))")
        }
        // Readers allocate the raw length before they decode: an uncompressed chunk lies inside its
        // stored blob, a compressed one inside a frame they accept (`BlobReader.maximumFrameBytes`).
        let end = Int(frameOffset) + Int(raw)
        let limit = compression == CompressionAlgorithm.none.rawValue ? Int(stored) : BlobReader.maximumFrameBytes
        guard end <= limit else {
            throw RepositoryError(.integrity, "\(what) names chunk \(chunk.short) with \(raw) bytes at \(frameOffset) "
                                  + "in a blob that holds at most \(limit)")
        }
        return PackEntry(chunk: chunk, kind: kind, compression: compression, offset: Int64(offset),
                         storedLength: stored, rawLength: raw, frameOffset: frameOffset)
    }

    static func decodeHeader(_ plaintext: [UInt8], pack: PackID) throws -> [PackEntry] {
        var reader = ByteReader(plaintext, what: "header of pack \(pack.short)")
        guard let layout = PackLayout.pack(magic: try reader.raw(4)) else {
            throw RepositoryError(.integrity, "pack \(pack) has an unknown header format")
        }
        let count = Int(try reader.u32())
        guard count * layout.entrySize == reader.remaining else {
            throw RepositoryError(.integrity, "pack \(pack) header lists \(count) chunks but holds \(reader.remaining) bytes of entries")
        }
        var entries: [PackEntry] = []
        entries.reserveCapacity(count)
        for _ in 0..<count {
            entries.append(try decodeEntry(from: &reader, layout: layout, what: "pack \(pack) header"))
        }
        return entries
    }
}

/// Reads a pack's self-describing header straight from the store (two ranged reads).
public struct PackHeaderReader {
    let store: any ObjectStoreReading
    let envelope: Envelope

    public func entries(of pack: PackID, size: Int64) throws -> [PackEntry] {
        guard size >= Int64(PackFormat.trailerSize) else {
            throw RepositoryError(.integrity, "pack \(pack) is too short (\(size) bytes) to hold a header")
        }
        let trailer = try store.readRange(ofPack: pack, offset: size - Int64(PackFormat.trailerSize), length: PackFormat.trailerSize)
        var reader = ByteReader(trailer, what: "trailer of pack \(pack.short)")
        let headerLength = Int64(try reader.u32())
        guard headerLength > 0, headerLength <= size - Int64(PackFormat.trailerSize) else {
            throw RepositoryError(.integrity, "pack \(pack) has an impossible header length \(headerLength)")
        }
        let sealed = try store.readRange(ofPack: pack, offset: size - Int64(PackFormat.trailerSize) - headerLength, length: Int(headerLength))
        let plaintext: [UInt8]
        do {
            plaintext = try envelope.open(sealed)
        } catch {
            throw RepositoryError(.integrity, "the header of pack \(pack) failed authentication", cause: error)
        }
        return try PackFormat.decodeHeader(plaintext, pack: pack)
    }
}

/// The narrow read access pack readers need.
public protocol ObjectStoreReading {
    func readRange(ofPack pack: PackID, offset: Int64, length: Int) throws -> [UInt8]
}
