import CairnCore
import Foundation

/// A `snapshots/ID` object (sealed JSON): when, where and what was backed up, and the ids of the
/// tree blobs that hold the file recipes in order.
public struct SnapshotDocument: Codable, Sendable, Equatable {
    public var version: Int = 1
    public var time: Date
    public var hostname: String
    public var username: String
    public var tags: [String]
    /// Absolute paths given to `backup`, in the order given.
    public var paths: [String]
    /// Tree blob ids (hex) whose concatenated plaintext is the node stream.
    public var tree: [String]
    public var parent: String?
    public var summary: BackupSummary
    public var program: String
    /// Redis facts recorded at capture (version, role, keys per db, …); absent for plain directories.
    public var redis: [String: String]?

    public init(time: Date, hostname: String, username: String, tags: [String], paths: [String], tree: [String],
                parent: String?, summary: BackupSummary, program: String, redis: [String: String]? = nil) {
        self.time = time; self.hostname = hostname; self.username = username; self.tags = tags; self.paths = paths
        self.tree = tree; self.parent = parent; self.summary = summary; self.program = program; self.redis = redis
    }
}

/// Counts recorded with each snapshot.
public struct BackupSummary: Codable, Sendable, Equatable {
    public var files: Int = 0
    public var directories: Int = 0
    public var links: Int = 0
    /// Logical size of every file in the snapshot.
    public var bytes: Int64 = 0
    /// Bytes of files actually read (unchanged files are skipped).
    public var bytesRead: Int64 = 0
    /// Raw bytes of chunks that were new to the repository (data and tree).
    public var addedBytes: Int64 = 0
    /// Bytes written to packs for those chunks (after compression and encryption).
    public var addedStoredBytes: Int64 = 0
    public var chunks: Int = 0
    public var newChunks: Int = 0
    public var durationSeconds: Double = 0

    public init() {}
}

/// A snapshot as listings see it: its id and document.
public struct Snapshot: Sendable, Equatable {
    public var id: SnapshotID
    public var document: SnapshotDocument
    public init(id: SnapshotID, document: SnapshotDocument) { self.id = id; self.document = document }
}
