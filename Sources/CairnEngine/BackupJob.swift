import CairnCodec
import CairnCore
import CairnRedis
import CairnRepository
import Foundation
import Glibc
import Logging

/// What to back up and how.
public struct BackupRequest: Sendable {
    /// Paths as given; made absolute against `workingDirectory`.
    public var paths: [String]
    public var tags: [String] = []
    /// Recorded snapshot time (defaults to the clock's now).
    public var time: Date?
    /// Read every file even when its metadata says it is unchanged.
    public var forceReread = false
    public var identity: Identity
    public var workingDirectory: String
    public var workers = ProcessInfo.processInfo.activeProcessorCount
    public var faults: FaultInjector = .none
    /// Facts about a Redis capture, stored with the snapshot (the RDB counts are added by the
    /// backup itself, from the files it reads).
    public var redis: [String: String]?
    /// Walk every RDB to its checksum while chunking it; a damaged one fails the backup.
    public var validateRDB = true
    /// Paths recorded in the snapshot instead of `paths` (a Redis capture backs up a staging folder
    /// but records the server's data directory).
    public var recordedPaths: [String]?
    /// The repository lock the backup holds, verified before every index object and before the
    /// snapshot: a backup whose lock another process removed as stale commits nothing.
    public var lock: (any VerifiableLock)?
    /// Asked right before the snapshot is committed: true (Ctrl-C or SIGTERM came) commits nothing.
    public var shouldStop: @Sendable () -> Bool = { false }

    public init(paths: [String], identity: Identity, workingDirectory: String) {
        self.paths = paths
        self.identity = identity
        self.workingDirectory = workingDirectory
    }
}

/// The outcome of a backup: the snapshot and what it cost.
public struct BackupResult: Sendable {
    public var snapshot: SnapshotID
    public var summary: BackupSummary
    /// Files that could not be read (the snapshot lacks them) or that changed while read (it
    /// holds them as the warning says).
    public var warnings: [String]
    public var parent: SnapshotID?
}

/// `cairn backup PATH…`: walks the paths, stores new chunks and a tree, commits a snapshot.
public struct BackupJob {
    let repository: Repository
    let request: BackupRequest
    let progress: WorkProgress
    let logger: Logger
    let clock: any WallClock

    public init(repository: Repository, request: BackupRequest, progress: WorkProgress = WorkProgress(),
                clock: any WallClock = SystemClock(), logger: Logger) {
        self.repository = repository
        self.request = request
        self.progress = progress
        self.clock = clock
        self.logger = logger
    }

