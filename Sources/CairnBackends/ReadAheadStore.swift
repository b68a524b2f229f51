import Dispatch
import Foundation

/// Reads ahead for a store where every read waits a round trip (Swift, S3): `prefetch` starts the
/// ranged GET at once on a background thread, and a later `get` of bytes inside that range takes
/// them from memory, waiting for the GET if it is still under way. A restore hints its next two
/// batches, so their packs download while the current batch decrypts and decompresses.
///
/// Memory is bounded: ranges read ahead hold at most `budget` bytes. A read that ends where its
/// range ends frees the range (a restore hints exactly the ranges it will read, so each is read
/// once, whole). A hint that does not fit is dropped, not made room for: the ranges already held
/// are read sooner. A range left unread while `staleAfter` newer ones were hinted is dropped. A GET
/// ahead that fails is forgotten: the read itself then goes to the store, with the retries below
/// it. Everything else passes through.
public final class ReadAheadStore: ObjectStore, ObjectStoreCreating, @unchecked Sendable {
    public let inner: any ObjectStore
    public let budget: Int
    /// GETs ahead in flight at once (more queue behind them).
    public let workers: Int

    private final class Range: @unchecked Sendable {  // its state changes under `condition`
        let key: ObjectKey
        let offset: Int64
        let length: Int
        /// How many ranges were hinted before this one.
        let sequence: Int
        var state: State = .queued
        enum State { case queued, reading, read([UInt8]), failed }

        init(key: ObjectKey, offset: Int64, length: Int, sequence: Int) {
            self.key = key
            self.offset = offset
            self.length = length
            self.sequence = sequence
        }

        func covers(_ key: ObjectKey, _ offset: Int64, _ length: Int) -> Bool {
            key == self.key && offset >= self.offset && offset + Int64(length) <= self.offset + Int64(self.length)
        }

        var finished: Bool {
            switch state {
            case .read, .failed: return true
            case .queued, .reading: return false
            }
        }
    }

    private let condition = NSCondition()
    /// Oldest first.
    private var ranges: [Range] = []
    private var held = 0
    private var running = 0
    private var served = 0
    private var hinted = 0
    /// Ranges hinted after an unread one that make it stale.
    public let staleAfter = 64

    /// What a restore holds read ahead unless told otherwise. Cold restores of a 1 GB dump from a
    /// Swift All-In-One on loopback, alternating: 48 MiB took 3.63-5.03 s where 24 MiB took
    /// 4.04-5.28 s with the servers on a core of their own (6 pairs of 6 faster), 3.66-3.83 s
    /// against 3.79-4.14 s with them sharing both cores (3 of 4); a hint that does not fit is
    /// dropped, and its read then waits a whole round trip. Peak RSS 118-135 MiB against 115-129.
    public static let defaultBudget = 48 << 20

    /// - Parameters:
    ///   - budget: the most bytes held by ranges read ahead.
    ///   - workers: GETs ahead in flight at once; by default what the store says is worth having.
    public init(_ inner: any ObjectStore, budget: Int = ReadAheadStore.defaultBudget, workers: Int? = nil) {
        self.inner = inner
        self.budget = max(0, budget)
        self.workers = max(1, workers ?? inner.readConcurrency)
    }

    /// Reads served from memory so far (for tests and diagnostics).
    public var readsServedAhead: Int {
        condition.lock()
        defer { condition.unlock() }
        return served
    }

    public func prefetch(_ key: ObjectKey, offset: Int64, length: Int) {
        guard length > 0, length <= budget else { return }
        condition.lock()
        defer { condition.unlock() }
        if ranges.contains(where: { $0.covers(key, offset, length) }) { return }
        ranges.removeAll { range in
            guard range.finished && hinted - range.sequence > staleAfter else { return false }
            held -= range.length
            return true
        }
        guard held + length <= budget else { return }
        ranges.append(Range(key: key, offset: offset, length: length, sequence: hinted))
        hinted += 1
        held += length
        startWorkers()
    }

