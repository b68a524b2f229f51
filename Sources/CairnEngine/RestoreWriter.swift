import CairnBackends
import CairnCore
import CairnRepository
import Foundation
import Glibc

/// The file-system side of restore: temporary names, renames, metadata, `*.old`. Two files may
/// be written at once, each from its own thread with its own `BlobReader`.
final class RestoreWriter: @unchecked Sendable {
    let target: SystemPath
    let request: RestoreRequest
    let reader: BlobReader
    let progress: WorkProgress
    /// Chunks already restored, copied rather than decoded again when they recur.
    let restored = RestoredChunks()
    private let warningLock = NSLock()
    private var _ownershipWarning = ""
    private let isRoot = geteuid() == 0

    var ownershipWarning: String {
        warningLock.lock()
        defer { warningLock.unlock() }
        return _ownershipWarning
    }

    init(target: SystemPath, request: RestoreRequest, repository: Repository, progress: WorkProgress) {
        self.target = target
        self.request = request
        self.reader = BlobReader(repository: repository, workers: request.workers)
        self.progress = progress
    }

    func directory(_ path: SystemPath) throws {
        if let existing = path.lstat() {
            if existing.isDirectory { return }
            try moveAside(path)
        }
        guard path.withCString({ mkdir($0, 0o700) }) == 0 else {
            throw failure("cannot create directory \(path.string)")
        }
    }

    /// Writes a file through a temporary name; all-zero chunks become holes. Returns its size.
    ///
    /// With `request.directIO` (the default) the file is written with O_DIRECT in whole 4 KiB
    /// blocks, bypassing the page cache: restored data is written once to the disk, not copied into
    /// newly allocated cache pages first (on the machine of docs/BENCHMARKS.md, 2 GB took 0.8 s
    /// that way and 1.1–5.9 s through the cache). Where the file system refuses direct I/O, the
    /// file is written through the page cache instead.
    ///
    /// Another thread may write another file at the same time if it passes its own `reader`; a
    /// `cache` shared by the two lets each copy the chunks the other has just decoded.
    func file(_ path: SystemPath, node: TreeNode, chunks: TreeReader, reader: BlobReader? = nil,
              cache: DecodedChunkCache? = nil, batchBytes: Int = 8 << 20, result: inout RestoreResult) throws -> Int64 {
        let temporary = temporaryName(for: path)
        let flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC
        var direct = request.directIO && systemODirect != 0
        var fd = direct ? temporary.withCString { open($0, flags | systemODirect, 0o600) } : -1
        if fd < 0 {
            direct = false
            fd = temporary.withCString { open($0, flags, 0o600) }
        }
        guard fd >= 0 else { throw failure("cannot create \(temporary.string)") }
        var written: Int64 = 0
        let stream = RestoreStream(reader: reader ?? self.reader, tree: chunks, restored: restored, cache: cache,
                                   batchBytes: batchBytes, alignment: direct ? Self.block : 0)
        do {
            var sparse = false
            if direct {
                (written, sparse) = try writeAligned(stream, to: fd, path: temporary)
            } else {
                // The stream decodes the next batch while this one is written.
                while let batch = try stream.next() {
                    if request.shouldStop() {
                        stream.recycle(batch)
                        throw RestoreJob.interrupted(target: request.target)
                    }
                    for segment in batch.segments {
                        switch segment {
                        case .bytes(let bytes, let at):
                            if try writeSkippingZeros(fd, bytes, at: batch.offset + Int64(at), path: temporary) { sparse = true }
                        case .copy(let copy):
                            try copyRange(copy, to: fd, at: batch.offset + Int64(copy.at), path: temporary)
                        }
                    }
                    let start = batch.offset, count = batch.count
                    stream.recycle(batch)
                    written = start + Int64(count)
                    progress.addBytes(Int64(count))
                    // Start writing this batch to disk now, so the fsync before the rename has little
                    // left to wait for and dirty pages do not pile up (with a full page cache, the
                    // kernel otherwise stalls the writer to reclaim them).
                    _ = systemSyncFileRange(fd, off_t(start), off_t(count), syncFileRangeWrite)
                }
            }
            stream.wait()
            if sparse || written == 0 || direct {
                guard ftruncate(fd, off_t(written)) == 0 else { throw failure("cannot set the size of \(temporary.string)") }
            }
            guard fsync(fd) == 0 else { throw failure("cannot sync \(temporary.string)") }
            applyMetadata(fd: fd, node: node, path: temporary)
            close(fd)
        } catch {
            stream.cancel()
            close(fd)
            temporary.withCString { _ = unlink($0) }
            try? chunks.skipChunks()
            throw error
        }
        try place(temporary, at: path, result: &result)
        restored.add(stream.written, file: path)
        result.copiedBytes += stream.copiedBytes
        if direct { result.directIOFiles += 1 }
        return written
    }