    public func run() throws -> BackupResult {
        let started = clock.now()
        let roots = try resolveRoots()
        let recorded = request.recordedPaths ?? roots.map(\.source.string)
        let parent = try findParent(paths: recorded)
        var warnings: [String] = []
        let walker = FileWalker { path, message in
            warnings.append("\(path.string): \(message)")
        }
        try countTotals(roots, walker: walker)

        let blobs = BlobWriter(repository: repository, workers: request.workers, faults: request.faults, lock: request.lock)
        defer { blobs.close() }   // its threads end here, success or not
        let tree = TreeWriter(blobs: blobs, chunker: repository.treeChunker,
                              maximumChunkSize: repository.config.treeChunker.maximumSize)
        var previous = try parent.map { try PreviousTree(repository: repository, snapshot: $0.document) }
        var summary = BackupSummary()
        var hardLinks: [HardLinkKey: [UInt8]] = [:]
        let reader = FileChunkReader(repository: repository, blobs: blobs, progress: progress, faults: request.faults)
        reader.validateRDBs = request.validateRDB
        var rdbFacts = RDBFacts()
        do {
            try walker.walk(roots) { entry in
                var node = TreeNode(entry)
                switch entry.info.st_mode & S_IFMT {
                case S_IFDIR:
                    summary.directories += 1
                    try tree.append(node)
                case S_IFLNK:
                    node.kind = .symlink
                    node.linkTarget = entry.source.linkTarget()
                    summary.links += 1
                    try tree.append(node)
                case S_IFREG:
                    let key = HardLinkKey(device: UInt64(entry.info.st_dev), inode: UInt64(entry.info.st_ino))
                    if entry.info.st_nlink > 1 {
                        if let first = hardLinks[key] {
                            node.kind = .hardlink
                            node.linkTarget = first
                            summary.links += 1
                            try tree.append(node)
                            rdbFacts.noteLink(node.pathString, to: String(decoding: first, as: UTF8.self))
                            return
                        }
                        hardLinks[key] = entry.path
                    }
                    summary.files += 1
                    rdbFacts.noteFile(node.pathString)
                    if !request.forceReread, let old = try previous?.find(entry.path), node.looksUnchanged(comparedTo: old) {
                        try tree.append(node)
                        try previous!.copyChunks(into: tree)
                        rdbFacts.noteUnchanged(node.pathString, looksLikeRDB: RedisDirectoryValidator.looksLikeRDB(entry.source.string))
                        summary.bytes += node.size
                        progress.addBytes(node.size)
                    } else {
                        do {
                            let read = try reader.read(entry.source, name: node.pathString, into: tree, node: node)
                            if let rdb = reader.lastSummary { rdbFacts.read[node.pathString] = rdb }
                            if let change = reader.lastChange { warnings.append("\(entry.source.string): \(change)") }
                            summary.bytes += read
                            summary.bytesRead += read
                        } catch let error as FileReadError {
                            warnings.append("\(entry.source.string): \(error.message)")
                            summary.files -= 1
                        }
                    }
                    progress.finishFile(entry.source.string)
                case S_IFSOCK:
                    // A server's socket (redis.sock beside the data) is made anew by whoever listens on
                    // it; counting it as unreadable would make every nightly backup exit 3.
                    logger.info("\(entry.source.string): a socket, not backed up")
                default:
                    warnings.append("\(entry.source.string): skipped (not a file, directory or symlink)")
                }
            }
            return try commit(tree: tree, blobs: blobs, summary: summary, started: started, recorded: recorded,
                              parent: parent, warnings: warnings,
                              redis: rdbFacts.metadata(adding: request.redis, parent: parent?.document.redis))
        } catch {
            blobs.abandon()
            throw error
        }
    }

    /// Backs up an RDB stream (a replication payload) as the file `name` in a snapshot of
    /// `recorded` paths: walked, validated and chunked at key records as it arrives, no temporary
    /// file. `fill` returns 0 at the end. `metadata` receives the RDB's summary once it ended.
    public func runRDBStream(name: String, recorded: [String], fill: @escaping (UnsafeMutableRawBufferPointer) throws -> Int,
                             metadata: (RDBSummary?) throws -> [String: String]) throws -> BackupResult {
        let started = clock.now()
        let blobs = BlobWriter(repository: repository, workers: request.workers, faults: request.faults, lock: request.lock)
        defer { blobs.close() }   // its threads end here, success or not
        let tree = TreeWriter(blobs: blobs, chunker: repository.treeChunker,
                              maximumChunkSize: repository.config.treeChunker.maximumSize)
        let reader = FileChunkReader(repository: repository, blobs: blobs, progress: progress, faults: request.faults)
        let seconds = Int64(started.timeIntervalSince1970)
        var summary = BackupSummary()
        do {
            try tree.append(TreeNode(kind: .directory, path: [], mode: 0o755, uid: geteuid(), gid: getegid(),
                                     modificationSeconds: seconds, changeSeconds: seconds))
            summary.directories = 1
            let file = TreeNode(kind: .file, path: Array(name.utf8), mode: 0o644, uid: geteuid(), gid: getegid(),
                                modificationSeconds: seconds, changeSeconds: seconds)
            let (read, rdb) = try reader.readRDB(name: "the RDB from \(recorded.first ?? name)", into: tree, node: file,
                                                 sizeKnown: false, strict: true, fill: fill)
            summary.files = 1
            summary.bytes = read
            summary.bytesRead = read
            progress.finishFile(name)
            return try commit(tree: tree, blobs: blobs, summary: summary, started: started, recorded: recorded,
                              parent: nil, warnings: [], redis: try metadata(rdb))
        } catch {
            blobs.abandon()
            throw error
        }
    }