    /// Starts workers for queued ranges, up to `workers`; the caller holds the lock.
    private func startWorkers() {
        while running < workers, let next = ranges.first(where: { if case .queued = $0.state { return true } else { return false } }) {
            next.state = .reading
            running += 1
            Thread.detachNewThread { [self] in work(next) }
        }
    }

    /// Reads `first`, then each range still queued, oldest first, until none is left.
    private func work(_ first: Range) {
        var range: Range? = first
        while let current = range {
            let bytes = try? inner.get(current.key, offset: current.offset, length: current.length)
            condition.lock()
            if let bytes, bytes.count == current.length {
                current.state = .read(bytes)
            } else {
                // Its budget goes to the next hints; a read waiting for it goes to the store.
                current.state = .failed
                if let index = ranges.firstIndex(where: { $0 === current }) {
                    held -= current.length
                    ranges.remove(at: index)
                }
            }
            condition.broadcast()
            range = ranges.first(where: { if case .queued = $0.state { return true } else { return false } })
            if let range {
                range.state = .reading
            } else {
                running -= 1
            }
            condition.unlock()
        }
    }

    public func get(_ key: ObjectKey, offset: Int64, length: Int) throws -> [UInt8] {
        condition.lock()
        guard let range = ranges.last(where: { $0.covers(key, offset, length) }) else {
            condition.unlock()
            return try inner.get(key, offset: offset, length: length)
        }
        while !range.finished { condition.wait() }
        guard case .read(let bytes) = range.state else {
            condition.unlock()
            return try inner.get(key, offset: offset, length: length)
        }
        served += 1
        let start = Int(offset - range.offset)
        if start + length == range.length, let index = ranges.firstIndex(where: { $0 === range }) {
            held -= range.length
            ranges.remove(at: index)
        }
        condition.unlock()
        // A read of the whole range takes its bytes as they are (nothing else holds them now).
        return start == 0 && length == bytes.count ? bytes : Array(bytes[start..<(start + length)])
    }

    public var location: String { inner.location }
    public var spoolDirectory: String { inner.spoolDirectory }
    public var readConcurrency: Int { inner.readConcurrency }
    public func create() throws { try (inner as? ObjectStoreCreating)?.create() }
    public func put(_ key: ObjectKey, bytes: [UInt8]) throws {
        forget(key)
        try inner.put(key, bytes: bytes)
    }
    public func put(_ key: ObjectKey, contentsOf path: String) throws {
        forget(key)
        try inner.put(key, contentsOf: path)
    }
    public func get(_ key: ObjectKey) throws -> [UInt8] { try inner.get(key) }
    public func stat(_ key: ObjectKey) throws -> ObjectInfo? { try inner.stat(key) }
    public func list(_ kind: ObjectKind) throws -> [ObjectInfo] { try inner.list(kind) }
    public func delete(_ key: ObjectKey) throws {
        forget(key)
        try inner.delete(key)
    }

    /// Drops what was read ahead of `key` (it is being replaced or deleted).
    private func forget(_ key: ObjectKey) {
        condition.lock()
        defer { condition.unlock() }
        ranges.removeAll { range in
            guard range.key == key, range.finished else { return false }
            held -= range.length
            return true
        }
    }
    public var spoolIsFinal: Bool { inner.spoolIsFinal }
    public func removeStaleSpoolFiles(modifiedBefore cutoff: Date, dryRun: Bool) throws -> SpoolCleanup {
        try inner.removeStaleSpoolFiles(modifiedBefore: cutoff, dryRun: dryRun)
    }
    public var wantsContentDigests: Bool { inner.wantsContentDigests }
    public func put(_ key: ObjectKey, contentsOf path: String, digests: ContentDigests) throws {
        forget(key)
        try inner.put(key, contentsOf: path, digests: digests)
    }
}
