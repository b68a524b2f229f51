import Dispatch
import Foundation

/// Lets at most `limit` calls reach the inner store at once; the others wait their turn (a
/// counting semaphore). Keeps a backup's parallel uploads within what one client should ask of a
/// shared object store.
public final class ConcurrencyLimitedStore: ObjectStore, ObjectStoreCreating, @unchecked Sendable {
    public let inner: any ObjectStore
    public let limit: Int
    private let slots: DispatchSemaphore

    public init(_ inner: any ObjectStore, limit: Int = 4) {
        self.inner = inner
        self.limit = max(1, limit)
        slots = DispatchSemaphore(value: max(1, limit))
    }

    public var location: String { inner.location }
    public var spoolDirectory: String { inner.spoolDirectory }
    public var readConcurrency: Int { min(limit, inner.readConcurrency) }

    private func limited<T>(_ operation: () throws -> T) rethrows -> T {
        slots.wait()
        defer { slots.signal() }
        return try operation()
    }

    public func create() throws { try limited { try (inner as? ObjectStoreCreating)?.create() } }
    public func put(_ key: ObjectKey, bytes: [UInt8]) throws { try limited { try inner.put(key, bytes: bytes) } }
    public func put(_ key: ObjectKey, contentsOf path: String) throws { try limited { try inner.put(key, contentsOf: path) } }
    public func get(_ key: ObjectKey) throws -> [UInt8] { try limited { try inner.get(key) } }
    public func get(_ key: ObjectKey, offset: Int64, length: Int) throws -> [UInt8] {
        try limited { try inner.get(key, offset: offset, length: length) }
    }
    public func stat(_ key: ObjectKey) throws -> ObjectInfo? { try limited { try inner.stat(key) } }
    public func list(_ kind: ObjectKind) throws -> [ObjectInfo] { try limited { try inner.list(kind) } }
    public func delete(_ key: ObjectKey) throws { try limited { try inner.delete(key) } }
    public func prefetch(_ key: ObjectKey, offset: Int64, length: Int) { inner.prefetch(key, offset: offset, length: length) }
    public var spoolIsFinal: Bool { inner.spoolIsFinal }
    public func removeStaleSpoolFiles(modifiedBefore cutoff: Date, dryRun: Bool) throws -> SpoolCleanup {
        try inner.removeStaleSpoolFiles(modifiedBefore: cutoff, dryRun: dryRun)
    }
    public var wantsContentDigests: Bool { inner.wantsContentDigests }
    public func put(_ key: ObjectKey, contentsOf path: String, digests: ContentDigests) throws {
        try limited { try inner.put(key, contentsOf: path, digests: digests) }
    }
}