    /// Finishes the tree, flushes packs and their index, and commits the snapshot object.
    private func commit(tree: TreeWriter, blobs: BlobWriter, summary: BackupSummary, started: Date, recorded: [String],
                        parent: Snapshot?, warnings: [String], redis: [String: String]?) throws -> BackupResult {
        var summary = summary
        let treeIDs = try tree.finish()
        try blobs.flush()
        summary.chunks = blobs.statistics.chunks
        summary.newChunks = blobs.statistics.newChunks
        summary.addedBytes = blobs.statistics.addedBytes
        summary.addedStoredBytes = blobs.statistics.addedStoredBytes
        summary.durationSeconds = clock.now().timeIntervalSince(started)
        let document = SnapshotDocument(
            time: request.time ?? started, hostname: request.identity.hostname, username: request.identity.username,
            tags: request.tags, paths: recorded, tree: treeIDs.map(\.hex), parent: parent?.id.hex,
            summary: summary, program: CairnVersion.string, redis: redis)
        let faults = request.faults
        if request.shouldStop() {
            throw EngineError(.failure, "the backup was interrupted: no snapshot was committed",
                              hint: "its packs are reclaimed by `cairn prune`; run the backup again")
        }
        try request.lock?.verify()
        let id = try repository.commitSnapshot(document) { faults.reach(.beforeCatalogCommit) }
        return BackupResult(snapshot: id, summary: summary, warnings: warnings, parent: parent?.id)
    }

    private func resolveRoots() throws -> [FileWalker.Root] {
        guard !request.paths.isEmpty else {
            throw EngineError(.usage, "nothing to back up", hint: "name one or more paths, e.g. `cairn backup /var/lib/redis`")
        }
        var roots: [FileWalker.Root] = []
        for path in request.paths {
            let absolute = path.hasPrefix("/") ? path : request.workingDirectory + "/" + path
            let normalized = SystemPath(URL(fileURLWithPath: absolute).standardizedFileURL.path)
            guard var info = normalized.lstat() else {
                throw EngineError(.inputNotFound, "\(path) cannot be backed up: \(errnoMessage(errno))",
                                  hint: "check the path; nothing was written")
            }
            // A path named here is followed when it is a symlink, as `find -H` does (links inside it
            // stay links): /var/lib/redis is often a link to the disk with the data, and a snapshot
            // of the link alone would hold none of it.
            var source = normalized
            if info.isSymlink, let resolved = normalized.resolved(), let target = resolved.lstat() {
                source = resolved
                info = target
            }
            let single = request.paths.count == 1 && info.isDirectory
            roots.append(FileWalker.Root(source: source, name: single ? [] : normalized.lastComponent))
        }
        let names = roots.map(\.name)
        if Set(names).count != names.count {
            throw EngineError(.usage, "two paths have the same last component; a snapshot names its top-level entries by it",
                              hint: "back them up in separate snapshots")
        }
        return roots
    }

    /// The newest snapshot of the same host and paths, whose unchanged files need not be read.
    private func findParent(paths: [String]) throws -> Snapshot? {
        guard !request.forceReread else { return nil }
        return try repository.snapshots().last {
            $0.document.hostname == request.identity.hostname && $0.document.paths.sorted() == paths.sorted()
        }
    }

    private func countTotals(_ roots: [FileWalker.Root], walker: FileWalker) throws {
        var files = 0
        var bytes: Int64 = 0
        let quiet = FileWalker { _, _ in }
        try quiet.walk(roots) { entry in
            if entry.info.isRegularFile {
                files += 1
                bytes += Int64(entry.info.st_size)
            }
        }
        progress.setTotals(files: files, bytes: bytes)
    }
}

/// The RDB counts a snapshot records, gathered while its files are read: from the RDBs that were
/// read, or (for an RDB unchanged since the parent snapshot, which is not read again) the parent's.
///
/// The snapshot's `rdb_file` — what `redis-restore` and `drill` load as the server's dump — is the
/// server's own RDB or none, never whichever RDB sorts first: see `serverRDB(dbFilename:)`.
struct RDBFacts {
    /// The summaries of the files read that are valid RDBs, by path in the snapshot.
    var read: [String: RDBSummary] = [:]
    /// Files unchanged since the parent snapshot (not read again).
    var unchanged = Set<String>()
    /// Top-level files (and hard links to files), read or not.
    private(set) var topLevelFiles = Set<String>()
    /// Top-level files unchanged since the parent that start like an RDB or are named `*.rdb`.
    private(set) var unchangedTopLevelRDBs = Set<String>()

