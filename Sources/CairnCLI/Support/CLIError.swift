import CairnCore

/// An error raised by the CLI itself (bad environment, missing password).
struct CLIError: CairnFailure {
    var category: FailureCategory
    var message: String
    var hint: String?
    var underlying: (any Error)?

    init(_ category: FailureCategory, _ message: String, hint: String? = nil, cause: (any Error)? = nil) {
        self.category = category
        self.message = message
        self.hint = hint
        self.underlying = cause
    }
}
