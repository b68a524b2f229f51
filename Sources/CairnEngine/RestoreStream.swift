import CairnBackends
import CairnCatalog
import CairnCore
import CairnRepository
import Foundation
import Glibc

/// Chunks this restore has already written, and where, so a chunk that appears again (a
/// dump.rdb and the AOF base usually share most of theirs) is copied from the restored file
/// instead of being looked up, read, decrypted and decompressed a second time. Only finished
/// files are recorded, and at most `capacity` chunks, which bounds memory (about 64 bytes each).
/// Safe from any thread (files restored side by side share it).
final class RestoredChunks: @unchecked Sendable {
    struct Place {
        var offset: Int64
        var file: Int32
        var length: Int32
    }

    private let lock = NSLock()
    private var places: [ChunkID: Place] = [:]
    private var files: [SystemPath] = []
    let capacity: Int

    init(capacity: Int = 512 * 1024) {
        self.capacity = capacity
    }

    func place(of id: ChunkID) -> Place? {
        lock.lock()
        defer { lock.unlock() }
        return places[id]
    }

    /// `place(of:)` for each id, under one lock; no lookups at all while nothing is recorded.
    func places(of ids: [ChunkID]) -> [Place?] {
        lock.lock()
        defer { lock.unlock() }
        if places.isEmpty { return [Place?](repeating: nil, count: ids.count) }
        return ids.map { places[$0] }
    }

    func path(of file: Int32) -> SystemPath {
        lock.lock()
        defer { lock.unlock() }
        return files[Int(file)]
    }

