import CairnCore

/// A policy input was malformed (`.usage`) or selected nothing (`.noMatch`).
public struct PolicyError: CairnFailure {
    public var category: FailureCategory
    public var message: String
    public var hint: String?
    public var underlying: (any Error)?

    public init(_ category: FailureCategory, _ message: String, hint: String? = nil) {
        self.category = category
        self.message = message
        self.hint = hint
        self.underlying = nil
    }
}
