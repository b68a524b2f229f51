import CairnCore
import CSQLite
import Foundation

/// The SQLite catalog: a rebuildable cache of the repository's index and snapshot objects.
/// One row per chunk (its single location), per pack, per index object and per snapshot.
/// Lookups are point queries on prepared statements; nothing is loaded whole. Every call is
/// serialized by an internal lock.
public final class Catalog: @unchecked Sendable {
    let connection: SQLiteConnection
    let lock = NSLock()
    /// Where the catalog is (":memory:" for one in memory).
    let path: String

    /// Opens or creates the catalog at `path` (parent folders 0700, file 0600) and migrates it.
    public init(path: String) throws {
        let parent = (path as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true,
                                                 attributes: [.posixPermissions: 0o700])
        let existed = FileManager.default.fileExists(atPath: path)
        if existed { Self.readAhead(path) }
        self.path = path
        connection = try SQLiteConnection(path: path)
        if !existed { chmod(path, 0o600) }
        try configure()
    }

    /// Lookups touch pages all over the file, one small random read each from a cold disk (a
    /// restore days after the backup: night 7 of docs/BENCHMARKS.md took 4.0–4.7 s with the
    /// catalog dropped from the page cache, 3.1–3.3 s with it cached). Asking the kernel for the
    /// whole file up front (the first `readAheadLimit` bytes) turns those into one sequential read
    /// in the background. Opening a catalog does it; a caller with other work to do first (the
    /// key derivation) can start it earlier.
    public static func readAhead(_ path: String) {
        for file in [path, path + "-wal"] {
            let fd = open(file, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { continue }
            _ = posix_fadvise(fd, 0, off_t(readAheadLimit), POSIX_FADV_WILLNEED)
            Glibc.close(fd)
        }
    }

    static let readAheadLimit = 512 << 20

    private init(connection: SQLiteConnection) throws {
        self.connection = connection
        path = connection.path
        try configure()
    }

    public static func inMemory() throws -> Catalog {
        try Catalog(connection: SQLiteConnection(path: ":memory:"))
    }

    /// SQLite's page cache: 32 MiB (negative: in KiB).
    static let pageCacheSize = -32768

    private func configure() throws {
        try connection.execute("PRAGMA journal_mode=WAL")
        try connection.execute("PRAGMA synchronous=NORMAL")
        try connection.execute("PRAGMA foreign_keys=ON")
        try connection.execute("PRAGMA cache_size=\(Self.pageCacheSize)")
        try migrate()
    }

    private func migrate() throws {
        try connection.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied REAL NOT NULL)")
        var applied = Set<String>()
        let query = try connection.statement("SELECT name FROM migrations")
        while try query.step() { applied.insert(query.text(0)) }
        let known = Set(Migrations.all.map(\.name))
        if let unknown = applied.subtracting(known).sorted().first {
            throw CatalogError(.failure, "the catalog was written by a newer cairn (migration \(unknown))",
                               hint: "upgrade cairn, or delete the catalog to rebuild it")
        }
        for migration in Migrations.all where !applied.contains(migration.name) {
            try connection.execute("BEGIN IMMEDIATE")
            do {
                try connection.execute(migration.sql)
                try connection.statement("INSERT INTO migrations (name, applied) VALUES (?, ?)")
                    .bind(1, migration.name).bind(2, Date().timeIntervalSince1970).run()
                try connection.execute("COMMIT")
            } catch {
                try? connection.execute("ROLLBACK")
                throw error
            }
        }
    }

    public func close() {
        lock.lock(); defer { lock.unlock() }
        connection.close()
    }