    /// Records the chunks of the file now complete at `path`.
    func add(_ chunks: [RestoreStream.WrittenChunk], file path: SystemPath) {
        lock.lock()
        defer { lock.unlock() }
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

/// A file's content, decoded ahead of the writer, in three stages that overlap: a resolver
/// thread reads the file's chunk ids from the tree and decides where each comes from (copied
/// from a file this restore already wrote, or looked up in the catalog), a decoder thread
/// fills a batch buffer (ranged reads, open, decompress, verify, on `workers` threads), and the
/// caller writes the previous batch. Two buffers of `batchBytes` take turns, so memory stays
/// bounded whatever the file's size.
///
/// With an `alignment` (direct I/O, see `RestoreWriter`), each batch's bytes start `lead` bytes
/// into its buffer, where `lead` is the batch's file offset modulo the alignment, so the writer can
/// put the previous batch's unaligned tail in front and write whole aligned blocks; chunks that
/// recur are then read back from the earlier file into the buffer (the earlier file, written with
/// direct I/O, is not in the page cache, and a kernel copy would go through it).
final class RestoreStream: @unchecked Sendable {
    struct WrittenChunk {
        var id: ChunkID
        var offset: Int64
        var length: Int32
    }

    /// One stretch of the file from file offset `offset`, `count` bytes long: decoded bytes in
    /// `bytes`, except for the `copies`, ranges to copy in the kernel from a file this restore
    /// already wrote (their part of `bytes` is unused).
    final class Batch {
        struct Copy {
            var source: Int32
            var sourceOffset: Int64
            /// Where in the batch (from its start) the range goes.
            var at: Int
            var length: Int
        }

        fileprivate(set) var bytes: UnsafeMutableRawBufferPointer
        fileprivate(set) var count = 0
        fileprivate(set) var offset: Int64 = 0
        fileprivate(set) var copies: [Copy] = []
        /// With an alignment: where in `bytes` the batch's data start (`offset` modulo the
        /// alignment); the bytes before are the writer's to fill. Always 0 without one.
        fileprivate(set) var lead = 0

        init(capacity: Int) {
            bytes = .allocate(byteCount: capacity, alignment: Self.bufferAlignment)
        }

        deinit { bytes.deallocate() }

        /// Page-aligned, as direct I/O needs.
        static let bufferAlignment = 4096

        fileprivate func ensureCapacity(_ needed: Int) {
            guard needed > bytes.count else { return }
            bytes.deallocate()
            bytes = .allocate(byteCount: needed, alignment: Self.bufferAlignment)
        }

        /// With an alignment: the whole buffer the writer uses, `lead` + `count` bytes.
        var withLead: UnsafeMutableRawBufferPointer {
            UnsafeMutableRawBufferPointer(rebasing: bytes[0..<(lead + count)])
        }

        /// The batch in file order: decoded bytes (`.bytes`) and kernel copies (`.copy`).
        enum Segment {
            case bytes(UnsafeRawBufferPointer, at: Int)
            case copy(Copy)
        }

        var segments: [Segment] {
            var out: [Segment] = []
            var position = 0
            for copy in copies {
                if copy.at > position {
                    out.append(.bytes(UnsafeRawBufferPointer(rebasing: bytes[position..<copy.at]), at: position))
                }
                out.append(.copy(copy))
                position = copy.at + copy.length
            }
            if count > position {
                out.append(.bytes(UnsafeRawBufferPointer(rebasing: bytes[position..<count]), at: position))
            }
            return out
        }
    }

    /// What goes into one batch: the resolver's output, the decoder's input.
    private struct Plan {
        var offset: Int64
        var count = 0
        var decodeIDs: [ChunkID] = []
        var decodeLocations: [ChunkLocation] = []
        var decodeOffsets: [Int] = []
        var copies: [(id: ChunkID, place: RestoredChunks.Place, at: Int)] = []
    }

    private enum Source {
        case decode(ChunkLocation)
        case copy(RestoredChunks.Place)
    }

    private let reader: BlobReader
    private let tree: TreeReader
    private let restored: RestoredChunks
    private let cache: DecodedChunkCache?
    private let batchBytes: Int
    private let alignment: Int
    private let maximumPlans = 2
    private let condition = NSCondition()
    private var plans: [Plan] = []
    private var plansDone = false
    private var free: [Batch]
    private var ready: [Batch] = []
    private var finished = false
    private var cancelled = false
    private var running = 2
    private var failure: (any Error)?
    /// Every chunk of the file with its offset, for `RestoredChunks` once the file is complete
    /// (the resolver's; read after `wait`). Not kept for a file restored side by side with another
    /// (with a `cache`): two such lists at once would cost 48 bytes per chunk of both files.
    private(set) var written: [WrittenChunk] = []
    /// Bytes copied from files already restored instead of decoded (the decoder's; read after `wait`).
    private(set) var copiedBytes: Int64 = 0

    // The resolver's own state.
    private var resolved: [(id: ChunkID, source: Source)] = []
    private var nextResolved = 0
    private var treeDone = false
    private var fileOffset: Int64 = 0
    // The decoder's own state.
    private var sourceFiles: [Int32: (fd: Int32, direct: Bool)] = [:]
    private var readBackBuffer: UnsafeMutableRawBufferPointer?
    /// What `readBackBuffer` holds: `count` bytes of file `fd` from `start`.
    private var window: (fd: Int32, start: Int64, count: Int) = (-1, 0, 0)

    /// Starts decoding the chunk list `tree` is positioned at. The tree is the stream's until it
    /// has finished or `cancel` returned. `alignment` (a power of two, or 0) lays batches out for
    /// direct I/O (see the type's comment). A `cache` is shared with a stream restoring another file
    /// at the same time (see `DecodedChunkCache`).
    init(reader: BlobReader, tree: TreeReader, restored: RestoredChunks, cache: DecodedChunkCache? = nil,
         batchBytes: Int = 8 << 20, alignment: Int = 0) {
        precondition(alignment == 0 || (alignment.nonzeroBitCount == 1 && alignment <= Batch.bufferAlignment))
        self.reader = reader
        self.tree = tree
        self.restored = restored
        self.cache = cache
        self.batchBytes = batchBytes
        self.alignment = alignment
        free = [Batch(capacity: batchBytes + alignment), Batch(capacity: batchBytes + alignment)]
        let resolver = Thread { [self] in resolve() }
        resolver.name = "cairn-restore-resolve"
        resolver.start()
        let decoder = Thread { [self] in decode() }
        decoder.name = "cairn-restore-decode"
        decoder.start()
    }

    deinit {
        for file in sourceFiles.values where file.fd >= 0 { close(file.fd) }
        readBackBuffer?.deallocate()
    }

    /// The next decoded batch in file order, or nil at the end; throws what resolving or
    /// decoding met. Hand each batch back with `recycle` once written.
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

    /// Stops both threads and waits for them; afterwards the tree may be used again.
    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        while running > 0 { condition.wait() }
        condition.unlock()
    }

    /// Waits for both threads to end (after `next` returned nil or threw).
    func wait() { cancel() }

    private func stopped() -> Bool { cancelled || failure != nil }

    private func end(_ error: (any Error)?) {
        condition.lock()
        if let error, failure == nil { failure = error }
        running -= 1
        condition.broadcast()
        condition.unlock()
    }

    private func resolve() {
        do {
            while true {
                let plan = try makePlan()
                // The decoder is up to two plans behind: from a cold disk, these reads start now.
                if let plan { reader.prefetch(plan.decodeLocations) }
                condition.lock()
                while plans.count >= maximumPlans && !stopped() { condition.wait() }
                if stopped() {
                    condition.unlock()
                    break
                }
                if let plan { plans.append(plan) } else { plansDone = true }
                condition.broadcast()
                condition.unlock()
                if plan == nil { break }
            }
            end(nil)
        } catch {
            end(error)
        }
    }

    private func decode() {
        do {
            while true {
                condition.lock()
                while (plans.isEmpty && !plansDone || free.isEmpty) && !stopped() { condition.wait() }
                if stopped() {
                    condition.unlock()
                    break
                }
                if plans.isEmpty {
                    finished = true
                    condition.broadcast()
                    condition.unlock()
                    break
                }
                let plan = plans.removeFirst()
                let batch = free.removeLast()
                condition.broadcast()
                condition.unlock()
                try execute(plan, into: batch)
                condition.lock()
                ready.append(batch)
                condition.broadcast()
                condition.unlock()
            }
            end(nil)
        } catch {
            end(error)
        }
    }

    /// Lays out the next batch; nil when the file's chunk list is exhausted.
    private func makePlan() throws -> Plan? {
        var plan = Plan(offset: fileOffset)
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
            if plan.count > 0 && plan.count + length > batchBytes { break }
            switch source {
            case .decode(let location):
                plan.decodeIDs.append(id)
                plan.decodeLocations.append(location)
                plan.decodeOffsets.append(plan.count)
            case .copy(let place):
                plan.copies.append((id, place, plan.count))
            }
            if cache == nil {
                written.append(WrittenChunk(id: id, offset: fileOffset + Int64(plan.count), length: Int32(length)))
            }
            plan.count += length
            nextResolved += 1
        }
        fileOffset += Int64(plan.count)
        return plan.count > 0 ? plan : nil
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
        let places = restored.places(of: ids)
        var lookups: [ChunkID] = []
        for (item, id) in ids.enumerated() where places[item] == nil { lookups.append(id) }
        let locations = lookups.isEmpty ? [] : try reader.locate(lookups)
        var next = 0
        for (item, id) in ids.enumerated() {
            if let place = places[item] {
                resolved.append((id, .copy(place)))
            } else {
                resolved.append((id, .decode(locations[next])))
                next += 1
            }
        }
        return true
    }

