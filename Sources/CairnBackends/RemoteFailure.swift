/// Why a request to a remote store failed, kept as the cause of a `StoreError` so that
/// `RetryingStore` can tell a passing fault (a timeout, a reset connection, a 503) from a final
/// answer (a 404, a 403).
public enum RemoteFailure: Error, Sendable, CustomStringConvertible {
    /// No answer within the timeout.
    case timedOut
    /// The connection could not be made, or broke before the whole answer arrived.
    case connectionLost(String)
    /// The server answered with this HTTP status; `detail` is the start of its body.
    case status(Int, detail: String)
    /// The transport failed in a way retrying will not fix (bad URL, TLS trust, …).
    case transport(String)

    /// True for faults worth retrying: timeouts, connection failures, 5xx and 429.
    public var isRetryable: Bool {
        switch self {
        case .timedOut, .connectionLost: return true
        case .status(let code, _): return code == 429 || (500...599).contains(code)
        case .transport: return false
        }
    }

    public var description: String {
        switch self {
        case .timedOut: return "the request timed out"
        case .connectionLost(let why): return "connection failed: \(why)"
        case .status(let code, let detail): return detail.isEmpty ? "HTTP \(code)" : "HTTP \(code): \(detail)"
        case .transport(let why): return why
        }
    }
}

extension StoreError {
    /// True when the error comes from a remote fault that a later attempt may not meet.
    public var isRetryable: Bool { (underlying as? RemoteFailure)?.isRetryable ?? false }

    /// A categorized error for an unexpected HTTP answer to `operation` on `subject`.
    static func http(_ response: HTTPResponse, _ operation: String, _ subject: String) -> StoreError {
        let cause = RemoteFailure.status(response.status, detail: response.bodySnippet)
        switch response.status {
        case 404:
            return StoreError(.inputNotFound, "\(subject) does not exist", cause: cause)
        case 401, 403:
            return StoreError(.failure, "\(operation) \(subject) was refused (HTTP \(response.status))",
                              hint: "check the object store credentials and their permissions", cause: cause)
        case 413, 507:
            return StoreError(.noSpace, "\(operation) \(subject): the object store is full or over quota", cause: cause)
        default:
            return StoreError(.failure, "\(operation) \(subject) failed with HTTP \(response.status)", cause: cause)
        }
    }

    /// Wraps a transport failure of `operation` on `subject`.
    static func remote(_ failure: RemoteFailure, _ operation: String, _ subject: String) -> StoreError {
        StoreError(.failure, "\(operation) \(subject) failed", cause: failure)
    }
}