    mutating func noteFile(_ path: String) {
        if !path.contains("/") { topLevelFiles.insert(path) }
    }

    mutating func noteUnchanged(_ path: String, looksLikeRDB: Bool) {
        unchanged.insert(path)
        if looksLikeRDB && !path.contains("/") { unchangedTopLevelRDBs.insert(path) }
    }

    /// A hard link to a file walked earlier holds what that file holds.
    mutating func noteLink(_ path: String, to first: String) {
        noteFile(path)
        if let summary = read[first] { read[path] = summary }
        if unchanged.contains(first) { noteUnchanged(path, looksLikeRDB: unchangedTopLevelRDBs.contains(first)) }
    }

    /// The file recorded as the snapshot's RDB: exactly the server's `dbfilename` for a live
    /// capture; for a directory, `dump.rdb` at the top level if there is one, else the one top-level
    /// RDB whose name is not a leftover (`*.old`, `*.old.N`, `*.bak`, `*~`, `temp-*.rdb`); else none.
    func serverRDB(dbFilename: String?) -> String? {
        if let dbFilename { return dbFilename }
        if topLevelFiles.contains("dump.rdb") { return "dump.rdb" }
        let named = topLevelRDBs.filter { !RedisLeftover.isLeftover($0) }
        return named.count == 1 ? named.first : nil
    }

    /// Top-level files read as RDBs, or unchanged and looking like one.
    private var topLevelRDBs: Set<String> {
        Set(read.keys.filter { !$0.contains("/") }).union(unchangedTopLevelRDBs)
    }

    func metadata(adding base: [String: String]?, parent: [String: String]?) -> [String: String]? {
        var metadata = base ?? [:]
        if let main = serverRDB(dbFilename: base?["dbfilename"]) {
            if let summary = read[main] {
                metadata.merge(RedisDirectoryValidator.metadata(of: summary, file: main)) { _, new in new }
            } else if let parent, parent["rdb_file"] == main, unchanged.contains(main) {
                for key in ["rdb_file", "rdb_version", "keys", "keys_per_db", "expires", "functions"] { metadata[key] = parent[key] }
            }
        }
        // The AOF base of the server's AOF folder, not of one an earlier restore moved aside.
        let isAOFBase = { (path: String) in
            path.contains("/") && path.contains(".base.") && !RedisLeftover.isMovedAside(String(path.prefix { $0 != "/" }))
        }
        if let base = read.keys.sorted().first(where: isAOFBase) {
            metadata["aof_base_keys"] = String(read[base]!.keys)
        } else if let parent, let keys = parent["aof_base_keys"], unchanged.contains(where: isAOFBase) {
            metadata["aof_base_keys"] = keys
        }
        // A directory with RDBs but none of them the server's still records that it holds Redis
        // data, so redis-restore and drill can say why they refuse it.
        if metadata.isEmpty && topLevelRDBs.isEmpty { return nil }
        if base == nil { metadata["capture"] = "directory" }
        return metadata
    }
}

struct HardLinkKey: Hashable {
    var device: UInt64
    var inode: UInt64
}

extension TreeNode {
    /// A node carrying the metadata of a walk entry (kind set to file or directory; callers adjust).
    init(_ entry: WalkEntry) {
        self.init(kind: entry.info.isDirectory ? .directory : .file, path: entry.path, mode: 0, uid: 0, gid: 0, size: 0,
                  modificationSeconds: 0, modificationNanoseconds: 0, changeSeconds: 0, changeNanoseconds: 0,
                  inode: 0, device: 0)
        refresh(from: entry.info)
    }

    /// Takes the metadata of `info` (kind and path stay).
    mutating func refresh(from info: stat) {
        mode = UInt32(info.st_mode & 0o7777)
        uid = info.st_uid
        gid = info.st_gid
        size = info.isRegularFile ? Int64(info.st_size) : 0
        modificationSeconds = Int64(info.st_mtim.tv_sec)
        modificationNanoseconds = Int32(info.st_mtim.tv_nsec)
        changeSeconds = Int64(info.st_ctim.tv_sec)
        changeNanoseconds = Int32(info.st_ctim.tv_nsec)
        inode = UInt64(info.st_ino)
        device = UInt64(info.st_dev)
    }
}
