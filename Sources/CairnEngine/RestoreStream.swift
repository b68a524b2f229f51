import CairnCatalog
import CairnCore
import CairnRepository
import Foundation
import Glibc

/// Chunks this restore has already written, and where, so a chunk that appears again (a
/// dump.rdb and the AOF base usually share most of theirs) is copied from the restored file
/// instead of being looked up, read, decrypted and decompressed a second time. Only finished
/// files are recorded, and at most `capacity` chunks, which bounds memory (about 64 bytes each).
final class RestoredChunks: @unchecked Sendable {
    struct Place {
        var offset: Int64
        var file: Int32
        var length: Int32
    }

    private var places: [ChunkID: Place] = [:]
    private var files: [SystemPath] = []
    let capacity: Int

    init(capacity: Int = 512 * 1024) {
        self.capacity = capacity
    }

    func place(of id: ChunkID) -> Place? { places[id] }

    func path(of file: Int32) -> SystemPath { files[Int(file)] }

    /// Records the chunks of the file now complete at `path`.
    func add(_ chunks: [RestoreStream.WrittenChunk], file path: SystemPath) {
        guard !chunks.isEmpty, places.count < capacity else { return }
        let file = Int32(files.count)
        files.append(path)
        for chunk in chunks where places.count < capacity {
            if places[chunk.id] == nil {
                places[chunk.id] = Place(offset: chunk.offset, file: file, length: chunk.length)
            }
        }
    }
}

/// A file's content, decoded ahead of the writer: a thread reads the file's chunk ids from the
/// tree, resolves each (copy from an already restored file, or look up, read, open, decompress
/// and verify into a batch buffer) while the caller writes the previous batch. Two buffers of
/// `batchBytes` take turns, so memory stays bounded whatever the file's size.
final class RestoreStream: @unchecked Sendable {
    struct WrittenChunk {
        var id: ChunkID
        var offset: Int64
        var length: Int32
    }

    /// One decoded stretch of the file: `count` bytes at the start of `bytes`, from file offset `offset`.
    final class Batch {
        fileprivate(set) var bytes: UnsafeMutableRawBufferPointer
        fileprivate(set) var count = 0
        fileprivate(set) var offset: Int64 = 0

        init(capacity: Int) {
            bytes = .allocate(byteCount: capacity, alignment: 64)
        }

        deinit { bytes.deallocate() }

