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
    func read(_ source: SystemPath, name: String, into tree: TreeWriter, node: TreeNode) throws -> Int64 {
        lastSummary = nil
        let fd = source.withCString { open($0, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) }
        guard fd >= 0 else { throw FileReadError(message: "cannot open: \(errnoMessage(errno))") }
        defer { close(fd) }
        posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
        let namedRDB = name.hasSuffix(".rdb")
        if (validateRDBs && namedRDB) || (node.size >= 64 && Self.looksLikeRDB(fd)) {
            let (bytes, summary) = try readRDB(fd, name: name, into: tree, node: node, strict: validateRDBs,
                                               allowTrailingData: !namedRDB)
            lastSummary = summary
            return bytes
        }
        var started = false
        return try consume(into: tree, node: node) { space in
            while true {
                let got = Glibc.read(fd, space.baseAddress!, space.count)
                if got >= 0 {
                    started = true
                    return got
                }
                if errno == EINTR { continue }
                if started { throw EngineError(.failure, "\(source.string) could not be read to the end: \(errnoMessage(errno))") }
                throw FileReadError(message: "cannot read: \(errnoMessage(errno))")
            }
        }
    }

    /// Chunks and stores what `fill` produces (it returns 0 at the end) as the content of `node`,
    /// which is written first (its size corrected if the file was shorter). Returns the bytes consumed.
    func consume(into tree: TreeWriter, node: TreeNode, fill: (UnsafeMutableRawBufferPointer) throws -> Int) throws -> Int64 {
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
                var recorded = node
                recorded.size = endOfFile ? Int64(filled) : node.size
                try tree.append(recorded)
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