    /// The direct-I/O block: file offsets, lengths and buffers of direct writes are multiples of it.
    static let block = 4096

    /// Writes the stream's batches in whole blocks: each batch's unaligned tail is carried into the
    /// next batch's lead; the last partial block is written padded with zeros (the caller truncates
    /// the file to its size). Returns the file's size and whether holes were left.
    private func writeAligned(_ stream: RestoreStream, to fd: Int32, path: SystemPath) throws -> (size: Int64, sparse: Bool) {
        let block = Self.block
        let carry = UnsafeMutableRawBufferPointer.allocate(byteCount: block, alignment: RestoreStream.Batch.bufferAlignment)
        defer { carry.deallocate() }
        var carried = 0
        var size: Int64 = 0
        var sparse = false
        while let batch = try stream.next() {
            if request.shouldStop() {
                stream.recycle(batch)
                throw RestoreJob.interrupted(target: request.target)
            }
            guard batch.lead == carried, batch.offset == size else {
                stream.recycle(batch)
                throw EngineError(.failure, "internal error restoring \(path.string): batch at \(batch.offset) (lead \(batch.lead)) "
                                  + "does not follow \(size) (\(carried) carried)")
            }
            let buffer = batch.withLead
            if carried > 0 { buffer.baseAddress!.copyMemory(from: carry.baseAddress!, byteCount: carried) }
            let whole = buffer.count & ~(block - 1)
            if whole > 0, try writeSkippingZeros(fd, UnsafeRawBufferPointer(rebasing: buffer[0..<whole]),
                                                 at: batch.offset - Int64(carried), path: path) {
                sparse = true
            }
            carried = buffer.count - whole
            if carried > 0 { carry.baseAddress!.copyMemory(from: buffer.baseAddress! + whole, byteCount: carried) }
            size = batch.offset + Int64(batch.count)
            progress.addBytes(Int64(batch.count))
            stream.recycle(batch)
        }
        if carried > 0 {
            (carry.baseAddress! + carried).initializeMemory(as: UInt8.self, repeating: 0, count: block - carried)
            if try writeSkippingZeros(fd, UnsafeRawBufferPointer(carry), at: size - Int64(carried), path: path) { sparse = true }
        }
        return (size, sparse)
    }

    func symlink(_ path: SystemPath, node: TreeNode, result: inout RestoreResult) throws {
        let temporary = temporaryName(for: path)
        let made = SystemPath(node.linkTarget).withCString { destination in
            temporary.withCString { Glibc.symlink(destination, $0) }
        }
        guard made == 0 else { throw failure("cannot create symlink \(path.string)") }
        if request.restoreOwnership {
            temporary.withCString { _ = lchown($0, node.uid, node.gid) }
        }
        setTimes(temporary, node: node, followLinks: false)
        try place(temporary, at: path, result: &result)
    }

    func hardlink(_ path: SystemPath, node: TreeNode, result: inout RestoreResult) throws {
        let existing = target.appending(node.linkTarget)
        let temporary = temporaryName(for: path)
        let made = existing.withCString { source in temporary.withCString { link(source, $0) } }
        guard made == 0 else {
            throw failure("cannot link \(path.string) to \(existing.string) (was \(node.pathString)'s first name restored?)")
        }
        try place(temporary, at: path, result: &result)
    }