    /// Fills `batch` as `plan` says: chunks found in files already restored become kernel copies
    /// (adjacent ones merged into one range) or, with an alignment, are read back into the buffer;
    /// every other chunk is decoded into the buffer.
    private func execute(_ plan: Plan, into batch: Batch) throws {
        let lead = alignment == 0 ? 0 : Int(plan.offset % Int64(alignment))
        batch.ensureCapacity(lead + plan.count)
        batch.offset = plan.offset
        batch.count = plan.count
        batch.lead = lead
        batch.copies.removeAll(keepingCapacity: true)
        var ids = plan.decodeIDs, locations = plan.decodeLocations
        var offsets = lead == 0 ? plan.decodeOffsets : plan.decodeOffsets.map { $0 + lead }
        for copy in plan.copies {
            if let source = sourceFile(copy.place.file) {
                let length = Int(copy.place.length)
                if let last = batch.copies.last, last.source == source.fd, last.at + last.length == copy.at,
                   last.sourceOffset + Int64(last.length) == copy.place.offset {
                    batch.copies[batch.copies.count - 1].length += length
                } else {
                    batch.copies.append(Batch.Copy(source: source.fd, sourceOffset: copy.place.offset, at: copy.at, length: length))
                }
                copiedBytes += Int64(length)
                continue
            }
            // The earlier file cannot be opened: decode this chunk like any other.
            ids.append(copy.id)
            locations.append(try reader.locate([copy.id])[0])
            offsets.append(lead + copy.at)
        }
        guard alignment > 0, !batch.copies.isEmpty else {
            try reader.decode(ids, at: locations, into: batch.bytes, offsets: offsets, cache: cache)
            return
        }
        // Read the reused ranges back on another thread while the rest decodes: one waits on the
        // disk, the other on the CPU, and they fill disjoint parts of the buffer.
        let copies = batch.copies, address = UInt(bitPattern: batch.bytes.baseAddress! + lead)
        batch.copies.removeAll(keepingCapacity: true)
        let group = DispatchGroup()
        let readFailure = ResultBox()
        DispatchQueue.global().async(group: group) { [self] in
            do {
                let base = UnsafeMutableRawPointer(bitPattern: address)!
                for copy in copies { try readBack(copy, into: base + copy.at) }
            } catch {
                readFailure.error = error
            }
        }
        do {
            try reader.decode(ids, at: locations, into: batch.bytes, offsets: offsets, cache: cache)
        } catch {
            group.wait()
            throw error
        }
        group.wait()
        if let error = readFailure.error { throw error }
    }

