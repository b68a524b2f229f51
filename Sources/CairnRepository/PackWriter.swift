import Glibc
import CairnBackends
import CairnCatalog
import CairnCodec
import CairnCore
import Foundation

/// Appends sealed blobs to a pack file in the store's spool directory, then seals the header,
/// names the pack by the SHA-256 of its bytes and hands it to the store.
///
/// With `directIO` (a store whose spool file is the object, `ObjectStore.spoolIsFinal`) the file
/// is written with O_DIRECT from an aligned staging buffer, in whole blocks (the last one padded,
/// then the file truncated to its size), so a pack goes to the disk once instead of being copied
/// into newly allocated page-cache pages first, and a backup does not push the host's cache out.
/// Where the file system refuses direct I/O, it is written through the page cache.
///
/// With `md5` (a remote store, `ObjectStore.wantsContentDigests`) the MD5 is computed as the bytes
/// are written, so the upload sends it without reading the file again; the server then checks what
/// it receives against what was written.
final class PackWriter {
    private let path: String
    private let layout: PackLayout
    private var fd: Int32
    private var digest = StreamingSHA256()
    private var md5: StreamingMD5?
    private(set) var entries: [PackEntry] = []
    private(set) var size: Int64 = 0
    /// Direct I/O: bytes not yet written, from file offset `staged`.
    private var staging: UnsafeMutableRawBufferPointer?
    private var stagedCount = 0
    private var staged: Int64 = 0

    static let block = 4096
    static let stagingBytes = 1 << 20

    init(spoolDirectory: String, layout: PackLayout, directIO: Bool = false, md5: Bool = false) throws {
        self.layout = layout
        self.md5 = md5 ? StreamingMD5() : nil
        var random = [UInt8](repeating: 0, count: 12)
        for index in random.indices { random[index] = UInt8.random(in: 0...255) }
        path = spoolDirectory + "/pack-" + Hex.encode(random)
        let flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC
        fd = -1
        if directIO && systemODirect != 0 {
            fd = open(path, flags | systemODirect, 0o600)
            if fd >= 0 { staging = .allocate(byteCount: Self.stagingBytes, alignment: Self.block) }
        }
        if fd < 0 { fd = open(path, flags, 0o600) }
        guard fd >= 0 else { throw StoreError.fromErrno(errno, "create", path: path) }
    }

    deinit {
        if fd >= 0 { close(fd) }
        staging?.deallocate()
    }

    var isEmpty: Bool { entries.isEmpty }

    /// Appends one sealed blob holding `chunks`: its frame's plaintext is their bytes back to back
    /// from `frameOffset` on (one chunk at 0, unless a prune copies what is left of a frame).
    func append(_ sealed: [UInt8], chunks: [(id: ChunkID, rawLength: Int, frameOffset: Int)], kind: BlobKind,
                compression: CompressionAlgorithm) throws {
        try sealed.withUnsafeBytes { try write($0) }
        record(storedLength: sealed.count, chunks: chunks, kind: kind, compression: compression)
    }

    /// `append` for a blob sealed in two pieces, written one after the other.
    func append(_ sealed: SealedBlob, chunks: [(id: ChunkID, rawLength: Int, frameOffset: Int)], kind: BlobKind,
                compression: CompressionAlgorithm) throws {
        try withUnsafeBytes(of: sealed.algorithm) { try write($0) }
        try sealed.body.withUnsafeBytes { try write($0) }
        record(storedLength: sealed.count, chunks: chunks, kind: kind, compression: compression)
    }

    /// Lists the chunks of the blob that ends where the pack now ends.
    private func record(storedLength: Int, chunks: [(id: ChunkID, rawLength: Int, frameOffset: Int)], kind: BlobKind,
                        compression: CompressionAlgorithm) {
        precondition(!chunks.isEmpty, "a blob holds at least one chunk")
        precondition(layout.framesChunks || (chunks.count == 1 && chunks[0].frameOffset == 0), "format 1 holds one chunk per blob")
        let offset = size - Int64(storedLength)
        for chunk in chunks {
            entries.append(PackEntry(chunk: chunk.id, kind: kind, compression: compression.rawValue, offset: offset,
                                     storedLength: Int32(storedLength), rawLength: Int32(chunk.rawLength),
                                     frameOffset: Int32(chunk.frameOffset)))
        }
    }

