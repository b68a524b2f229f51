import CairnCore
import CairnRepository
import Foundation
import Glibc
import Logging

/// Where and how to restore.
public struct RestoreRequest: Sendable {
    public var target: String
    /// Shell globs over snapshot paths; a match on a directory includes everything below it.
    public var includes: [String] = []
    /// Restore over existing files, moving each aside as NAME.old first.
    public var force = false
    /// Put back numeric uid/gid (needs root); false skips it silently.
    public var restoreOwnership = true
    public var workers = ProcessInfo.processInfo.activeProcessorCount
    /// Write restored files with O_DIRECT (bypassing the page cache) where the file system allows
    /// it (the CLI turns it off with `CAIRN_RESTORE_DIRECT_IO=0`).
    public var directIO = true
    /// Files at least this large are restored two at a time, sharing the chunks they have in
    /// common through a `DecodedChunkCache` (nil: one file at a time). Local repositories only.
    public var sideBySideMinimumBytes: Int64? = 64 << 20
    /// Asked between files and between the batches of a file: true stops the restore (the CLI
    /// answers true once SIGINT or SIGTERM came). The file being written is removed, files
    /// already in place stay, and the restore throws `RestoreJob.interrupted(target:)`.
    public var shouldStop: @Sendable () -> Bool = { false }

    public init(target: String) { self.target = target }
}

public struct RestoreResult: Sendable {
    public var files = 0
    public var directories = 0
    public var links = 0
    public var bytes: Int64 = 0
    /// Of `bytes`, those copied from files this restore had already written (chunks that recur,
    /// like a dump.rdb's in the AOF base) rather than read from the repository again.
    public var copiedBytes: Int64 = 0
    /// Of `bytes`, those copied from chunks decoded a moment before for a file restored side by
    /// side with this one (see `DecodedChunkCache`).
    public var sharedBytes: Int64 = 0
    /// Files written with direct I/O (bypassing the page cache); the others went through it.
    public var directIOFiles = 0
    /// Existing files moved aside as `*.old`.
    public var movedAside: [String] = []
    /// Files, symlinks and hard links an interrupted restore into the same target had already
    /// put in place, kept as they are (counted in `files`, `links` and `bytes` too).
    public var kept = 0
    /// Files that failed (damaged chunks, I/O errors); each was left out, not half-written.
    public var failures: [String] = []
    public var warnings: [String] = []
}

/// `cairn restore`: writes a snapshot's files under a target directory, each through a temporary
/// name renamed into place, verifying every chunk it reads.
public struct RestoreJob {
    let repository: Repository
    let snapshot: Snapshot
    let request: RestoreRequest
    let progress: WorkProgress
    let logger: Logger

    public init(repository: Repository, snapshot: Snapshot, request: RestoreRequest, progress: WorkProgress = WorkProgress(), logger: Logger) {
        self.repository = repository
        self.snapshot = snapshot
        self.request = request
        self.progress = progress
        self.logger = logger
    }

