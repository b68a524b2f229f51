import CairnCore

/// Every chunk's location, read from the catalog in one scan and searched in memory.
///
/// A restore of a 2 GB data directory asks where some 220 k chunks are. One SQLite search per
/// chunk (a B-tree descent and seven columns) was 13% of that restore's CPU time; one scan of the
/// chunks table (214 k rows, under 0.1 s) and a lookup per chunk in memory costs a fraction of it.
/// `Catalog.locations(of:)` decides when to build one (see there); nothing else needs to.
///
/// Chunk ids are keyed hashes, uniformly spread, so the table is bucketed by the top bits of the
/// first word: one bucket per row on average, found in one step.
/// 56 bytes a chunk. Immutable once built.
final class LocationTable: Sendable {
    /// Everything of a `ChunkLocation` but its pack, which is an index into `packs`.
    struct Row {
        var offset: UInt32
        var storedLength: Int32
        var rawLength: Int32
        var frameOffset: Int32
        var pack: UInt32
        var kind: UInt8
        var compression: UInt8
    }

    private let ids: [Hash256]
    private let rows: [Row]
    private let packs: [PackID]
    /// `ids[starts[b]..<starts[b + 1]]` are the ids whose first word's top `bits` bits are `b`.
    private let starts: [UInt32]
    private let bits: Int

    /// `ids` in ascending order, each with its row; `packs` are what the rows' `pack` indexes name.
    init(ids: [Hash256], rows: [Row], packs: [PackID]) {
        precondition(ids.count == rows.count && ids.count < Int(UInt32.max))
        self.ids = ids
        self.rows = rows
        self.packs = packs
        var bits = 0
        while bits < 24 && (1 << bits) < ids.count { bits += 1 }
        self.bits = bits
        var starts = [UInt32](repeating: 0, count: (1 << bits) + 1)
        var row = 0
        for bucket in 0..<(1 << bits) {
            starts[bucket] = UInt32(row)
            while row < ids.count && Self.bucket(of: ids[row], bits: bits) == bucket { row += 1 }
        }
        starts[1 << bits] = UInt32(row)
        self.starts = starts
    }

    var count: Int { ids.count }

    private static func bucket(of id: Hash256, bits: Int) -> Int {
        bits == 0 ? 0 : Int(truncatingIfNeeded: id.w0 >> UInt64(64 - bits))
    }

    /// Where `id` is; nil when the catalog did not list it when the table was read.
    func location(of id: ChunkID) -> ChunkLocation? {
        let key = id.hash
        let bucket = Self.bucket(of: key, bits: bits)
        // A binary search of the bucket: one or two ids for real chunk ids, and no worse than
        // searching the whole table for ids that are not spread (made by hand, in tests).
        var low = Int(starts[bucket]), high = Int(starts[bucket + 1])
        while low < high {
            let middle = (low + high) / 2
            let candidate = ids[middle]
            if candidate == key {
                let row = rows[middle]
                return ChunkLocation(pack: packs[Int(row.pack)], offset: Int64(row.offset), storedLength: row.storedLength,
                                     rawLength: row.rawLength, kind: BlobKind(rawValue: row.kind) ?? .data,
                                     compression: row.compression, frameOffset: row.frameOffset)
            }
            if candidate < key { low = middle + 1 } else { high = middle }
        }
        return nil
    }
}
