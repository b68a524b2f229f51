import CairnBackends
import CairnCatalog
import CairnCodec
import CairnCore
import Foundation

/// New chunks copied out of the caller's buffer, waiting to be compressed, sealed and packed.
struct NewChunks {
    /// The chunks back to back; owned by the job and freed when it is done.
    let bytes: UnsafeMutableRawBufferPointer
    let lengths: [Int]
    let ids: [ChunkID]
    let kind: BlobKind
    /// For each chunk, whether it followed the one before it in the file it was cut from, so the
    /// two may share a frame (restore reads them together).
    let followsPrevious: [Bool]
}

/// The second half of the write path, on its own thread: compress and seal new chunks on
/// `workers` threads, then append them to the open pack and hand full packs to the uploader on a
/// serial queue of their own, so one job's blobs are written while the next job compresses. The
/// caller meanwhile reads, cuts and hashes the next window, so reading and compressing overlap.
/// At most `maximumQueued` jobs wait and `maximumAppending` sealed jobs wait to be written;
/// `submit` blocks beyond that, which bounds memory.
final class SealingStage: @unchecked Sendable {
    private enum Job {
        case seal(NewChunks)
        case closePack
    }

    private let repository: Repository
    private let workers: Int
    private let uploader: PackUploader
    private let compressors: WorkerLocal<ZstdCompressor>
    private let maximumQueued = 2
    private let condition = NSCondition()
    private var queue: [Job] = []
    private var busy = false
    private var stopping = false
    private var running = true
    private var failure: (any Error)?
    /// Only the append queue touches the open pack.
    private var pack: PackWriter?
    private let appender = DispatchQueue(label: "cairn-pack-append")
    private let maximumAppending = 2
    private let appendSlots: DispatchSemaphore

    init(repository: Repository, workers: Int, uploader: PackUploader) {
        self.repository = repository
        self.workers = max(1, workers)
        self.uploader = uploader
        let level = Int32(repository.config.compressionLevel)
        self.compressors = WorkerLocal(count: max(1, workers)) { ZstdCompressor(level: level) }
        self.appendSlots = DispatchSemaphore(value: maximumAppending)
        let thread = Thread { [self] in loop() }
        thread.name = "cairn-seal"
        thread.start()
    }

    /// Queues new chunks; blocks while the queue is full. Throws the stage's first failure.
    func submit(_ chunks: NewChunks) throws {
        try enqueue(.seal(chunks))
    }

    /// Seals the open pack (if any) and hands it to the uploader, after every queued job.
    func closePack() throws {
        try enqueue(.closePack)
    }

    /// Waits until every queued job is done. Throws the stage's first failure.
    func waitUntilIdle() throws {
        condition.lock()
        while (busy || !queue.isEmpty) && failure == nil { condition.wait() }
        condition.unlock()
        appender.sync {}
        try check()
    }

    /// Throws the stage's first failure without waiting.
    func check() throws {
        condition.lock()
        defer { condition.unlock() }
        if let failure { throw failure }
    }

    /// Stops the thread after the job under way; drops queued jobs and the unfinished pack.
    func stop() {
        condition.lock()
        stopping = true
        for case .seal(let chunks) in queue { chunks.bytes.deallocate() }
        queue.removeAll()
        condition.broadcast()
        while running { condition.wait() }
        condition.unlock()
        appender.sync {
            pack?.discard()
            pack = nil
        }
    }