    func applyMetadata(_ path: SystemPath, node: TreeNode, result: inout RestoreResult) {
        if request.restoreOwnership { changeOwner(path, node: node) }
        path.withCString { _ = chmod($0, mode_t(node.mode)) }
        setTimes(path, node: node, followLinks: true)
    }

    private func applyMetadata(fd: Int32, node: TreeNode, path: SystemPath) {
        if request.restoreOwnership {
            if isRoot {
                fchown(fd, node.uid, node.gid)
            } else if node.uid != geteuid() || node.gid != getegid() {
                noteOwnership()
            }
        }
        fchmod(fd, mode_t(node.mode))
        var times = [timespec(tv_sec: Int(node.modificationSeconds), tv_nsec: Int(node.modificationNanoseconds)),
                     timespec(tv_sec: Int(node.modificationSeconds), tv_nsec: Int(node.modificationNanoseconds))]
        futimens(fd, &times)
    }

    private func changeOwner(_ path: SystemPath, node: TreeNode) {
        if isRoot {
            path.withCString { _ = chown($0, node.uid, node.gid) }
        } else if node.uid != geteuid() || node.gid != getegid() {
            noteOwnership()
        }
    }

    private func noteOwnership() {
        warningLock.lock()
        defer { warningLock.unlock() }
        if _ownershipWarning.isEmpty {
            _ownershipWarning = "not running as root: files keep the restoring user's ownership (use --no-owner to silence this)"
        }
    }

    private func setTimes(_ path: SystemPath, node: TreeNode, followLinks: Bool) {
        var times = [timespec(tv_sec: Int(node.modificationSeconds), tv_nsec: Int(node.modificationNanoseconds)),
                     timespec(tv_sec: Int(node.modificationSeconds), tv_nsec: Int(node.modificationNanoseconds))]
        path.withCString { _ = utimensat(AT_FDCWD, $0, &times, followLinks ? 0 : AT_SYMLINK_NOFOLLOW) }
    }

    /// Renames the finished temporary into place, moving an existing file aside first.
    private func place(_ temporary: SystemPath, at path: SystemPath, result: inout RestoreResult) throws {
        if let existing = path.lstat(), !(existing.isDirectory) {
            result.movedAside.append(try moveAside(path))
        }
        let renamed = temporary.withCString { source in path.withCString { rename(source, $0) } }
        guard renamed == 0 else {
            temporary.withCString { _ = unlink($0) }
            throw failure("cannot move \(temporary.string) into place")
        }
    }

    /// Renames `path` to `path.old` (or `.old.1`, `.old.2`, … when that exists); never deletes.
    @discardableResult
    private func moveAside(_ path: SystemPath) throws -> String {
        var candidate = SystemPath(path.bytes + Array(".old".utf8))
        var counter = 1
        while candidate.lstat() != nil {
            candidate = SystemPath(path.bytes + Array(".old.\(counter)".utf8))
            counter += 1
        }
        let moved = path.withCString { source in candidate.withCString { rename(source, $0) } }
        guard moved == 0 else { throw failure("cannot move \(path.string) aside") }
        return candidate.string
    }

    private func temporaryName(for path: SystemPath) -> SystemPath {
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        return path.parent.appending(Array(".".utf8) + path.lastComponent + Array(".cairn-\(suffix)".utf8))
    }

    /// Whether `name` is one `temporaryName` makes: `.NAME.cairn-` and 1 to 8 hex digits.
    static func isTemporaryName(_ name: [UInt8]) -> Bool {
        let marker = Array(".cairn-".utf8)
        guard name.first == UInt8(ascii: "."), let dash = name.lastIndex(of: UInt8(ascii: "-")),
              dash >= marker.count, Array(name[(dash + 1 - marker.count)...dash]) == marker, dash - marker.count >= 1 else { return false }
        let digits = name[(dash + 1)...]
        return (1...8).contains(digits.count) && digits.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }

