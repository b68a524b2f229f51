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
    /// Bytes were damaged between us and the server: the server refused an upload whose MD5 did not
    /// match what we declared (Swift 422, S3 BadDigest), an upload's answer names another MD5 than
    /// the one sent, or a download's body does not match its ETag. Sending again usually helps.
    case damagedInTransit(String)

    /// True for faults worth retrying: timeouts, connection failures, damage in transit, 5xx and 429.
    public var isRetryable: Bool {
        switch self {
        case .timedOut, .connectionLost, .damagedInTransit: return true
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
        case .damagedInTransit(let why): return "damaged in transit: \(why)"
        }
    }
}

extension StoreError {
    /// True when the error comes from a remote fault that a later attempt may not meet.
    public var isRetryable: Bool { (underlying as? RemoteFailure)?.isRetryable ?? false }

    /// A categorized error for an unexpected HTTP answer to `operation` on `subject`.
    static func http(_ response: HTTPResponse, _ operation: String, _ subject: String) -> StoreError {
        // The cause renders as "HTTP 503: <what the server said>", after the message: the
        // messages do not repeat the status.
        let cause = RemoteFailure.status(response.status, detail: response.bodySnippet)
        switch response.status {
        case 404:
            return StoreError(.inputNotFound, "\(subject) does not exist", cause: cause)
        case 401, 403:
            return StoreError(.failure, "\(operation) \(subject) was refused",
                              hint: "check the object store credentials and their permissions", cause: cause)
        case 413, 507:
            return StoreError(.noSpace, "\(operation) \(subject): the object store is full or over quota", cause: cause)
        case 500...599:
            return StoreError(.failure, "\(operation) \(subject) failed",
                              hint: "the object store is failing or unavailable; run the command again once it answers", cause: cause)
        default:
            return StoreError(.failure, "\(operation) \(subject) failed", cause: cause)
        }
    }

    /// Bytes of `subject` were damaged on the way (an `.integrity` error that is retried).
    static func damagedInTransit(_ message: String, _ why: String) -> StoreError {
        StoreError(.integrity, message, hint: "a flaky network or proxy damaged the bytes; if this persists, check the path to the object store",
                   cause: RemoteFailure.damagedInTransit(why))
    }

    /// Throws a retryable `.integrity` error when the answer to an upload of `subject` names an
    /// MD5 (`etag`, lower-case hex, nil when the answer has none) other than the one sent.
    static func checkUploadETag(_ etag: String?, sent digest: UploadDigest, _ subject: String) throws {
        guard let etag, etag != digest.md5Hex else { return }
        throw damagedInTransit("the object store's answer to the upload of \(subject) names another MD5 than was sent (ETag \(etag))",
                               "upload answered with ETag \(etag), sent MD5 \(digest.md5Hex)")
    }

    /// Wraps a transport failure of `operation` on `subject`.
    static func remote(_ failure: RemoteFailure, _ operation: String, _ subject: String) -> StoreError {
        StoreError(.failure, "\(operation) \(subject) failed", cause: failure)
    }
}
