import CairnCore
import CairnRedis
import CairnRepository
import Glibc

/// A file could not be read; the backup goes on without it.
struct FileReadError: Error {
    var message: String
}

/// Reads a file in large segments, cuts it with the content-defined chunker, and hands each
/// segment's chunks to the blob writer, appending their ids to the tree. One segment buffer
/// is reused for every file, so memory does not grow with file size.
final class FileChunkReader {
    let repository: Repository
    let blobs: BlobWriter
    let progress: WorkProgress
    let faults: FaultInjector
    let buffer: UnsafeMutableRawBufferPointer
    /// A second window of the same size, so record chunking cuts one while the other is hashed.
    let spareBuffer: UnsafeMutableRawBufferPointer
    var chunkedBytes: Int64 = 0
    /// Validate RDB files while chunking them: a file named `*.rdb`, or one that starts like an
    /// RDB, must parse to its checksum, or `read` throws (and the backup commits nothing).
    var validateRDBs = false
    /// The summary of the last file read, when it was a valid RDB.
    private(set) var lastSummary: RDBSummary?
    /// How the last file read changed while it was read (a warning), or nil.
    private(set) var lastChange: String?

    init(repository: Repository, blobs: BlobWriter, progress: WorkProgress, faults: FaultInjector) {
        self.repository = repository
        self.blobs = blobs
        self.progress = progress
        self.faults = faults
        let size = max(16 << 20, repository.config.chunker.maximumSize * 4)
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
        spareBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
    }

    deinit {
        buffer.deallocate()
        spareBuffer.deallocate()
    }

    /// Reads the file at `source`, writes `node` and its chunk list to `tree`; returns bytes read.
    /// `name` is how messages call the file (its path in the snapshot).
    ///
    /// The node takes the opened file's `fstat` (the walk's `lstat` may be of a file since
    /// replaced), and the snapshot's size and content agree whatever the file does meanwhile (see
    /// `SizedRead`). When the file changed while it was read, `lastChange` says how; its new size
    /// or time makes the next backup read it again.
    func read(_ source: SystemPath, name: String, into tree: TreeWriter, node: TreeNode) throws -> Int64 {
        lastSummary = nil
        lastChange = nil
        // O_NONBLOCK: a FIFO put in the file's place must not block the backup at open.
        let fd = source.withCString { open($0, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK) }
        guard fd >= 0 else { throw FileReadError(message: "cannot open: \(errnoMessage(errno))") }
        defer { close(fd) }
        var opened = stat()
        guard fstat(fd, &opened) == 0 else { throw FileReadError(message: "cannot stat: \(errnoMessage(errno))") }
        guard opened.isRegularFile else { throw FileReadError(message: "skipped: no longer a regular file") }
        var node = node
        node.refresh(from: opened)
        posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
        var file = SizedRead(fd: fd, path: source.string)
        defer { lastChange = file.change(since: opened) }
        let namedRDB = name.hasSuffix(".rdb")
        if (validateRDBs && namedRDB) || (node.size >= 64 && Self.looksLikeRDB(fd)) {
            file.record(size: node.size)   // the record chunker writes the node first
            let (bytes, summary) = try readRDB(name: name, into: tree, node: node, sizeKnown: true, strict: validateRDBs,
                                               allowTrailingData: !namedRDB) { try file.fill($0) }
            lastSummary = summary
            return bytes
        }
        return try consume(into: tree, node: node, fill: { try file.fill($0) }, recorded: { file.record(size: $0) })
    }