    /// The read-back thread's failure, read after it is done.
    private final class ResultBox: @unchecked Sendable {
        var error: (any Error)?
    }

    /// Reads a range of a file this restore already wrote into `destination`. With direct I/O,
    /// through a window of `readBackWindow` bytes read whole (aligned): the ranges a file reuses
    /// come in order and are often short, and one direct read per range would wait on the disk
    /// each time (night 7 of the medium benchmark, 743 MB reused: 4.2 s with a read per range,
    /// 3.0–3.4 s with the window).
    private func readBack(_ copy: Batch.Copy, into destination: UnsafeMutableRawPointer) throws {
        var direct = sourceFiles.values.first { $0.fd == copy.source }?.direct ?? false
        var position = copy.sourceOffset
        var remaining = copy.length
        var out = destination
        while remaining > 0 {
            if direct {
                if window.fd != copy.source || position < window.start || position >= window.start + Int64(window.count) {
                    let buffer = readBackBuffer ?? .allocate(byteCount: Self.readBackWindow, alignment: Batch.bufferAlignment)
                    readBackBuffer = buffer
                    let start = position & ~Int64(alignment - 1)
                    let got = pread(copy.source, buffer.baseAddress!, buffer.count, off_t(start))
                    window = (copy.source, start, max(0, got))
                    if got < 0 && errno == EINTR { continue }
                    if got < 0 && errno == EINVAL {
                        // The file system refuses this direct read after all: read through the page cache.
                        _ = fcntl(copy.source, F_SETFL, fcntl(copy.source, F_GETFL) & ~systemODirect)
                        for (file, entry) in sourceFiles where entry.fd == copy.source { sourceFiles[file] = (entry.fd, false) }
                        window = (-1, 0, 0)
                        direct = false
                        continue
                    }
                    guard got > Int(position - start) else { throw readBackFailure(copy, got) }
                }
                let skip = Int(position - window.start)
                let useful = min(window.count - skip, remaining)
                out.copyMemory(from: readBackBuffer!.baseAddress! + skip, byteCount: useful)
                out += useful
                position += Int64(useful)
                remaining -= useful
            } else {
                let got = pread(copy.source, out, remaining, off_t(position))
                if got < 0 && errno == EINTR { continue }
                guard got > 0 else { throw readBackFailure(copy, got) }
                out += got
                position += Int64(got)
                remaining -= got
            }
        }
    }

    private func readBackFailure(_ copy: Batch.Copy, _ got: Int) -> EngineError {
        EngineError(.failure, "cannot read back \(copy.length) restored bytes at offset \(copy.sourceOffset) of "
                    + "an earlier file: \(got < 0 ? errnoMessage(errno) : "it ended early")")
    }

    static let readBackWindow = 4 << 20

    /// A read descriptor for a file this restore already wrote, or nil when it cannot be opened;
    /// for direct I/O when batches are aligned and the file system allows it. They stay open until
    /// the stream goes away.
    private func sourceFile(_ file: Int32) -> (fd: Int32, direct: Bool)? {
        if let known = sourceFiles[file] { return known.fd >= 0 ? known : nil }
        let path = restored.path(of: file)
        var opened = (fd: Int32(-1), direct: false)
        if alignment > 0 {
            opened = (path.withCString { open($0, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | systemODirect) }, true)
        }
        if opened.fd < 0 {
            opened = (path.withCString { open($0, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) }, false)
        }
        sourceFiles[file] = opened
        return opened.fd >= 0 ? opened : nil
    }
}
