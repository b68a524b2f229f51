import Glibc
import CairnBackends
import CairnCatalog
import CairnCodec
import CairnCore

/// Appends sealed blobs to a pack file in the store's spool directory, then seals the header,
/// names the pack by the SHA-256 of its bytes and hands it to the store.
final class PackWriter {
    private let path: String
    private let layout: PackLayout
    private var fd: Int32
    private var digest = StreamingSHA256()
    private(set) var entries: [PackEntry] = []
    private(set) var size: Int64 = 0

    init(spoolDirectory: String, layout: PackLayout) throws {
        self.layout = layout
        var random = [UInt8](repeating: 0, count: 12)
        for index in random.indices { random[index] = UInt8.random(in: 0...255) }
        path = spoolDirectory + "/pack-" + Hex.encode(random)
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StoreError.fromErrno(errno, "create", path: path) }
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    var isEmpty: Bool { entries.isEmpty }

    /// Appends one sealed blob holding `chunks`: its frame's plaintext is their bytes back to back
    /// from `frameOffset` on (one chunk at 0, unless a prune copies what is left of a frame).
    func append(_ sealed: [UInt8], chunks: [(id: ChunkID, rawLength: Int, frameOffset: Int)], kind: BlobKind,
                compression: CompressionAlgorithm) throws {
        precondition(!chunks.isEmpty, "a blob holds at least one chunk")
        precondition(layout.framesChunks || (chunks.count == 1 && chunks[0].frameOffset == 0), "format 1 holds one chunk per blob")
        try write(sealed)
        let offset = size - Int64(sealed.count)
        for chunk in chunks {
            entries.append(PackEntry(chunk: chunk.id, kind: kind, compression: compression.rawValue, offset: offset,
                                     storedLength: Int32(sealed.count), rawLength: Int32(chunk.rawLength),
                                     frameOffset: Int32(chunk.frameOffset)))
        }
    }

    private func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { buffer in
            var done = 0
            while done < buffer.count {
                let written = Glibc.write(fd, buffer.baseAddress! + done, buffer.count - done)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw StoreError.fromErrno(errno, "write", path: path)
                }
                done += written
            }
            digest.update(buffer)
        }
        size += Int64(bytes.count)
    }

    /// Writes the header and trailer and closes the file; returns the pack's record and the
    /// spool path to upload (the caller hands it to the store, or discards it).
    func seal(envelope: Envelope) throws -> (record: PackRecord, path: String) {
        let header = envelope.seal(PackFormat.encodeHeader(entries, layout: layout))
        try write(header)
        var trailer = ByteWriter()
        trailer.u32(UInt32(header.count))
        try write(trailer.bytes)
        let id = PackID(digest.finalize())
        close(fd)
        fd = -1   // closed: deinit must not close the number again (by then it may be someone else's file or socket)
        return (PackRecord(id: id, size: size, entries: entries), path)
    }

    /// Seals the pack, uploads it on the calling thread, and returns its record.
    func finish(envelope: Envelope, store: any ObjectStore) throws -> PackRecord {
        let (record, path) = try seal(envelope: envelope)
        try store.put(ObjectKey(.data, record.id.hex), contentsOf: path)
        return record
    }

    /// Removes the unfinished spool file (after an error).
    func discard() {
        unlink(path)
    }
}
