import CairnCatalog
import CairnCodec
import CairnCore

/// The byte layout of a pack file (docs/FORMAT.md, "Packs"):
///
///     blob 0 | blob 1 | … | sealed header | header length (u32 LE)
///
/// Each blob is an envelope-sealed, possibly compressed chunk. The header plaintext is
/// `"CPK1"`, an entry count (u32 LE), and per blob: kind (u8), compression (u8), chunk id (32),
/// offset (u64 LE), stored length (u32 LE), raw length (u32 LE) — 50 bytes an entry.
enum PackFormat {
    static let headerMagic: [UInt8] = Array("CPK1".utf8)
    static let entrySize = 50
    static let trailerSize = 4

    static func encodeHeader(_ entries: [PackEntry]) -> [UInt8] {
        var writer = ByteWriter(capacity: 8 + entries.count * entrySize)
        writer.raw(headerMagic)
        writer.u32(UInt32(entries.count))
        for entry in entries { encodeEntry(entry, into: &writer) }
        return writer.bytes
    }

    static func encodeEntry(_ entry: PackEntry, into writer: inout ByteWriter) {
        writer.u8(entry.kind.rawValue)
        writer.u8(entry.compression)
        writer.hash(entry.chunk.hash)
        writer.u64(UInt64(entry.offset))
        writer.u32(UInt32(bitPattern: entry.storedLength))
        writer.u32(UInt32(bitPattern: entry.rawLength))
    }

    static func decodeEntry(from reader: inout ByteReader, what: String) throws -> PackEntry {
        guard let kind = BlobKind(rawValue: try reader.u8()) else {
            throw RepositoryError(.integrity, "\(what) names an unknown blob kind")
        }
        let compression = try reader.u8()
        let chunk = ChunkID(try reader.hash())
        let offset = Int64(try reader.u64())
        let stored = Int32(bitPattern: try reader.u32())
        let raw = Int32(bitPattern: try reader.u32())
        return PackEntry(chunk: chunk, kind: kind, compression: compression, offset: offset,
                         storedLength: stored, rawLength: raw)
    }

    static func decodeHeader(_ plaintext: [UInt8], pack: PackID) throws -> [PackEntry] {
        var reader = ByteReader(plaintext, what: "header of pack \(pack.short)")
        guard try reader.raw(4) == headerMagic else {
            throw RepositoryError(.integrity, "pack \(pack) has an unknown header format")
        }
        let count = Int(try reader.u32())
        guard count * entrySize == reader.remaining else {
            throw RepositoryError(.integrity, "pack \(pack) header lists \(count) blobs but holds \(reader.remaining) bytes of entries")
        }
        var entries: [PackEntry] = []
        entries.reserveCapacity(count)
        for _ in 0..<count {
            entries.append(try decodeEntry(from: &reader, what: "pack \(pack) header"))
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