    public func run() throws -> RestoreResult {
        var target = SystemPath(URL(fileURLWithPath: request.target).standardizedFileURL.path)
        // A symlink to a directory (/var/lib/redis on a data disk) is restored into that directory.
        if let info = target.lstat(), info.isSymlink, let resolved = target.resolved(), resolved.lstat()?.isDirectory == true {
            target = resolved
        }
        if let info = target.lstat(), !info.isDirectory {
            throw EngineError(.targetConflict, "the target \(request.target) exists and is not a directory",
                              hint: "choose a directory (it is created when missing)")
        }
        let matcher = IncludeMatcher(globs: request.includes)
        // A target an earlier restore created and did not finish (the marker says so) is finished:
        // what that restore put in place is kept, the rest restored.
        let marker = target.appending(Array(Self.unfinishedMarker.utf8))
        let existed = target.lstat() != nil
        let resuming = existed && marker.lstat() != nil
        try preflight(target: target, matcher: matcher, resuming: resuming)
        // The snapshot's root gives its mode, owner and time to a target this restore creates, or
        // finishes: else the retry an interruption asks for would leave it 0700 and root's, shut to
        // a Redis that runs as redis. A directory that was there before keeps its own.
        let createdTarget = !existed || resuming
        if !existed {
            try makeDirectories(target)
            try writeMarker(marker)
        }
        if resuming { removeTemporaryFiles(under: target) }
        var result = RestoreResult()
        let writer = RestoreWriter(target: target, request: request, repository: repository, progress: progress)
        var directories: [(SystemPath, TreeNode)] = []
        let tree = try TreeReader(repository: repository, snapshot: snapshot.document)
        // A large file waits here for a second one, and the two are then restored side by side.
        // Only from a local store: from a remote one, the two streams' claims would split the
        // ranged GETs into many small requests (a ~1 GB data directory from the Swift All-In-One:
        // 94 MB/s side by side, 441 MB/s one file at a time, reading the shared chunks back from
        // the disk), so files come one at a time there.
        let sideBySide = repository.store.readConcurrency == 1
        var waiting: FileToRestore?
        var paths = RestorePaths()
        while let node = try tree.next() {
            guard matcher.includes(node.path) else { continue }
            if request.shouldStop() { throw Self.interrupted(target: request.target) }
            let destination = target.appending(node.path)
            if node.path.isEmpty {
                // The snapshot's root is the target; counted as backup counts it.
                if createdTarget { directories.append((destination, node)) }
                if node.kind == .directory { result.directories += 1 }
                continue
            }
            try paths.check(node)
            try ensureParent(of: node.path, target: target, matcher: matcher)
            if resuming, node.kind != .directory, Self.alreadyRestored(destination, node, target: target) {
                if node.kind == .file {
                    result.files += 1
                    result.bytes += node.size
                    progress.addBytes(node.size)
                } else {
                    result.links += 1
                }
                result.kept += 1
                progress.finishFile(node.pathString)
                continue
            }
            if node.kind == .hardlink, let file = waiting {
                // The link's first name may be the waiting file.
                waiting = nil
                try restore(file, writer: writer, result: &result)
            }
            if node.kind == .file {
                if let minimum = request.sideBySideMinimumBytes, node.size >= minimum, sideBySide {
                    let file = FileToRestore(destination: destination, node: node,
                                             chunks: tree.fork(reader: BlobReader(repository: repository, workers: 1)))
                    if let first = waiting {
                        waiting = nil
                        try restoreSideBySide(first, file, writer: writer, result: &result)
                    } else {
                        waiting = file
                    }
                } else {
                    try restore(FileToRestore(destination: destination, node: node, chunks: tree), writer: writer, result: &result)
                }
                continue
            }
            do {
                switch node.kind {
                case .directory:
                    try writer.directory(destination)
                    directories.append((destination, node))
                    result.directories += 1
                case .file:
                    break   // above
                case .symlink:
                    try writer.symlink(destination, node: node, result: &result)
                    result.links += 1
                case .hardlink:
                    try writer.hardlink(destination, node: node, result: &result)
                    result.links += 1
                }
            } catch let error as CairnFailure where error.category == .integrity {
                result.failures.append("\(node.pathString): \(error.message)")
                logger.error("could not restore \(node.pathString): \(error.message)")
            }
            progress.finishFile(node.pathString)
        }
        if let file = waiting { try restore(file, writer: writer, result: &result) }
        if createdTarget { _ = marker.withCString { unlink($0) } }
        // Directory metadata last, deepest first, so writing into them does not change their mtime.
        for (path, node) in directories.reversed() {
            writer.applyMetadata(path, node: node, result: &result)
        }
        if !writer.ownershipWarning.isEmpty { result.warnings.append(writer.ownershipWarning) }
        return result
    }

    /// The file a restore writes first in a target it creates and removes last: a restore that
    /// finds it finishes one that did not, and gives the target the snapshot root's metadata.
    public static let unfinishedMarker = "CAIRN-RESTORE-UNFINISHED"

    private func writeMarker(_ marker: SystemPath) throws {
        let text = "cairn restore of snapshot \(snapshot.id.short) into this directory has not finished: "
            + "run the same restore again to finish it, or remove the directory.\n"
        let fd = marker.withCString { open($0, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600) }
        guard fd >= 0 else { throw EngineError(.failure, "cannot create \(marker.string): \(errnoMessage(errno))") }
        defer { close(fd) }
        _ = text.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
    }

