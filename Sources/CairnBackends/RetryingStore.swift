import Foundation

/// How often and how patiently `RetryingStore` tries again.
public struct RetryPolicy: Sendable {
    /// Attempts in all, the first included.
    public var maximumAttempts: Int
    /// The wait before the second attempt; each later wait doubles, up to `maximumDelay`.
    public var initialDelay: Double
    public var maximumDelay: Double

    public init(maximumAttempts: Int = 6, initialDelay: Double = 0.5, maximumDelay: Double = 30) {
        self.maximumAttempts = max(1, maximumAttempts)
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
    }

    public static let standard = RetryPolicy()

    /// The wait before attempt `attempt + 1` (attempt counts from 1), for a jitter draw in 0...1:
    /// between half and all of the exponential step ("equal jitter"), so parallel clients spread out.
    public func delay(after attempt: Int, jitter: Double) -> Double {
        let step = min(maximumDelay, initialDelay * pow(2, Double(attempt - 1)))
        return step / 2 + step / 2 * min(1, max(0, jitter))
    }
}

/// Repeats calls that failed with a passing fault — a timeout, a broken connection, bytes damaged
/// in transit, HTTP 5xx or 429 — with exponential backoff and jitter, a bounded number of times.
/// Any other error (a 404, a 403, a local error) is thrown at once. Every `ObjectStore` call is
/// idempotent, so a repeat after a request that did reach the server is harmless.
public final class RetryingStore: ObjectStore, ObjectStoreCreating, Sendable {
    public let inner: any ObjectStore
    let policy: RetryPolicy
    private let sleep: @Sendable (Double) -> Void
    private let jitter: @Sendable () -> Double
    private let onRetry: @Sendable (_ error: StoreError, _ attempt: Int, _ delay: Double) -> Void

    /// - Parameters:
    ///   - sleep: waits the given seconds (tests pass one that records instead).
    ///   - jitter: a random number in 0...1.
    ///   - onRetry: told about each failure that will be retried (for a log line).
    public init(_ inner: any ObjectStore, policy: RetryPolicy = .standard,
                sleep: @escaping @Sendable (Double) -> Void = { Thread.sleep(forTimeInterval: $0) },
                jitter: @escaping @Sendable () -> Double = { Double.random(in: 0...1) },
                onRetry: @escaping @Sendable (_ error: StoreError, _ attempt: Int, _ delay: Double) -> Void = { _, _, _ in }) {
        self.inner = inner
        self.policy = policy
        self.sleep = sleep
        self.jitter = jitter
        self.onRetry = onRetry
    }

    public var location: String { inner.location }
    public var spoolDirectory: String { inner.spoolDirectory }
    public var readConcurrency: Int { inner.readConcurrency }

    private func retrying<T>(_ operation: () throws -> T) throws -> T {
        var attempt = 1
        while true {
            do {
                return try operation()
            } catch let error as StoreError where error.isRetryable && attempt < policy.maximumAttempts {
                let delay = policy.delay(after: attempt, jitter: jitter())
                onRetry(error, attempt, delay)
                sleep(delay)
                attempt += 1
            }
        }
    }

    public func create() throws { try retrying { try (inner as? ObjectStoreCreating)?.create() } }
    public func put(_ key: ObjectKey, bytes: [UInt8]) throws { try retrying { try inner.put(key, bytes: bytes) } }
    public func put(_ key: ObjectKey, contentsOf path: String) throws { try retrying { try inner.put(key, contentsOf: path) } }
    public func get(_ key: ObjectKey) throws -> [UInt8] { try retrying { try inner.get(key) } }
    public func get(_ key: ObjectKey, offset: Int64, length: Int) throws -> [UInt8] {
        try retrying { try inner.get(key, offset: offset, length: length) }
    }
    public func stat(_ key: ObjectKey) throws -> ObjectInfo? { try retrying { try inner.stat(key) } }
    public func list(_ kind: ObjectKind) throws -> [ObjectInfo] { try retrying { try inner.list(kind) } }
    public func delete(_ key: ObjectKey) throws { try retrying { try inner.delete(key) } }
    public func prefetch(_ key: ObjectKey, offset: Int64, length: Int) { inner.prefetch(key, offset: offset, length: length) }
    public var spoolIsFinal: Bool { inner.spoolIsFinal }
    public func removeStaleSpoolFiles(modifiedBefore cutoff: Date, dryRun: Bool) throws -> SpoolCleanup {
        try inner.removeStaleSpoolFiles(modifiedBefore: cutoff, dryRun: dryRun)
    }
    public var wantsContentDigests: Bool { inner.wantsContentDigests }
    public func put(_ key: ObjectKey, contentsOf path: String, digests: ContentDigests) throws {
        try retrying { try inner.put(key, contentsOf: path, digests: digests) }
    }
}