    private var isStopping: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopping || failure != nil
    }

    private func record(_ error: any Error) {
        condition.lock()
        if failure == nil { failure = error }
        condition.broadcast()
        condition.unlock()
    }

    private func enqueue(_ job: Job) throws {
        condition.lock()
        while queue.count >= maximumQueued && failure == nil && !stopping { condition.wait() }
        if let failure {
            condition.unlock()
            if case .seal(let chunks) = job { chunks.bytes.deallocate() }
            throw failure
        }
        precondition(!stopping, "SealingStage used after stop()")
        queue.append(job)
        condition.broadcast()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while queue.isEmpty && !stopping { condition.wait() }
            if stopping {
                running = false
                condition.broadcast()
                condition.unlock()
                return
            }
            let job = queue.removeFirst()
            busy = true
            let failed = failure != nil
            condition.broadcast()
            condition.unlock()

            var outcome: (any Error)?
            if !failed {
                do {
                    switch job {
                    case .seal(let chunks): try seal(chunks)
                    case .closePack:
                        // After every queued append, like any job.
                        try appender.sync { try finishPack() }
                    }
                } catch {
                    outcome = error
                }
            }
            if case .seal(let chunks) = job { chunks.bytes.deallocate() }

            condition.lock()
            if let outcome, failure == nil { failure = outcome }
            busy = false
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Chunks that follow one another in their file are compressed as one frame of at most this
    /// many bytes (format 2): zstd's per-frame costs dominate 2 KiB record chunks (docs/FORMAT.md).
    static let frameBytes = 32 << 10

    /// The frames of a job: runs of chunks that follow one another, up to `frameBytes` together
    /// (a larger chunk is a frame of its own); one chunk each when the layout allows no more.
    static func frames(lengths: [Int], followsPrevious: [Bool], layout: PackLayout) -> [Range<Int>] {
        var frames: [Range<Int>] = []
        var start = 0, bytes = 0
        for item in lengths.indices {
            let joins = layout.framesChunks && item > start && followsPrevious[item] && bytes + lengths[item] <= frameBytes
            if !joins && item > start {
                frames.append(start..<item)
                start = item
                bytes = 0
            }
            bytes += lengths[item]
        }
        if start < lengths.count { frames.append(start..<lengths.count) }
        return frames
    }

    private func seal(_ chunks: NewChunks) throws {
        var starts: [Int] = []
        starts.reserveCapacity(chunks.lengths.count + 1)
        var position = 0
        for length in chunks.lengths {
            starts.append(position)
            position += length
        }
        starts.append(position)
        let offsets = starts, lengths = chunks.lengths
        let frames = Self.frames(lengths: lengths, followsPrevious: chunks.followsPrevious, layout: repository.packLayout)
        let shared = SharedBytes(buffer: UnsafeRawBufferPointer(chunks.bytes))
        let envelope = repository.envelope
        let compressors = self.compressors
        let sealed = ResultSlots<(blob: SealedBlob, compression: CompressionAlgorithm)>(count: frames.count)
        let failures = ResultSlots<any Error>(count: frames.count)
        Parallel.forEach(count: frames.count, workers: workers) { worker, frame in
            let range = frames[frame]
            let plain = UnsafeRawBufferPointer(rebasing: shared.buffer[offsets[range.lowerBound]..<offsets[range.upperBound]])
            do {
                // Sealed straight from the compressor's buffer.
                sealed[frame] = try compressors[worker].compress(plain) { compressed in
                    compressed.map { (envelope.sealBlob($0), .zstd) } ?? (envelope.sealBlob(plain), .none)
                }
            } catch {
                failures[frame] = error
            }
        }
        var blobs: [(blob: SealedBlob, compression: CompressionAlgorithm)] = []
        blobs.reserveCapacity(frames.count)
        for frame in frames.indices {
            if let error = failures[frame] { throw error }
            blobs.append(sealed[frame]!)
        }
        let ids = chunks.ids, kind = chunks.kind, ready = blobs
        // Written on the append queue while this thread compresses the next job.
        appendSlots.wait()
        appender.async { [self] in
            defer { appendSlots.signal() }
            guard !isStopping else { return }
            do {
                for (frame, range) in frames.enumerated() {
                    if pack == nil {
                        pack = try PackWriter(for: repository)
                    }
                    let members = range.map { (ids[$0], lengths[$0], offsets[$0] - offsets[range.lowerBound]) }
                    try pack!.append(ready[frame].blob, chunks: members, kind: kind, compression: ready[frame].compression)
                    if pack!.size >= Int64(repository.config.packSize) { try finishPack() }
                }
            } catch {
                record(error)
            }
        }
    }

    /// On the append queue.
    private func finishPack() throws {
        guard let open = pack else { return }
        pack = nil
        do {
            let (record, path, digests) = try open.seal(envelope: repository.envelope)
            try uploader.submit(record, path: path, digests: digests)
        } catch {
            open.discard()
            throw error
        }
    }
}