    /// Whether `destination` holds what `node` describes as a restore leaves it: each is written
    /// under a temporary name and renamed into place complete, a file with its metadata set and
    /// synced. So a file of the node's size and modification time, a symlink to its target, or a
    /// hard link to its first name is done; anything else is restored (again).
    static func alreadyRestored(_ destination: SystemPath, _ node: TreeNode, target: SystemPath) -> Bool {
        guard let info = destination.lstat() else { return false }
        switch node.kind {
        case .file:
            return info.isRegularFile && Int64(info.st_size) == node.size
                && Int64(info.st_mtim.tv_sec) == node.modificationSeconds
                && Int32(info.st_mtim.tv_nsec) == node.modificationNanoseconds
        case .symlink:
            return info.isSymlink && destination.linkTarget() == node.linkTarget
        case .hardlink:
            guard let first = target.appending(node.linkTarget).lstat() else { return false }
            return info.isRegularFile && info.st_ino == first.st_ino && info.st_dev == first.st_dev
        case .directory:
            return info.isDirectory
        }
    }

    /// Removes the half-written files an earlier restore into this target left under their
    /// temporary names when it was killed (`kill -9`, a crash): the target is cairn's (it holds
    /// the unfinished marker), and such a file can be as large as the largest in the snapshot.
    private func removeTemporaryFiles(under target: SystemPath) {
        let walker = FileWalker { _, _ in }
        try? walker.walk([FileWalker.Root(source: target, name: [])]) { entry in
            if entry.info.isRegularFile && RestoreWriter.isTemporaryName(entry.source.lastComponent) {
                _ = entry.source.withCString { unlink($0) }
                logger.info("removed \(entry.source.string), left half-written by the interrupted restore")
            }
        }
    }

    /// What a restore stopped by `RestoreRequest.shouldStop` throws.
    static func interrupted(target: String) -> EngineError {
        EngineError(.failure, "the restore was interrupted: files already restored stay under \(target); none is left half-written",
                    hint: "run the same restore again to finish it, keeping what is in place (into a directory it did not "
                        + "create, with --force: files in the way are moved aside as NAME.old)")
    }

    /// A file to restore, with a tree reader at its chunk list (its own when the restore is put off).
    private struct FileToRestore {
        var destination: SystemPath
        var node: TreeNode
        var chunks: TreeReader
    }

    /// Chunks decoded for one of two files restored side by side and kept for the other. The two
    /// streams stay close (the one behind finds its chunks here and catches up), so this covers
    /// the distance between them; each stream's batches are halved to leave memory for it.
    static let sideBySideCacheBytes = 16 << 20

    /// Restores one file; a damaged chunk fails that file only (it is listed, not half-written).
    private func restore(_ file: FileToRestore, writer: RestoreWriter, reader: BlobReader? = nil,
                         cache: DecodedChunkCache? = nil, result: inout RestoreResult) throws {
        do {
            result.bytes += try writer.file(file.destination, node: file.node, chunks: file.chunks, reader: reader,
                                            cache: cache, batchBytes: cache == nil ? 8 << 20 : 4 << 20, result: &result)
            result.files += 1
        } catch let error as CairnFailure where error.category == .integrity {
            result.failures.append("\(file.node.pathString): \(error.message)")
            logger.error("could not restore \(file.node.pathString): \(error.message)")
        }
        progress.finishFile(file.node.pathString)
    }

    /// Restores two large files at once, `second` on a thread of its own with its own reader: the
    /// CPU decodes while the disk writes, and a chunk the two share (a dump.rdb and the AOF base
    /// share most) is decoded once, not decoded for one and read back from the disk for the other.
    private func restoreSideBySide(_ first: FileToRestore, _ second: FileToRestore, writer: RestoreWriter,
                                   result: inout RestoreResult) throws {
        let cache = DecodedChunkCache(capacity: Self.sideBySideCacheBytes)
        let reader = BlobReader(repository: repository, workers: request.workers, recentFrames: writer.reader.recentFrames)
        let job = self
        let lane = SideLane { partial in
            try job.restore(second, writer: writer, reader: reader, cache: cache, result: &partial)
        }
        let thread = Thread { lane.run() }
        thread.name = "cairn-restore-side"
        thread.start()
        var failure: (any Error)?
        do {
            try restore(first, writer: writer, cache: cache, result: &result)
        } catch {
            failure = error
        }
        lane.done.wait()
        let partial = lane.result
        result.bytes += partial.bytes
        result.files += partial.files
        result.copiedBytes += partial.copiedBytes
        result.directIOFiles += partial.directIOFiles
        result.movedAside += partial.movedAside
        result.failures += partial.failures
        result.sharedBytes += cache.servedBytes
        if let failure { throw failure }
        if let error = lane.error { throw error }
    }