    /// Chunks and stores what `fill` produces (it returns 0 at the end) as the content of `node`,
    /// which is written once the first window is read: with the size read when that was all, else
    /// with its own (or the window's, if larger), which `recorded` receives and `fill` must then
    /// deliver exactly. Returns the bytes consumed.
    func consume(into tree: TreeWriter, node: TreeNode, fill: (UnsafeMutableRawBufferPointer) throws -> Int,
                 recorded: (Int64) -> Void) throws -> Int64 {
        let maximum = repository.config.chunker.maximumSize
        let chunker = repository.chunker
        var filled = 0
        var total: Int64 = 0
        var endOfFile = false
        var started = false
        while true {
            while !endOfFile && filled < buffer.count {
                let got = try fill(UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
                if got == 0 { endOfFile = true }
                filled += got
            }
            if !started {
                var first = node
                first.size = endOfFile ? Int64(filled) : max(node.size, Int64(filled))
                try tree.append(first)
                recorded(first.size)
            }
            started = true
            var lengths: [Int] = []
            var position = 0
            while position < filled && (endOfFile || filled - position >= maximum) {
                let length = chunker.nextChunkLength(in: UnsafeRawBufferPointer(rebasing: buffer[position..<filled]))
                lengths.append(length)
                position += length
            }
            if !lengths.isEmpty {
                let ids = try blobs.store(UnsafeRawBufferPointer(rebasing: buffer[0..<position]), lengths: lengths, kind: .data)
                try tree.append(chunks: ids)
            }
            total += Int64(position)
            progress.addBytes(Int64(position))
            chunkedBytes += Int64(position)
            if chunkedBytes >= faults.chunkedBytesThreshold { faults.reach(.duringChunking) }
            if endOfFile && position == filled { break }
            buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + position, byteCount: filled - position)
            filled -= position
        }
        try tree.endChunks()
        return total
    }
}

/// A file read so that the snapshot's size and its content agree, whatever the file does while it
/// is read. Until its node is written (`record(size:)`) it reads what there is; from then on
/// exactly the size recorded, as GNU tar does: a file that grows is cut there, one that shrinks
/// is padded with zeros.
struct SizedRead {
    let fd: Int32
    let path: String
    /// The size the node holds, once written.
    private(set) var recorded: Int64?
    private(set) var offset: Int64 = 0
    /// Where the file ended.
    private(set) var endedAt: Int64?

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    mutating func record(size: Int64) { recorded = size }

    /// Fills `space` with the next bytes (zeros past the file's end, up to the size recorded);
    /// 0 at the end. A read error before the first byte leaves the file out of the snapshot;
    /// after it, fails the backup (the file's node may be in the tree by then).
    mutating func fill(_ space: UnsafeMutableRawBufferPointer) throws -> Int {
        let wanted = recorded.map { Int(min(Int64(space.count), $0 - offset)) } ?? space.count
        guard wanted > 0 else { return 0 }
        if endedAt == nil {
            while true {
                let got = Glibc.read(fd, space.baseAddress!, wanted)
                if got > 0 {
                    offset += Int64(got)
                    return got
                }
                if got == 0 {
                    endedAt = offset
                    break
                }
                if errno == EINTR { continue }
                if offset > 0 { throw EngineError(.failure, "\(path) could not be read to the end: \(errnoMessage(errno))") }
                throw FileReadError(message: "cannot read: \(errnoMessage(errno))")
            }
        }
        guard recorded != nil else { return 0 }
        space.baseAddress!.initializeMemory(as: UInt8.self, repeating: 0, count: wanted)
        offset += Int64(wanted)
        return wanted
    }

    /// How the file changed since `opened` (its `fstat` at open), as a warning; nil if it did not.
    func change(since opened: stat) -> String? {
        let size = recorded ?? offset
        if let endedAt, endedAt < size {
            return "shrank from \(size) to \(endedAt) bytes while it was read; the snapshot holds it padded with zeros to \(size) bytes"
        }
        var now = stat()
        guard fstat(fd, &now) == 0 else { return nil }
        if now.st_size > size {
            return "grew from \(opened.st_size) to \(now.st_size) bytes while it was read; the snapshot holds its first \(size) bytes"
        }
        if size != opened.st_size || now.st_mtim.tv_sec != opened.st_mtim.tv_sec || now.st_mtim.tv_nsec != opened.st_mtim.tv_nsec {
            return "changed while it was read; the snapshot may hold a mix of old and new content"
        }
        return nil
    }
}
