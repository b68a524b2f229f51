import CairnCore

/// A Redis operation failed: a server reply, a connection problem, or a malformed file.
public struct RedisError: CairnFailure {
    public var category: FailureCategory
    public var message: String
    public var hint: String?
    public var underlying: (any Error)?
    /// Nothing listens at the address (connection refused, or no such socket file): the server is
    /// not running there, as opposed to one that answers with an error or not at all.
    public var nothingListens = false
    /// The server refused the command itself (renamed, disabled, or not permitted by ACL), as
    /// opposed to failing while running it.
    public var commandRefused = false

    /// A Redis failure (exit code for Redis errors).
    public init(_ message: String, hint: String? = nil, cause: (any Error)? = nil) {
        self.init(.redis, message, hint: hint, cause: cause)
    }

    public init(_ category: FailureCategory, _ message: String, hint: String? = nil, cause: (any Error)? = nil) {
        self.category = category
        self.message = message
        self.hint = hint
        self.underlying = cause
    }

    /// A file that is not a valid RDB (truncated, corrupt, unknown version).
    static func invalidRDB(_ message: String) -> RedisError {
        RedisError(.integrity, message, hint: "the file is not a complete, valid RDB; it was not backed up as one")
    }
}
