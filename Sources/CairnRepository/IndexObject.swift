import CairnCatalog
import CairnCodec
import CairnCore

/// An `index/ID` object: the pack headers of a batch of packs, so the catalog can be rebuilt
/// without reading every pack. Plaintext: `"CIX1"` (format 1) or `"CIX2"` (format 2), pack count
/// (u32), then per pack: pack id (32), pack size (u64), entry count (u32), entries in the pack
/// header layout of the same format (50 or 54 bytes each).
enum IndexObject {
    static func encode(_ packs: [PackRecord], layout: PackLayout) -> [UInt8] {
        // Sized up front: a first backup's index objects hold ~37 k entries (2 MB), and growing
        // the buffer by doubling kept twice that alive beside the backup's own buffers.
        let entries = packs.reduce(0) { $0 + $1.entries.count }
        var writer = ByteWriter(capacity: 8 + packs.count * 44 + entries * layout.entrySize)
        writer.raw(layout.indexMagic)
        writer.u32(UInt32(packs.count))
        for pack in packs {
            writer.hash(pack.id.hash)
            writer.u64(UInt64(pack.size))
            writer.u32(UInt32(pack.entries.count))
            for entry in pack.entries { PackFormat.encodeEntry(entry, layout: layout, into: &writer) }
        }
        return writer.bytes
    }

    static func decode(_ plaintext: [UInt8], id: IndexID) throws -> [PackRecord] {
        var reader = ByteReader(plaintext, what: "index \(id.short)")
        guard let layout = PackLayout.index(magic: try reader.raw(4)) else {
            throw RepositoryError(.integrity, "index \(id) has an unknown format")
        }
        let packCount = Int(try reader.u32())
        var packs: [PackRecord] = []
        for _ in 0..<packCount {
            let pack = PackID(try reader.hash())
            let size = try reader.u64()
            guard size <= UInt64(Int64.max) else {
                throw RepositoryError(.integrity, "index \(id) gives pack \(pack.short) an impossible size \(size)")
            }
            let count = Int(try reader.u32())
            guard count * layout.entrySize <= reader.remaining else {
                throw RepositoryError(.integrity, "index \(id) is truncated")
            }
            var entries: [PackEntry] = []
            entries.reserveCapacity(count)
            for _ in 0..<count {
                let entry = try PackFormat.decodeEntry(from: &reader, layout: layout, what: "index \(id)")
                // Every blob lies inside its pack; an entry past the end (or so far that offset plus
                // length passes Int64, which readers add) names no blob of it.
                guard entry.offset <= Int64(size) - Int64(entry.storedLength) else {
                    throw RepositoryError(.integrity, "index \(id) places chunk \(entry.chunk.short) at \(entry.offset) + \(entry.storedLength) "
                                          + "bytes, past the end of pack \(pack.short) (\(size) bytes)")
                }
                entries.append(entry)
            }
            packs.append(PackRecord(id: pack, size: Int64(size), entries: entries))
        }
        guard reader.isAtEnd else { throw RepositoryError(.integrity, "index \(id) has trailing bytes") }
        return packs
    }
}
