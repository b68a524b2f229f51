import CairnCore
import CSQLite
import Foundation
import Glibc

/// Every chunk's location (a `LocationTable`), read on a thread of its own through a connection
/// of its own while the command does other work first: a restore derives its key (~0.15 s of
/// scrypt) and takes the repository lock before it asks where any chunk is.
///
/// Without it the table came in the middle of the restore: the first lookups were SQLite searches
/// against a catalog still coming from the disk (30–90 ms per 1,024 chunks, while the decoders
/// waited for work), and once the restore had asked about an eighth of the catalog the table was
/// read with the catalog locked, stopping both files' resolvers for ~0.1 s.
///
/// The table is used only if it is still what the catalog holds when it is taken: nothing has been
/// committed to the database since it was read (by this process or another; SQLite's
/// `data_version` says so) and the path still names the file it read (a damaged catalog is moved
/// aside and rebuilt). Otherwise the catalog answers as it would have without it.
public final class LocationPreload: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let file: (device: UInt64, inode: UInt64)
    // Written by the reading thread before `done` is signalled; read after waiting on it.
    private var connection: SQLiteConnection?
    private var table: LocationTable?
    private var version: Int64 = 0

    private init(file: (device: UInt64, inode: UInt64)) {
        self.file = file
    }

    deinit { connection?.close() }

    /// Starts reading the catalog at `path`; nil when there is no catalog there yet.
    public static func start(path: String) -> LocationPreload? {
        guard let file = identity(path) else { return nil }
        let preload = LocationPreload(file: file)
        let thread = Thread { preload.read(path) }
        thread.name = "cairn-catalog-preload"
        thread.start()
        return preload
    }

    private func read(_ path: String) {
        defer { done.signal() }
        do {
            let connection = try SQLiteConnection(path: path, create: false)
            self.connection = connection
            try connection.execute("PRAGMA cache_size=-1024")
            try connection.execute("BEGIN")
            defer {
                connection.resetStatements()
                try? connection.execute("COMMIT")
            }
            let rows = try connection.statement("SELECT count(*) FROM chunks")
            _ = try rows.step()
            let listed = Int(rows.int64(0))
            guard listed <= Catalog.maximumTableRows else { return }
            let read = try Catalog.readLocationTable(connection, expecting: listed, limit: Catalog.maximumTableRows)
            version = try Self.dataVersion(connection)
            table = read
        } catch {
            // A catalog that cannot be read here (being created, migrated, or damaged) is the
            // catalog's to deal with; the lookups go to SQLite as they would have.
            table = nil
        }
    }

    /// The table, once read, if the catalog at `path` is still what it was read from; nil
    /// otherwise. Waits for the reading thread. Once only.
    func take(path: String) -> LocationTable? {
        done.wait()
        defer {
            connection?.close()
            connection = nil
            table = nil
        }
        guard let table, let connection, Self.identity(path).map({ $0 == file }) == true,
              let now = try? Self.dataVersion(connection), now == version else { return nil }
        return table
    }

    /// Returns once the reading thread is done (for tests).
    func waitUntilRead() {
        done.wait()
        done.signal()
    }

    /// Changes whenever another connection commits to the database (SQLite's `data_version`).
    private static func dataVersion(_ connection: SQLiteConnection) throws -> Int64 {
        let query = try connection.statement("PRAGMA data_version")
        defer { _ = query.reset() }
        guard try query.step() else { throw CatalogError(.failure, "PRAGMA data_version returned nothing") }
        return query.int64(0)
    }

    private static func identity(_ path: String) -> (device: UInt64, inode: UInt64)? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return (UInt64(info.st_dev), UInt64(info.st_ino))
    }
}
