import Foundation
import Glibc

/// A byte budget that refills at `bytesPerSecond` and holds at most `burst` seconds of it (a token
/// bucket that may go into debt). A transfer takes its bytes from the budget; when that leaves a
/// debt, the transfer waits until the debt is repaid. Over any stretch of time T, the transfers
/// started carry at most `bytesPerSecond × (T + burst)` bytes, however many threads share the pacer.
public final class TransferPacer: @unchecked Sendable {
    public let bytesPerSecond: Double
    public let burst: TimeInterval
    private let now: @Sendable () -> Date
    private let sleep: @Sendable (TimeInterval) -> Void
    private let lock = NSLock()
    private var budget: Double
    private var updated: Date

    public init(bytesPerSecond: Int, burst: TimeInterval = 1, now: @escaping @Sendable () -> Date = { Date() },
                sleep: @escaping @Sendable (TimeInterval) -> Void = { Thread.sleep(forTimeInterval: $0) }) {
        precondition(bytesPerSecond > 0 && burst >= 0)
        self.bytesPerSecond = Double(bytesPerSecond)
        self.burst = burst
        self.now = now
        self.sleep = sleep
        budget = Double(bytesPerSecond) * burst
        updated = now()
    }

    /// Takes `bytes` from the budget and waits as long as that leaves it in debt.
    public func pay(_ bytes: Int) {
        guard bytes > 0 else { return }
        lock.lock()
        let time = now()
        budget = min(bytesPerSecond * burst, budget + bytesPerSecond * max(0, time.timeIntervalSince(updated)))
        updated = time
        budget -= Double(bytes)
        let wait = budget < 0 ? -budget / bytesPerSecond : 0
        lock.unlock()
        if wait > 0 { sleep(wait) }
    }
}

/// Keeps a store's uploads and downloads within a rate (`--limit-upload`, `--limit-download`), so
/// a nightly backup shares the network with the service it backs up. Uploads and ranged reads wait
/// before they start, whole-object reads (small: index, snapshot and key objects) after. Each
/// request goes at full speed once it starts: the rate holds on average, over a second or more,
/// not within one pack. Listings, stats and deletes are not counted.
public final class RateLimitedStore: ObjectStore, ObjectStoreCreating, @unchecked Sendable {
    public let inner: any ObjectStore
    public let upload: TransferPacer?
    public let download: TransferPacer?

    public init(_ inner: any ObjectStore, upload: TransferPacer?, download: TransferPacer?) {
        self.inner = inner
        self.upload = upload
        self.download = download
    }

    public var location: String { inner.location }
    public var spoolDirectory: String { inner.spoolDirectory }
    public var readConcurrency: Int { inner.readConcurrency }
    public var spoolIsFinal: Bool { inner.spoolIsFinal }
    public var wantsContentDigests: Bool { inner.wantsContentDigests }

    public func create() throws { try (inner as? ObjectStoreCreating)?.create() }

    public func put(_ key: ObjectKey, bytes: [UInt8]) throws {
        upload?.pay(bytes.count)
        try inner.put(key, bytes: bytes)
    }

    public func put(_ key: ObjectKey, contentsOf path: String) throws {
        upload?.pay(fileSize(path))
        try inner.put(key, contentsOf: path)
    }

    public func put(_ key: ObjectKey, contentsOf path: String, digests: ContentDigests) throws {
        upload?.pay(Int(digests.size))
        try inner.put(key, contentsOf: path, digests: digests)
    }

    public func get(_ key: ObjectKey) throws -> [UInt8] {
        let bytes = try inner.get(key)
        download?.pay(bytes.count)
        return bytes
    }

    public func get(_ key: ObjectKey, offset: Int64, length: Int) throws -> [UInt8] {
        download?.pay(length)
        return try inner.get(key, offset: offset, length: length)
    }

    public func stat(_ key: ObjectKey) throws -> ObjectInfo? { try inner.stat(key) }
    public func list(_ kind: ObjectKind) throws -> [ObjectInfo] { try inner.list(kind) }
    public func delete(_ key: ObjectKey) throws { try inner.delete(key) }
    public func prefetch(_ key: ObjectKey, offset: Int64, length: Int) { inner.prefetch(key, offset: offset, length: length) }
    public func removeStaleSpoolFiles(modifiedBefore cutoff: Date, dryRun: Bool) throws -> SpoolCleanup {
        try inner.removeStaleSpoolFiles(modifiedBefore: cutoff, dryRun: dryRun)
    }
}

/// The size of the file at `path`, 0 when it cannot be read (the upload then fails on its own).
private func fileSize(_ path: String) -> Int {
    var info = Glibc.stat()
    return lstat(path, &info) == 0 ? Int(info.st_size) : 0
}
