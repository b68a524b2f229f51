import CairnCore
import CSQLite
import Foundation

let SQLITE_TRANSIENT = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// One SQLite connection with cached prepared statements. Not thread-safe; `Catalog` serializes access.
final class SQLiteConnection {
    private var handle: OpaquePointer?
    private var statements: [String: OpaquePointer] = [:]
    let path: String

    /// Opens `path`, creating it unless `create` is false (then a missing file is an error).
    init(path: String, create: Bool = true) throws {
        self.path = path
        let flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX
        let result = sqlite3_open_v2(path, &handle, flags, nil)
        guard result == SQLITE_OK else {
            let error = SQLiteConnection.error(result, handle, "open \(path)")
            sqlite3_close(handle)
            throw error
        }
        sqlite3_busy_timeout(handle, 10_000)
    }

    deinit { close() }

    func close() {
        for statement in statements.values { sqlite3_finalize(statement) }
        statements.removeAll()
        if let handle { sqlite3_close(handle) }
        handle = nil
    }

    static func error(_ code: Int32, _ handle: OpaquePointer?, _ what: String) -> CatalogError {
        let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
        switch code & 0xff {
        case SQLITE_FULL:
            return CatalogError(.noSpace, "no space left for the catalog (\(what)): \(message)",
                                hint: "free space where the catalog lives (--cache-dir)")
        case SQLITE_CORRUPT, SQLITE_NOTADB:
            return CatalogError(.integrity, "the catalog is damaged (\(what)): \(message)")
        case SQLITE_IOERR where handle.map({ sqlite3_system_errno($0) }) == ENOSPC:
            return CatalogError(.noSpace, "no space left for the catalog (\(what))", hint: "free space where the catalog lives (--cache-dir)")
        default:
            return CatalogError(.failure, "catalog error (\(what)): \(message)")
        }
    }

    func execute(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        let result = sqlite3_exec(handle, sql, nil, nil, &message)
        if let message { sqlite3_free(message) }
        guard result == SQLITE_OK else { throw Self.error(result, handle, sql.prefix(60).description) }
    }

    /// Resets every cached statement, ending the read transaction a half-stepped query keeps open.
    /// Without this a connection holds an old WAL snapshot, and its next BEGIN IMMEDIATE fails with
    /// SQLITE_BUSY_SNAPSHOT at once (no busy timeout applies) after another process committed.
    func resetStatements() {
        for statement in statements.values { sqlite3_reset(statement) }
    }

    /// A cached prepared statement, reset and with bindings cleared.
    func statement(_ sql: String) throws -> Statement {
        if let cached = statements[sql] {
            sqlite3_reset(cached)
            sqlite3_clear_bindings(cached)
            return Statement(handle: cached, connection: self)
        }
        var prepared: OpaquePointer?
        let result = sqlite3_prepare_v2(handle, sql, -1, &prepared, nil)
        guard result == SQLITE_OK, let prepared else { throw Self.error(result, handle, "prepare \(sql.prefix(60))") }
        statements[sql] = prepared
        return Statement(handle: prepared, connection: self)
    }

    var changes: Int { Int(sqlite3_changes(handle)) }
    var rawHandle: OpaquePointer? { handle }
}

/// A prepared statement: bind, then step.
struct Statement {
    let handle: OpaquePointer
    let connection: SQLiteConnection

    @discardableResult
    func bind(_ index: Int32, _ value: Hash256) -> Statement {
        value.withBytes { _ = sqlite3_bind_blob(handle, index, $0.baseAddress, 32, SQLITE_TRANSIENT) }
        return self
    }

    @discardableResult
    func bind(_ index: Int32, _ value: Int64) -> Statement {
        sqlite3_bind_int64(handle, index, value)
        return self
    }

    @discardableResult
    func bind(_ index: Int32, _ value: Double) -> Statement {
        sqlite3_bind_double(handle, index, value)
        return self
    }

    @discardableResult
    func bind(_ index: Int32, _ value: String) -> Statement {
        sqlite3_bind_text(handle, index, value, -1, SQLITE_TRANSIENT)
        return self
    }

    @discardableResult
    func bind(_ index: Int32, bytes value: [UInt8]) -> Statement {
        value.withUnsafeBytes { _ = sqlite3_bind_blob(handle, index, $0.baseAddress, Int32($0.count), SQLITE_TRANSIENT) }
        return self
    }

    /// Resets the statement so it can be bound and stepped again (loops over many keys).
    @discardableResult
    func reset() -> Statement {
        sqlite3_reset(handle)
        return self
    }

    /// Steps once; true when a row is available.
    func step() throws -> Bool {
        let result = sqlite3_step(handle)
        switch result {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw SQLiteConnection.error(result, connection.rawHandle, "step")
        }
    }

    func run() throws { while try step() {} }

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }
    func double(_ column: Int32) -> Double { sqlite3_column_double(handle, column) }
    func text(_ column: Int32) -> String { sqlite3_column_text(handle, column).map { String(cString: $0) } ?? "" }
    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    func bytes(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count > 0, let pointer = sqlite3_column_blob(handle, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    func hash(_ column: Int32) throws -> Hash256 {
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count == 32, let pointer = sqlite3_column_blob(handle, column) else {
            throw CatalogError(.integrity, "the catalog holds a malformed id")
        }
        return Hash256(bytes: UnsafeRawBufferPointer(start: pointer, count: 32))
    }
}