    func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer {
            connection.resetStatements()
            lock.unlock()
        }
        return try body()
    }

    /// Runs `body` in one transaction (BEGIN IMMEDIATE … COMMIT; ROLLBACK when it throws).
    public func write<T>(_ body: (CatalogWriter) throws -> T) throws -> T {
        try locked {
            // Whatever the body changes, locations read into memory before it may be stale.
            dropLocationTable()
            try connection.execute("BEGIN IMMEDIATE")
            do {
                let result = try body(CatalogWriter(connection: connection))
                try connection.execute("COMMIT")
                return result
            } catch {
                try? connection.execute("ROLLBACK")
                throw error
            }
        }
    }

    // MARK: Reads

    /// Runs `body` under the lock in one read transaction, so a batch of lookups takes SQLite's
    /// WAL read lock once instead of once per statement (each costs fcntl calls and a check of
    /// the WAL index; per 2 KiB chunk that was a visible share of a restore).
    func lockedRead<T>(_ body: () throws -> T) throws -> T {
        try locked {
            try connection.execute("BEGIN")
            do {
                let result = try body()
                try connection.execute("COMMIT")
                return result
            } catch {
                try? connection.execute("ROLLBACK")
                throw error
            }
        }
    }

    public func location(of chunk: ChunkID) throws -> ChunkLocation? {
        try locked {
            let query = try connection.statement("""
                SELECT p.id, c.offset, c.stored_length, c.raw_length, c.kind, c.compression, c.frame_offset
                FROM chunks c JOIN packs p ON p.rowid = c.pack WHERE c.id = ?
                """).bind(1, chunk.hash)
            guard try query.step() else { return nil }
            return ChunkLocation(pack: PackID(try query.hash(0)), offset: query.int64(1), storedLength: Int32(clamping: query.int64(2)),
                                 rawLength: Int32(clamping: query.int64(3)), kind: BlobKind(rawValue: UInt8(truncatingIfNeeded: query.int64(4))) ?? .data,
                                 compression: UInt8(truncatingIfNeeded: query.int64(5)), frameOffset: Int32(clamping: query.int64(6)))
        }
    }

    /// Locations of many chunks in one pass; nil for a chunk the catalog does not list.
    ///
    /// The restore and check paths look up every chunk of a file, and per-call overhead dominates
    /// small chunks. Once this catalog has been asked about at least an eighth as many chunks as
    /// it lists (and it lists at most `maximumTableRows`), every location is read into memory in
    /// one scan (a `LocationTable`) and later batches are answered from there. Any write drops the
    /// table (a batch already being answered finishes with it); chunks another process added
    /// since are still found, in SQLite.
    public func locations(of chunks: [ChunkID]) throws -> [ChunkLocation?] {
        guard let table = try locationTable(asking: chunks.count) else {
            return try lockedRead { try searchLocations(of: chunks) }
        }
        var found = chunks.map { table.location(of: $0) }
        let missing = found.indices.filter { found[$0] == nil }
        if !missing.isEmpty {
            let searched = try lockedRead { try searchLocations(of: missing.map { chunks[$0] }) }
            for (item, location) in zip(missing, searched) { found[item] = location }
        }
        return found
    }

    /// At most this many locations are read into memory: 56 MiB at 56 bytes each. A restore of
    /// more distinct chunks than this searches SQLite for each, as before.
    static let maximumTableRows = 1 << 20
    /// Lookups before the first decision whether to read the table (a small restore never does).
    static let firstTableDecision = 16 << 10

    private var table: LocationTable?
    /// Locations being read on another thread since before this catalog was opened (`adopt`).
    private var preload: LocationPreload?
    private var lookups = 0
    private var nextTableDecision = Catalog.firstTableDecision

    /// How many locations are held in memory (nil: none); for tests.
    public var locationsInMemory: Int? {
        lock.lock()
        defer { lock.unlock() }
        return table?.count
    }

    /// Answers location lookups from the table `preload` reads, from the first lookup on, if it
    /// is still what the catalog holds by then (see `LocationPreload.take`); otherwise as usual.
    public func adopt(_ preload: LocationPreload?) {
        lock.lock(); defer { lock.unlock() }
        if table == nil { self.preload = preload }
    }

    private func dropLocationTable() {
        table = nil
        preload = nil
        lookups = 0
        nextTableDecision = Self.firstTableDecision
    }

    /// The table to answer `count` more lookups from, read now if it has become worth it.
    private func locationTable(asking count: Int) throws -> LocationTable? {
        try locked {
            if let table { return table }
            if let preload {
                self.preload = nil
                if let read = preload.take(path: path) {
                    table = read
                    return read
                }
            }
            lookups += count
            guard lookups >= nextTableDecision else { return nil }
            nextTableDecision = lookups * 2
            // Counting and reading every row would also fill SQLite's page cache with pages this
            // process never needs again (about 10 MB more peak memory for a 2 GB restore): the
            // scan goes through a page cache of 1 MiB.
            try connection.execute("PRAGMA cache_size=-1024")
            defer { try? connection.execute("PRAGMA cache_size=\(Self.pageCacheSize)") }
            try connection.execute("BEGIN")
            do {
                let rows = try connection.statement("SELECT count(*) FROM chunks")
                _ = try rows.step()
                let listed = Int(rows.int64(0))
                if listed > Self.maximumTableRows {
                    // Only a write can change that (for this process): ask again after one.
                    nextTableDecision = .max
                } else if lookups * 8 >= listed {
                    table = try Self.readLocationTable(connection, expecting: listed, limit: Self.maximumTableRows)
                    if table == nil { nextTableDecision = .max }
                }
                try connection.execute("COMMIT")
            } catch {
                try? connection.execute("ROLLBACK")
                throw error
            }
            return table
        }
    }

    /// Every location the catalog lists, in one scan of the chunks table (in id order: its key).
    /// nil when there are more than `limit`, or a chunk lies beyond 4 GiB in its pack (no pack
    /// is written that large). Called in a read transaction.
    static func readLocationTable(_ connection: SQLiteConnection, expecting count: Int, limit: Int) throws -> LocationTable? {
        var packIndex: [Int64: UInt32] = [:]
        var packs: [PackID] = []
        let packQuery = try connection.statement("SELECT rowid, id FROM packs")
        while try packQuery.step() {
            packIndex[packQuery.int64(0)] = UInt32(packs.count)
            packs.append(PackID(try packQuery.hash(1)))
        }
        let scan = try connection.statement("""
            SELECT id, pack, offset, stored_length, raw_length, kind, compression, frame_offset FROM chunks
            """)
        var ids: [Hash256] = [], rows: [LocationTable.Row] = []
        ids.reserveCapacity(count)
        rows.reserveCapacity(count)
        var ordered = true
        while try scan.step() {
            // A chunk of a pack the catalog does not list is not located (as `searchLocations` says).
            guard let pack = packIndex[scan.int64(1)] else { continue }
            guard let offset = UInt32(exactly: scan.int64(2)) else { return nil }
            let id = try scan.hash(0)
            if let last = ids.last, !(last < id) { ordered = false }
            ids.append(id)
            rows.append(LocationTable.Row(offset: offset, storedLength: Int32(clamping: scan.int64(3)), rawLength: Int32(clamping: scan.int64(4)),
                                          frameOffset: Int32(clamping: scan.int64(7)), pack: pack, kind: UInt8(truncatingIfNeeded: scan.int64(5)),
                                          compression: UInt8(truncatingIfNeeded: scan.int64(6))))
            if ids.count > limit { return nil }
        }
        if !ordered {
            let order = ids.indices.sorted { ids[$0] < ids[$1] }
            ids = order.map { ids[$0] }
            rows = order.map { rows[$0] }
        }
        return LocationTable(ids: ids, rows: rows, packs: packs)
    }

    /// One SQLite search per chunk, in a read transaction the caller holds.
    private func searchLocations(of chunks: [ChunkID]) throws -> [ChunkLocation?] {
        let query = try connection.statement("""
            SELECT c.pack, c.offset, c.stored_length, c.raw_length, c.kind, c.compression, c.frame_offset
            FROM chunks c WHERE c.id = ?
            """)
        // A batch names a few packs many times: each pack's id is looked up once (not joined
        // for every chunk), within this read transaction, so a pack row deleted and its rowid
        // reused by another process cannot be confused with the old one.
        let packQuery = try connection.statement("SELECT id FROM packs WHERE rowid = ?")
        var packs: [Int64: PackID] = [:]
        var last: (row: Int64, pack: PackID)?
        return try chunks.map { chunk in
            query.reset().bind(1, chunk.hash)
            guard try query.step() else { return nil }
            let row = query.int64(0)
            let pack: PackID
            if let last, last.row == row {
                pack = last.pack
            } else if let known = packs[row] {
                pack = known
            } else {
                // No such pack (the join used to drop the row): the chunk is reported missing.
                guard try packQuery.reset().bind(1, row).step() else { return nil }
                pack = PackID(try packQuery.hash(0))
                packs[row] = pack
            }
            last = (row, pack)
            return ChunkLocation(pack: pack, offset: query.int64(1), storedLength: Int32(clamping: query.int64(2)),
                                 rawLength: Int32(clamping: query.int64(3)), kind: BlobKind(rawValue: UInt8(truncatingIfNeeded: query.int64(4))) ?? .data,
                                 compression: UInt8(truncatingIfNeeded: query.int64(5)), frameOffset: Int32(clamping: query.int64(6)))
        }
    }

    /// For each chunk, whether the catalog knows it (one lock, one prepared statement).
    public func contains(_ chunks: [ChunkID]) throws -> [Bool] {
        try lockedRead {
            let query = try connection.statement("SELECT 1 FROM chunks WHERE id = ?")
            return try chunks.map { chunk in try query.reset().bind(1, chunk.hash).step() }
        }
    }

    /// Whether any chunk is recorded: a repository's first backup finds none.
    public func knowsAnyChunk() throws -> Bool {
        try locked { try connection.statement("SELECT 1 FROM chunks LIMIT 1").step() }
    }

    public func contains(_ chunk: ChunkID) throws -> Bool {
        try locked {
            try connection.statement("SELECT 1 FROM chunks WHERE id = ?").bind(1, chunk.hash).step()
        }
    }

    public func indexIDs() throws -> Set<IndexID> {
        try locked {
            var ids = Set<IndexID>()
            let query = try connection.statement("SELECT id FROM indexes")
            while try query.step() { ids.insert(IndexID(try query.hash(0))) }
            return ids
        }
    }

    /// Every snapshot, ordered by time, then id.
    public func snapshots() throws -> [SnapshotRow] {
        try locked {
            var rows: [SnapshotRow] = []
            let query = try connection.statement("SELECT id, time, hostname, document FROM snapshots ORDER BY time, id")
            while try query.step() { rows.append(try snapshotRow(query)) }
            return rows
        }
    }

    public func snapshot(_ id: SnapshotID) throws -> SnapshotRow? {
        try locked {
            let query = try connection.statement("SELECT id, time, hostname, document FROM snapshots WHERE id = ?").bind(1, id.hash)
            return try query.step() ? try snapshotRow(query) : nil
        }
    }

    private func snapshotRow(_ query: Statement) throws -> SnapshotRow {
        SnapshotRow(id: SnapshotID(try query.hash(0)), time: Date(timeIntervalSince1970: query.double(1)),
                    hostname: query.text(2), document: query.bytes(3))
    }

    public func snapshotIDs(withPrefix hexPrefix: String) throws -> [SnapshotID] {
        try snapshots().map(\.id).filter { $0.hex.hasPrefix(hexPrefix.lowercased()) }
    }

    public func packIDs() throws -> [PackID] {
        try locked {
            var ids: [PackID] = []
            let query = try connection.statement("SELECT id FROM packs")
            while try query.step() { ids.append(PackID(try query.hash(0))) }
            return ids
        }
    }

    public func packSize(_ pack: PackID) throws -> Int64? {
        try locked {
            let query = try connection.statement("SELECT size FROM packs WHERE id = ?").bind(1, pack.hash)
            return try query.step() ? query.int64(0) : nil
        }
    }

    /// The pack's chunks whose location is this pack, ordered by offset.
    public func entries(inPack pack: PackID) throws -> [PackEntry] {
        try locked {
            var entries: [PackEntry] = []
            let query = try connection.statement("""
                SELECT c.id, c.kind, c.compression, c.offset, c.stored_length, c.raw_length, c.frame_offset
                FROM chunks c JOIN packs p ON p.rowid = c.pack WHERE p.id = ? ORDER BY c.offset, c.frame_offset
                """).bind(1, pack.hash)
            while try query.step() { entries.append(try entry(query)) }
            return entries
        }
    }

    func entry(_ query: Statement) throws -> PackEntry {
        PackEntry(chunk: ChunkID(try query.hash(0)), kind: BlobKind(rawValue: UInt8(truncatingIfNeeded: query.int64(1))) ?? .data,
                  compression: UInt8(truncatingIfNeeded: query.int64(2)), offset: query.int64(3), storedLength: Int32(clamping: query.int64(4)),
                  rawLength: Int32(clamping: query.int64(5)), frameOffset: Int32(clamping: query.int64(6)))
    }

    /// Sums of sizes are taken with `CAST(total(x) AS INTEGER)`, not `sum(x)`: the catalog is a
    /// cache anyone with the repository can damage or forge, and SQLite's `sum` fails the whole
    /// query with "integer overflow" where the sizes add up past Int64, while `total` adds in
    /// floating point (exact below 2^53, 8 PiB) and the cast makes a larger sum Int64.max.
    public func statistics() throws -> CatalogStatistics {
        try locked {
            // Each size counts at least 0: a forged or damaged row cannot make a total negative.
            let packs = try connection.statement("SELECT count(*), CAST(total(max(size, 0)) AS INTEGER) FROM packs")
            _ = try packs.step()
            let packCount = Int(packs.int64(0)), packBytes = packs.int64(1)
            let chunks = try connection.statement("SELECT count(*), CAST(total(max(raw_length, 0)) AS INTEGER) FROM chunks")
            _ = try chunks.step()
            let chunkCount = Int(chunks.int64(0)), raw = chunks.int64(1)
            // A blob holding a frame of several chunks counts once.
            let blobs = try connection.statement("""
                SELECT CAST(total(max(stored, 0)) AS INTEGER) FROM (SELECT max(stored_length) AS stored FROM chunks GROUP BY pack, offset)
                """)
            _ = try blobs.step()
            let stored = blobs.int64(0)
            let snapshots = try connection.statement("SELECT count(*) FROM snapshots")
            _ = try snapshots.step()
            return CatalogStatistics(packCount: packCount, packBytes: packBytes, chunkCount: chunkCount,
                                     storedChunkBytes: stored, rawChunkBytes: raw, snapshotCount: Int(snapshots.int64(0)))
        }
    }

    /// The pack bytes and the snapshot count: what a monitor graphs after every run. Two small
    /// tables, where `statistics` scans every chunk (0.4 s for a 7-night medium catalog). The
    /// bytes are summed as in `statistics`, each at least 0, at most Int64.max.
    public func totals() throws -> (packBytes: Int64, snapshotCount: Int) {
        try locked {
            let packs = try connection.statement("SELECT CAST(total(max(size, 0)) AS INTEGER) FROM packs")
            _ = try packs.step()
            let snapshots = try connection.statement("SELECT count(*) FROM snapshots")
            _ = try snapshots.step()
            return (packs.int64(0), Int(snapshots.int64(0)))
        }
    }

    public func value(forMeta key: String) throws -> String? {
        try locked {
            let query = try connection.statement("SELECT value FROM meta WHERE key = ?").bind(1, key)
            return try query.step() ? query.text(0) : nil
        }
    }
}
