import CairnCore

/// A repository operation failed: what happened, what to do, and the cause.
public struct RepositoryError: CairnFailure {
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
