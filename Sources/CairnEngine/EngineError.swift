import CairnCore

/// An engine use case failed: what happened, what to do, and the cause.
public struct EngineError: CairnFailure {
    public var category: FailureCategory
    public var message: String
    public var hint: String?
    public var underlying: (any Error)?

    public init(_ category: FailureCategory, _ message: String, hint: String? = nil, cause: (any Error)? = nil) {
        self.category = category
        self.message = message
        self.hint = hint
        self.underlying = cause
    }
}

extension EngineError {
    /// A snapshot that records no `rdb_file`: its directory held no RDB known to be the server's
    /// (no `dump.rdb`, not one RDB beside leftovers), so there is nothing to load as the dump.
    static func noServerRDB(snapshot short: String) -> EngineError {
        EngineError(.noMatch, "snapshot \(short) names no RDB of the server (no rdb_file): its directory held no dump.rdb and not exactly one other RDB",
                    hint: "restore its files with `cairn restore` and put the right one in place by hand; nothing was changed")
    }
}