        var content: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[0..<count]) }

        fileprivate func ensureCapacity(_ needed: Int) {
            guard needed > bytes.count else { return }
            let larger = UnsafeMutableRawBufferPointer.allocate(byteCount: needed, alignment: 64)
            larger.baseAddress!.copyMemory(from: bytes.baseAddress!, byteCount: count)
            bytes.deallocate()
            bytes = larger
        }
    }

    private enum Source {
        case decode(ChunkLocation)
        case copy(RestoredChunks.Place)
    }

    private let reader: BlobReader
    private let tree: TreeReader
    private let restored: RestoredChunks
    private let batchBytes: Int
    private let condition = NSCondition()
    private var free: [Batch]
    private var ready: [Batch] = []
    private var finished = false
    private var cancelled = false
    private var running = true
    private var failure: (any Error)?
    /// Every chunk of the file with its offset, for `RestoredChunks` once the file is complete.
    private(set) var written: [WrittenChunk] = []
    /// Bytes copied from files already restored instead of decoded (read after `wait`).
    private(set) var copiedBytes: Int64 = 0

    // The producer thread's own state.
    private var resolved: [(id: ChunkID, source: Source)] = []
    private var nextResolved = 0
    private var treeDone = false
    private var fileOffset: Int64 = 0
    private var sourceFiles: [Int32: Int32] = [:]

    /// Starts decoding the chunk list `tree` is positioned at. The tree is the stream's until it
    /// has finished or `cancel` returned.
    init(reader: BlobReader, tree: TreeReader, restored: RestoredChunks, batchBytes: Int = 16 << 20) {
        self.reader = reader
        self.tree = tree
        self.restored = restored
        self.batchBytes = batchBytes
        free = [Batch(capacity: batchBytes), Batch(capacity: batchBytes)]
        let thread = Thread { [self] in produce() }
        thread.name = "cairn-restore-decode"
        thread.start()
    }

    deinit {
        for fd in sourceFiles.values { close(fd) }
    }

    /// The next decoded batch in file order, or nil at the end; throws what decoding met.
    /// Hand each batch back with `recycle` once written.
    func next() throws -> Batch? {
        condition.lock()
        defer { condition.unlock() }
        while ready.isEmpty && !finished && failure == nil { condition.wait() }
        if let failure { throw failure }
        return ready.isEmpty ? nil : ready.removeFirst()
    }

    func recycle(_ batch: Batch) {
        condition.lock()
        free.append(batch)
        condition.broadcast()
        condition.unlock()
    }

    /// Stops the producer and waits for it; afterwards the tree may be used again.
    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        while running { condition.wait() }
        condition.unlock()
    }

    /// Waits for the producer to end (after `next` returned nil or threw).
    func wait() { cancel() }

    private func produce() {
        var outcome: (any Error)?
        while true {
            condition.lock()
            while free.isEmpty && !cancelled { condition.wait() }
            if cancelled {
                condition.unlock()
                break
            }
            let batch = free.removeLast()
            condition.unlock()
            do {
                let more = try fill(batch)
                condition.lock()
                if batch.count > 0 { ready.append(batch) } else { free.append(batch) }
                if !more { finished = true }
                condition.broadcast()
                condition.unlock()
                if !more { break }
            } catch {
                outcome = error
                break
            }
        }
        condition.lock()
        if let outcome { failure = outcome }
        running = false
        condition.broadcast()
        condition.unlock()
    }

    /// Fills `batch` with the next chunks; false when the file's chunk list is exhausted.
    private func fill(_ batch: Batch) throws -> Bool {
        batch.count = 0
        batch.offset = fileOffset
        var decodeIDs: [ChunkID] = [], decodeLocations: [ChunkLocation] = [], decodeOffsets: [Int] = []
        var copies: [(id: ChunkID, place: RestoredChunks.Place, at: Int)] = []
        while true {
            if nextResolved == resolved.count {
                if treeDone { break }
                if try !resolveMore() { break }
            }
            let (id, source) = resolved[nextResolved]
            let length: Int
            switch source {
            case .decode(let location): length = Int(location.rawLength)
            case .copy(let place): length = Int(place.length)
            }
            if batch.count > 0 && batch.count + length > batchBytes { break }
            batch.ensureCapacity(batch.count + length)
            switch source {
            case .decode(let location):
                decodeIDs.append(id)
                decodeLocations.append(location)
                decodeOffsets.append(batch.count)
            case .copy(let place):
                copies.append((id, place, batch.count))
            }
            written.append(WrittenChunk(id: id, offset: fileOffset + Int64(batch.count), length: Int32(length)))
            batch.count += length
            nextResolved += 1
        }
        for copy in copies {
            if self.copy(copy.place, into: batch, at: copy.at) {
                copiedBytes += Int64(copy.place.length)
                continue
            }
            // The earlier file could not be read back: decode this chunk like any other.
            decodeIDs.append(copy.id)
            decodeLocations.append(try reader.locate([copy.id])[0])
            decodeOffsets.append(copy.at)
        }
        try reader.decode(decodeIDs, at: decodeLocations, into: batch.bytes, offsets: decodeOffsets)
        fileOffset += Int64(batch.count)
        return !(treeDone && nextResolved == resolved.count)
    }

    /// Reads the next ids from the tree and decides where each comes from; false at the end.
    private func resolveMore() throws -> Bool {
        let ids = try tree.nextChunks(limit: 1024)
        resolved.removeAll(keepingCapacity: true)
        nextResolved = 0
        if ids.isEmpty {
            treeDone = true
            return false
        }
        var lookups: [ChunkID] = []
        for id in ids where restored.place(of: id) == nil { lookups.append(id) }
        let locations = lookups.isEmpty ? [] : try reader.locate(lookups)
        var next = 0
        for id in ids {
            if let place = restored.place(of: id) {
                resolved.append((id, .copy(place)))
            } else {
                resolved.append((id, .decode(locations[next])))
                next += 1
            }
        }
        return true
    }

    /// Copies a chunk from the restored file that holds it; false when that fails.
    private func copy(_ place: RestoredChunks.Place, into batch: Batch, at offset: Int) -> Bool {
        var fd = sourceFiles[place.file] ?? -1
        if fd < 0 {
            fd = restored.path(of: place.file).withCString { open($0, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) }
            guard fd >= 0 else { return false }
            sourceFiles[place.file] = fd
        }
        var done = 0
        let length = Int(place.length)
        while done < length {
            let got = pread(fd, batch.bytes.baseAddress! + offset + done, length - done, off_t(place.offset) + off_t(done))
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { return false }
            done += got
        }
        return true
    }
}
