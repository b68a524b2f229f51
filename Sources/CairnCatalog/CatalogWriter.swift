import CairnCore
import Foundation

/// Writes inside one `Catalog.write { }` transaction; not valid outside it.
public final class CatalogWriter {
    let connection: SQLiteConnection

    init(connection: SQLiteConnection) { self.connection = connection }

    /// Records an index object and its packs. A chunk already located elsewhere keeps its first
    /// location. Idempotent for the same index id.
    public func insertIndex(_ id: IndexID, packs: [PackRecord]) throws {
        try connection.statement("INSERT OR IGNORE INTO indexes (id) VALUES (?)").bind(1, id.hash).run()
        let insertPack = "INSERT OR IGNORE INTO packs (id, size, index_id) VALUES (?, ?, ?)"
        let findPack = "SELECT rowid FROM packs WHERE id = ?"
        let insertChunk = """
            INSERT OR IGNORE INTO chunks (id, pack, offset, stored_length, raw_length, kind, compression, frame_offset)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """
        // Prepared once, not looked up by their text for every row: a first backup inserts a
        // row per chunk (263 k for 2 GB), and every parameter is bound again each time.
        let chunkRow = try connection.statement(insertChunk)
        var rowids: [Int64] = []
        // (pack, entry) positions, 8 bytes each instead of a copy of every entry.
        var rows: [(pack: Int32, entry: Int32)] = []
        rows.reserveCapacity(packs.reduce(0) { $0 + $1.entries.count })
        for (number, pack) in packs.enumerated() {
            try connection.statement(insertPack).bind(1, pack.id.hash).bind(2, pack.size).bind(3, id.hash).run()
            let find = try connection.statement(findPack).bind(1, pack.id.hash)
            guard try find.step() else { throw CatalogError(.failure, "pack \(pack.id) vanished during insert") }
            rowids.append(find.int64(0))
            for entry in pack.entries.indices { rows.append((Int32(number), Int32(entry))) }
        }
        // In id order, so consecutive inserts land on neighbouring pages of the table; a chunk
        // listed twice keeps its first location (the position in the list breaks the tie).
        rows.sort { left, right in
            let a = packs[Int(left.pack)].entries[Int(left.entry)].chunk.hash
            let b = packs[Int(right.pack)].entries[Int(right.entry)].chunk.hash
            return a != b ? a < b : (left.pack, left.entry) < (right.pack, right.entry)
        }
        for row in rows {
            let entry = packs[Int(row.pack)].entries[Int(row.entry)]
            try chunkRow.reset().bind(1, entry.chunk.hash).bind(2, rowids[Int(row.pack)]).bind(3, entry.offset)
                .bind(4, Int64(entry.storedLength)).bind(5, Int64(entry.rawLength))
                .bind(6, Int64(entry.kind.rawValue)).bind(7, Int64(entry.compression))
                .bind(8, Int64(entry.frameOffset)).run()
        }
    }

    public func insertSnapshot(_ row: SnapshotRow) throws {
        try connection.statement("INSERT OR REPLACE INTO snapshots (id, time, hostname, document) VALUES (?, ?, ?, ?)")
            .bind(1, row.id.hash).bind(2, row.time.timeIntervalSince1970).bind(3, row.hostname).bind(4, bytes: row.document).run()
    }

    public func deleteSnapshot(_ id: SnapshotID) throws {
        try connection.statement("DELETE FROM snapshots WHERE id = ?").bind(1, id.hash).run()
    }

    /// Removes an index and the packs it listed, with their chunks.
    public func deleteIndex(_ id: IndexID) throws {
        try connection.statement("DELETE FROM chunks WHERE pack IN (SELECT rowid FROM packs WHERE index_id = ?)").bind(1, id.hash).run()
        try connection.statement("DELETE FROM packs WHERE index_id = ?").bind(1, id.hash).run()
        try connection.statement("DELETE FROM indexes WHERE id = ?").bind(1, id.hash).run()
    }

    /// Removes a pack and its chunks.
    public func deletePack(_ id: PackID) throws {
        try connection.statement("DELETE FROM chunks WHERE pack IN (SELECT rowid FROM packs WHERE id = ?)").bind(1, id.hash).run()
        try connection.statement("DELETE FROM packs WHERE id = ?").bind(1, id.hash).run()
    }