    private func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    private func write(_ buffer: UnsafeRawBufferPointer) throws {
        digest.update(buffer)
        md5?.update(buffer)
        if let staging {
            var done = 0
            while done < buffer.count {
                let take = min(buffer.count - done, staging.count - stagedCount)
                (staging.baseAddress! + stagedCount).copyMemory(from: buffer.baseAddress! + done, byteCount: take)
                stagedCount += take
                done += take
                if stagedCount == staging.count { try flushStaging(final: false) }
            }
        } else {
            try writeAll(buffer, at: size)
        }
        size += Int64(buffer.count)
    }

    /// Writes the staged whole blocks (all of them, the last padded with zeros, when `final`) and
    /// keeps a partial block for the next write.
    private func flushStaging(final: Bool) throws {
        guard let staging, stagedCount > 0 else { return }
        let whole = stagedCount / Self.block * Self.block
        var writing = whole
        if final && whole < stagedCount {
            writing = whole + Self.block
            (staging.baseAddress! + stagedCount).initializeMemory(as: UInt8.self, repeating: 0, count: writing - stagedCount)
        }
        try writeAll(UnsafeRawBufferPointer(start: staging.baseAddress, count: writing), at: staged)
        let kept = stagedCount - min(stagedCount, writing)
        if kept > 0 { staging.baseAddress!.copyMemory(from: staging.baseAddress! + writing, byteCount: kept) }
        staged += Int64(writing)
        stagedCount = kept
    }

    private func writeAll(_ buffer: UnsafeRawBufferPointer, at offset: Int64) throws {
        let code = positionalWriteAll(fd, buffer, at: offset)
        guard code == 0 else { throw StoreError.fromErrno(code, "write", path: path) }
    }

    /// Writes the header and trailer and closes the file; returns the pack's record, the spool path
    /// to upload (the caller hands it to the store, or discards it) and, with `md5`, its digests.
    func seal(envelope: Envelope) throws -> (record: PackRecord, path: String, digests: ContentDigests?) {
        let header = envelope.seal(PackFormat.encodeHeader(entries, layout: layout))
        try write(header)
        var trailer = ByteWriter()
        trailer.u32(UInt32(header.count))
        try write(trailer.bytes)
        if staging != nil {
            try flushStaging(final: true)
            guard ftruncate(fd, off_t(size)) == 0 else { throw StoreError.fromErrno(errno, "truncate", path: path) }
        }
        let id = PackID(digest.finalize())
        close(fd)
        fd = -1   // closed: deinit must not close the number again (by then it may be someone else's file or socket)
        let digests = md5.map { var state = $0; return ContentDigests(md5: state.finalize(), sha256: id.hash.bytes, size: size) }
        return (PackRecord(id: id, size: size, entries: entries), path, digests)
    }

    /// Seals the pack, uploads it on the calling thread, and returns its record.
    func finish(envelope: Envelope, store: any ObjectStore) throws -> PackRecord {
        let (record, path, digests) = try seal(envelope: envelope)
        try store.put(ObjectKey(.data, record.id.hex), contentsOf: path, digestsIfKnown: digests)
        return record
    }

    /// Removes the unfinished spool file (after an error).
    func discard() {
        unlink(path)
    }
}

extension PackWriter {
    /// A pack writer the way `repository`'s store wants its packs: spooled where the store says,
    /// written directly when the spool file is the final one, with the MD5 a remote store sends.
    convenience init(for repository: Repository) throws {
        try self.init(spoolDirectory: repository.store.spoolDirectory, layout: repository.packLayout,
                      directIO: repository.store.spoolIsFinal, md5: repository.store.wantsContentDigests)
    }
}