    /// Writes `bytes` at `offset`, leaving 4 KiB blocks of zeros as holes; true if any was left.
    private func writeSkippingZeros(_ fd: Int32, _ raw: UnsafeRawBufferPointer, at offset: Int64, path: SystemPath) throws -> Bool {
        let block = 4096
        var skipped = false
        do {
            var start = 0
            while start < raw.count {
                // Extend a run of non-zero blocks, then write it in one call.
                var end = start
                while end < raw.count {
                    let blockEnd = min(end + block, raw.count)
                    if blockEnd - end == block && Self.isZero(UnsafeRawBufferPointer(rebasing: raw[end..<blockEnd])) { break }
                    end = blockEnd
                }
                if end > start {
                    try writeAll(fd, UnsafeRawBufferPointer(rebasing: raw[start..<end]), at: offset + Int64(start), path: path)
                }
                if end < raw.count {
                    skipped = true
                    end += block
                }
                start = end
            }
        }
        return skipped
    }

    private static func isZero(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        while index + 8 <= bytes.count {
            if bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self) != 0 { return false }
            index += 8
        }
        while index < bytes.count {
            if bytes[index] != 0 { return false }
            index += 1
        }
        return true
    }

    /// Copies a range of a file this restore already wrote, in the kernel (copy_file_range: no
    /// trip through user space); through a buffer where the kernel cannot (another file system).
    private func copyRange(_ copy: RestoreStream.Batch.Copy, to fd: Int32, at offset: Int64, path: SystemPath) throws {
        var from = off_t(copy.sourceOffset), to = off_t(offset)
        var remaining = copy.length
        while remaining > 0 {
            let copied = systemCopyFileRange(copy.source, &from, fd, &to, remaining, 0)
            if copied > 0 {
                remaining -= copied
                continue
            }
            if copied < 0 && errno == EINTR { continue }
            if copied < 0 && (errno == ENOSPC || errno == EDQUOT) { throw failure("cannot write \(path.string)") }
            break   // not supported here, or the source ended early: copy the rest through user space
        }
        guard remaining > 0 else { return }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: min(remaining, 1 << 20), alignment: 64)
        defer { buffer.deallocate() }
        while remaining > 0 {
            let got = pread(copy.source, buffer.baseAddress!, min(remaining, buffer.count), from)
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { throw failure("cannot read back \(copy.length) restored bytes for \(path.string)") }
            try writeAll(fd, UnsafeRawBufferPointer(rebasing: buffer[0..<got]), at: Int64(to), path: path)
            from += off_t(got)
            to += off_t(got)
            remaining -= got
        }
    }

    private func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int64, path: SystemPath) throws {
        let code = positionalWriteAll(fd, bytes, at: offset)
        guard code == 0 else {
            errno = code
            throw failure("cannot write \(path.string)")
        }
    }

    private func failure(_ message: String) -> EngineError {
        let code = errno
        guard code == ENOSPC || code == EDQUOT else { return EngineError(.failure, "\(message): \(errnoMessage(code))") }
        return EngineError(.noSpace, "\(message): \(errnoMessage(code))",
                           hint: "the file being written was removed; free space under --target (`cairn snapshots` shows the "
                             + "snapshot's size), or restore part of it with --include, then run the restore again")
    }
}

/// glibc's copy_file_range(2), which Swift's Glibc module does not import.
@_silgen_name("copy_file_range")
private func systemCopyFileRange(_ input: Int32, _ inputOffset: UnsafeMutablePointer<off_t>?, _ output: Int32,
                                 _ outputOffset: UnsafeMutablePointer<off_t>?, _ length: Int, _ flags: UInt32) -> Int

/// glibc's sync_file_range(2) (not imported by Swift's Glibc module) and SYNC_FILE_RANGE_WRITE.
@_silgen_name("sync_file_range")
private func systemSyncFileRange(_ fd: Int32, _ offset: off_t, _ count: off_t, _ flags: UInt32) -> Int32
private let syncFileRangeWrite: UInt32 = 2