    public func setMeta(_ key: String, _ value: String) throws {
        try connection.statement("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)").bind(1, key).bind(2, value).run()
    }

    /// Empties every table but the migrations (for rebuilds).
    public func deleteAll() throws {
        for table in ["chunks", "packs", "indexes", "snapshots", "meta", "marks"] {
            try connection.execute("DELETE FROM \(table)")
        }
    }

    // MARK: Marks (prune's set of used chunks, kept on disk so memory does not grow)

    public func clearMarks() throws {
        try connection.execute("DELETE FROM marks")
    }

    public func mark(_ chunks: [ChunkID]) throws {
        for chunk in chunks {
            try connection.statement("INSERT OR IGNORE INTO marks (id) VALUES (?)").bind(1, chunk.hash).run()
        }
    }
}

extension Catalog {
    /// Per pack: how many chunks are marked used, and the stored bytes of blobs that hold a used
    /// chunk and of blobs that hold none. (A blob holding a frame of chunks is used, and kept
    /// whole, while any of its chunks is.) The stored bytes are summed as in `statistics`, at
    /// most Int64.max, so a forged or damaged catalog gives sizes the caller can judge, not a
    /// failed query; nothing here says they are possible.
    public func packUsage() throws -> [PackUsage] {
        try locked {
            var usage: [PackUsage] = []
            let query = try connection.statement("""
                SELECT p.id, p.size, coalesce(sum(b.chunks), 0), coalesce(sum(b.used), 0),
                       CAST(total(CASE WHEN b.used > 0 THEN b.stored ELSE 0 END) AS INTEGER),
                       CAST(total(CASE WHEN b.used = 0 THEN b.stored ELSE 0 END) AS INTEGER)
                FROM packs p LEFT JOIN (
                    SELECT c.pack AS pack, max(c.stored_length) AS stored, count(c.id) AS chunks,
                           sum(CASE WHEN m.id IS NOT NULL THEN 1 ELSE 0 END) AS used
                    FROM chunks c LEFT JOIN marks m ON m.id = c.id GROUP BY c.pack, c.offset
                ) b ON b.pack = p.rowid
                GROUP BY p.rowid
                """)
            while try query.step() {
                usage.append(PackUsage(pack: PackID(try query.hash(0)), size: query.int64(1), blobs: Int(query.int64(2)),
                                       usedBlobs: Int(query.int64(3)), usedStoredBytes: query.int64(4),
                                       unusedStoredBytes: query.int64(5)))
            }
            return usage
        }
    }

    /// The marked (used) entries of a pack, ordered by offset.
    public func markedEntries(inPack pack: PackID) throws -> [PackEntry] {
        try locked {
            var entries: [PackEntry] = []
            let query = try connection.statement("""
                SELECT c.id, c.kind, c.compression, c.offset, c.stored_length, c.raw_length, c.frame_offset
                FROM chunks c JOIN packs p ON p.rowid = c.pack JOIN marks m ON m.id = c.id
                WHERE p.id = ? ORDER BY c.offset, c.frame_offset
                """).bind(1, pack.hash)
            while try query.step() { entries.append(try entry(query)) }
            return entries
        }
    }

    /// Index objects that list any of `packs`.
    public func indexes(listing packs: [PackID]) throws -> Set<IndexID> {
        try locked {
            var ids = Set<IndexID>()
            for pack in packs {
                let query = try connection.statement("SELECT index_id FROM packs WHERE id = ?").bind(1, pack.hash)
                if try query.step() { ids.insert(IndexID(try query.hash(0))) }
            }
            return ids
        }
    }

    /// The packs an index object lists, with every entry located in them.
    public func packs(inIndex index: IndexID) throws -> [PackID] {
        try locked {
            var ids: [PackID] = []
            let query = try connection.statement("SELECT id FROM packs WHERE index_id = ?").bind(1, index.hash)
            while try query.step() { ids.append(PackID(try query.hash(0))) }
            return ids
        }
    }
}

extension Catalog {
    /// How many marked chunks the catalog cannot locate (a snapshot needs data that is gone).
    public func markedButMissingCount() throws -> Int {
        try locked {
            let query = try connection.statement("SELECT count(*) FROM marks m LEFT JOIN chunks c ON c.id = m.id WHERE c.id IS NULL")
            _ = try query.step()
            return Int(query.int64(0))
        }
    }
}
