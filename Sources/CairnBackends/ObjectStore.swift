import Foundation

/// The kinds of object a repository holds, each in its own folder (`data/` is fanned out by the
/// first two hex digits of the name).
public enum ObjectKind: String, Sendable, CaseIterable {
    case config, keys, data, index, snapshots, locks
}

/// The name of one stored object.
public struct ObjectKey: Hashable, Sendable, CustomStringConvertible {
    public var kind: ObjectKind
    public var name: String

    public init(_ kind: ObjectKind, _ name: String) {
        self.kind = kind
        self.name = name
    }

    public static let config = ObjectKey(.config, "config")

    /// The object's path relative to the repository root: `config`, `keys/N`, `data/ab/abcd…`.
    public var path: String {
        switch kind {
        case .config: return "config"
        case .data: return "data/\(name.prefix(2))/\(name)"
        default: return "\(kind.rawValue)/\(name)"
        }
    }

    public var description: String { path }
}

/// Size of a stored object, and when it was last written where the store says.
public struct ObjectInfo: Sendable, Equatable {
    public var key: ObjectKey
    public var size: Int64
    /// When the object was last written, by the store's clock, as `list` reports it (a file's
    /// mtime, a listing's `last_modified` / `LastModified`); nil where the store does not say.
    public var modified: Date?

    public init(key: ObjectKey, size: Int64, modified: Date? = nil) {
        self.key = key; self.size = size; self.modified = modified
    }

    /// The same object: key and size. `modified` is what one answer said, not part of the object.
    public static func == (left: ObjectInfo, right: ObjectInfo) -> Bool {
        left.key == right.key && left.size == right.size
    }
}

/// Times in object-store listings: `2026-11-20T03:04:05.123456` (Swift, UTC without a zone) or
/// `2026-11-20T03:04:05.000Z` (S3). Whole seconds are enough for what they are used for.
enum ListingTime {
    static func parse(_ text: String) -> Date? {
        let parts = text.prefix(19).split(whereSeparator: { "-T:".contains($0) }).compactMap { Int($0) }
        guard parts.count == 6 else { return nil }
        var components = DateComponents()
        components.year = parts[0]; components.month = parts[1]; components.day = parts[2]
        components.hour = parts[3]; components.minute = parts[4]; components.second = parts[5]
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.date(from: components)
    }
}

/// Where a repository keeps its objects: a local directory, an OpenStack Swift container, an S3 bucket.
///
/// Implementers guarantee:
/// - `put` is atomic: readers see all of an object or none of it, also across a crash; when it
///   returns, the object is durable.
/// - Read-after-write: a `get`, `stat` or `list` after a successful `put` sees the object.
/// - Retrying a `put` of the same key and bytes is harmless (idempotent).
/// - `delete` of a missing object succeeds.
/// Calls may block; they may be made from several threads at once.
public protocol ObjectStore: Sendable {
    /// A human-readable location, for messages (`/srv/backups/redis`, `swift://backups/redis`).
    var location: String { get }
    /// Stores `bytes` under `key` atomically.
    func put(_ key: ObjectKey, bytes: [UInt8]) throws
    /// Stores the contents of the local file at `path` under `key` atomically. The file is the
    /// caller's; the store may move it (a local store renames it into place) or leave it.
    func put(_ key: ObjectKey, contentsOf path: String) throws
    /// The whole object; throws a `StoreError` with category `.inputNotFound` when it is missing.
    func get(_ key: ObjectKey) throws -> [UInt8]
    /// `length` bytes from `offset`; throws when the object is shorter.
    func get(_ key: ObjectKey, offset: Int64, length: Int) throws -> [UInt8]
    /// The object's size, or nil when it does not exist.
    func stat(_ key: ObjectKey) throws -> ObjectInfo?
    /// Every object of a kind, in no particular order.
    func list(_ kind: ObjectKind) throws -> [ObjectInfo]
    /// Removes the object; succeeds when it does not exist.
    func delete(_ key: ObjectKey) throws
    /// A local directory where the caller may write files to hand to `put(_:contentsOf:)`; on a local
    /// store it is inside the repository, so the hand-off is a rename.
    var spoolDirectory: String { get }
    /// Whether a spool file handed to `put(_:contentsOf:)` becomes the object itself (a local
    /// store renames it into place), so nothing reads it back: its writer may bypass the page
    /// cache. Remote stores read the file again to upload it, from the cache.
    var spoolIsFinal: Bool { get }
    /// How many reads are worth having in flight at once: 1 where a read costs no waiting (a local
    /// disk's page cache), more where each waits for a round trip (an object store), so a restore
    /// keeps that many ranged GETs going.
    var readConcurrency: Int { get }
    /// A hint that `length` bytes from `offset` will be read soon: a local store asks the kernel
    /// to read them in the background, so a read from a cold disk does not wait when it comes.
    /// Never fails; a store with nothing to gain does nothing.
    func prefetch(_ key: ObjectKey, offset: Int64, length: Int)
    /// Whether `put(_:contentsOf:digests:)` uses the digests: a remote store sends them with the
    /// upload (Swift's `ETag`, S3's `Content-MD5` and payload hash), and would otherwise read the
    /// file again to compute them.
    var wantsContentDigests: Bool { get }
    /// `put(_:contentsOf:)` of a file whose digests its writer computed as it wrote it. The server
    /// then checks the bytes it receives against what was written, not against what was read back.
    func put(_ key: ObjectKey, contentsOf path: String, digests: ContentDigests) throws
    /// Deletes the files in `spoolDirectory` last modified before `cutoff` (with `dryRun`, only
    /// counts them): what a killed backup or prune was writing when the spool belongs to the
    /// repository (a local store's `tmp/`). The caller holds the exclusive lock. A store whose
    /// spool belongs to one process and goes with it (a remote store's) has nothing to do.
    func removeStaleSpoolFiles(modifiedBefore cutoff: Date, dryRun: Bool) throws -> SpoolCleanup
}

/// What `ObjectStore.removeStaleSpoolFiles(modifiedBefore:dryRun:)` deleted (or would delete).
public struct SpoolCleanup: Sendable, Equatable {
    public var files: Int
    public var bytes: Int64

    public init(files: Int = 0, bytes: Int64 = 0) {
        self.files = files
        self.bytes = bytes
    }
}

/// Digests of a file's bytes, computed by the code that wrote it (see `ObjectStore.wantsContentDigests`).
public struct ContentDigests: Sendable, Equatable {
    public var md5: [UInt8]
    public var sha256: [UInt8]
    public var size: Int64

    public init(md5: [UInt8], sha256: [UInt8], size: Int64) {
        self.md5 = md5
        self.sha256 = sha256
        self.size = size
    }
}

extension ObjectStore {
    public var spoolIsFinal: Bool { false }
    public var readConcurrency: Int { 1 }
    public func prefetch(_ key: ObjectKey, offset: Int64, length: Int) {}
    public var wantsContentDigests: Bool { false }
    public func put(_ key: ObjectKey, contentsOf path: String, digests: ContentDigests) throws {
        try put(key, contentsOf: path)
    }
    public func removeStaleSpoolFiles(modifiedBefore cutoff: Date, dryRun: Bool) throws -> SpoolCleanup { SpoolCleanup() }

    /// `put(_:contentsOf:digests:)` when the writer computed digests, else `put(_:contentsOf:)`.
    public func put(_ key: ObjectKey, contentsOf path: String, digestsIfKnown digests: ContentDigests?) throws {
        if let digests {
            try put(key, contentsOf: path, digests: digests)
        } else {
            try put(key, contentsOf: path)
        }
    }
}
