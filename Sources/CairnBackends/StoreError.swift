import CairnCore

/// A storage operation failed.
public struct StoreError: CairnFailure {
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

/// An errno with its name, for messages.
public struct SystemError: Error, CustomStringConvertible {
    public var code: Int32
    public var operation: String
    public init(_ operation: String, code: Int32) { self.operation = operation; self.code = code }
    public var description: String { "\(operation): \(String(cString: strerror(code)))" }
}

import Glibc

extension StoreError {
    /// Maps an errno from a file operation on `path` to a categorized error.
    public static func fromErrno(_ code: Int32, _ operation: String, path: String) -> StoreError {
        let cause = SystemError(operation, code: code)
        switch code {
        case ENOSPC, EDQUOT:
            return StoreError(.noSpace, "no space left while writing \(path)",
                              hint: "free space on that filesystem or use a repository on a larger one", cause: cause)
        case ENOENT:
            return StoreError(.inputNotFound, "\(path) does not exist", cause: cause)
        case EACCES, EPERM:
            return StoreError(.failure, "permission denied: \(path)",
                              hint: "run as a user that can read and write the repository", cause: cause)
        default:
            return StoreError(.failure, "\(operation) failed for \(path)", cause: cause)
        }
    }
}
