import CairnCore

/// A catalog operation failed. `.integrity` means the file is damaged (the caller rebuilds it),
/// `.noSpace` that the disk is full.
public struct CatalogError: CairnFailure {
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