    /// What the side thread of `restoreSideBySide` hands back.
    private final class SideLane: @unchecked Sendable {
        let done = DispatchSemaphore(value: 0)
        var result = RestoreResult()
        var error: (any Error)?
        private let body: (inout RestoreResult) throws -> Void

        init(_ body: @escaping (inout RestoreResult) throws -> Void) { self.body = body }

        func run() {
            var partial = RestoreResult()
            do {
                try body(&partial)
            } catch {
                self.error = error
            }
            result = partial
            done.signal()
        }
    }

    /// Refuses, before writing anything, to overwrite files unless `force`.
    private func preflight(target: SystemPath, matcher: IncludeMatcher, resuming: Bool) throws {
        guard target.lstat() != nil, !request.force else { return }
        var conflicts: [String] = []
        var total = 0
        let tree = try TreeReader(repository: repository, snapshot: snapshot.document)
        while let node = try tree.next() {
            guard !node.path.isEmpty, matcher.includes(node.path) else { continue }
            guard let existing = target.appending(node.path).lstat() else { continue }
            if existing.isDirectory && node.kind == .directory { continue }
            if resuming && Self.alreadyRestored(target.appending(node.path), node, target: target) { continue }
            total += 1
            if conflicts.count < 5 { conflicts.append(target.appending(node.path).string) }
        }
        if total > 0 {
            throw EngineError(.targetConflict,
                              "\(total) file(s) already exist under \(target.string), e.g. \(conflicts.joined(separator: ", "))",
                              hint: "restore into an empty directory, or add --force to move each existing file aside as NAME.old")
        }
    }

    private func ensureParent(of path: [UInt8], target: SystemPath, matcher: IncludeMatcher) throws {
        guard matcher.isFiltering, let slash = path.lastIndex(of: UInt8(ascii: "/")) else { return }
        try makeDirectories(target.appending(Array(path[..<slash])))
    }

    private func makeDirectories(_ path: SystemPath) throws {
        var current = SystemPath(path.bytes.first == UInt8(ascii: "/") ? "/" : ".")
        for component in path.bytes.split(separator: UInt8(ascii: "/")) {
            current = current.appending(Array(component))
            guard current.withCString({ mkdir($0, 0o700) }) != 0 else { continue }
            let code = errno
            switch code {
            case EEXIST:
                continue
            case ENOSPC, EDQUOT:
                throw EngineError(.noSpace, "cannot create \(current.string): \(errnoMessage(code))")
            case ENOTDIR:
                throw EngineError(.targetConflict, "cannot create \(current.string): \(errnoMessage(code))",
                                  hint: "a part of the target path is a file; choose a directory")
            default:
                // Not a conflict with existing files (exit 5 says "use --force"): permissions, a read-only file system.
                throw EngineError(.failure, "cannot create \(current.string): \(errnoMessage(code))",
                                  hint: "choose a --target this user can write to")
            }
        }
    }
}

/// `--include` globs: a node is included when a glob matches its path or any parent directory,
/// or when it is a parent of a match (so the directories leading to it exist).
struct IncludeMatcher {
    let globs: [String]
    var isFiltering: Bool { !globs.isEmpty }

    func includes(_ path: [UInt8]) -> Bool {
        guard isFiltering, !path.isEmpty else { return true }
        let text = String(decoding: path, as: UTF8.self)
        var prefix = ""
        for component in text.split(separator: "/", omittingEmptySubsequences: false) {
            prefix = prefix.isEmpty ? String(component) : prefix + "/" + component
            for glob in globs where fnmatch(glob, prefix, 0) == 0 || fnmatch(glob, "/" + prefix, 0) == 0 {
                return true
            }
        }
        return false
    }
}
