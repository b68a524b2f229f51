import CairnBackends
import CairnCatalog
import CairnCodec
import CairnCore
import Foundation

/// The write path of the pipeline: chunk → id (keyed hash) → dedup lookup → compress → seal →
/// append to pack → upload → index → catalog, in stages that overlap:
/// - the caller cuts a window and `submit`s it; on the writer's own thread the window is hashed
///   (on `workers` threads) and looked up in the catalog, and its new chunks are copied out, after
///   which the caller may reuse the window (`result` hands back the ids). A caller with two
///   windows cuts the next while this one hashes; `store` is submit-and-wait;
/// - the `SealingStage` compresses and packs new chunks on its own thread;
/// - full packs upload in the background (`PackUploader`, `uploads` at a time).
/// - index objects and their catalog rows are written on a queue of their own (`indexer`), only
///   for packs already in the store, so hashing goes on while SQLite inserts a batch's rows (a
///   first backup of 2 GB paused every core for ~0.15 s at each of its index objects).
/// One caller thread at a time: one writer per backup.
public final class BlobWriter: @unchecked Sendable {
    public struct Statistics: Sendable {
        public var chunks = 0
        public var newChunks = 0
        public var addedBytes: Int64 = 0
        public var addedStoredBytes: Int64 = 0
        public var packs = 0
    }

    /// A window handed to the writer: valid until `result` returns its ids.
    public struct Ticket: Sendable, Equatable {
        fileprivate let number: Int
    }

    private struct Job {
        let number: Int
        let buffer: SharedBytes
        let lengths: [Int]
        let kind: BlobKind
    }

    let repository: Repository
    let workers: Int
    let faults: FaultInjector
    /// Asked before every index object is written: a writer whose lock was taken over stops there.
    let lock: (any VerifiableLock)?
    /// Packs are grouped into one index object per this many packs.
    let packsPerIndex: Int
    private let uploader: PackUploader
    private let stage: SealingStage
    /// New chunks are handed to the stage in jobs of at most this many bytes, so the memory held
    /// by queued jobs stays small whatever the caller's window.
    private let jobBytes = 4 << 20

    // Shared between the caller and the writer's thread, under `condition`.
    private let condition = NSCondition()
    private var jobs: [Job] = []
    private var results: [Int: [ChunkID]] = [:]
    private var failure: (any Error)?
    private var nextTicket = 0
    private var running = true
    private var stopping = false
    private var shared = Statistics()

    // The writer's thread's own state.
    /// Packs uploaded and not yet handed to the indexer.
    private var unindexed: [PackRecord] = []
    /// Chunks handed to the stage that the catalog does not know yet: added by the writer's
    /// thread, removed by the indexer once their rows are committed, under `pendingLock`. The
    /// writer's thread holds the lock from its catalog lookup to its update of this set, so a
    /// chunk is always in one of the two as that thread sees them.
    private var pending = Set<ChunkID>()
    private let pendingLock = NSLock()
    /// Writes index objects and their catalog rows, one batch of packs at a time, in order.
    private let indexer = DispatchQueue(label: "cairn-index")
    /// Set while the catalog held no chunk when this writer started (a repository's first
    /// backup): the first word of every id this writer stored. A chunk whose word is not here is
    /// new without asking the catalog, which would only have said so after a B-tree search
    /// (a tenth of a first backup's CPU went to these lookups and the inserts). Dropped, and every
    /// chunk asked about again, past `rememberedLimit` ids (~16 MiB of set).
    private var remembered: Set<UInt64>?
    private let rememberedLimit = 1 << 20
    private var stopped = false

    /// - Parameters:
    ///   - uploads: packs uploading at once (each is a spool file, not memory).
    ///   - lock: the lock the caller holds, verified before each index object is written (nil: none).
    public init(repository: Repository, workers: Int = ProcessInfo.processInfo.activeProcessorCount,
                packsPerIndex: Int = 8, uploads: Int = 4, faults: FaultInjector = .none, lock: (any VerifiableLock)? = nil) {
        self.repository = repository
        self.lock = lock
        self.workers = max(1, workers)
        self.faults = faults
        self.packsPerIndex = packsPerIndex
        self.uploader = PackUploader(store: repository.store, limit: uploads, faults: faults)
        self.stage = SealingStage(repository: repository, workers: max(1, workers), uploader: uploader)
        // A catalog that cannot say is asked about every chunk, as any other.
        if (try? repository.catalog.knowsAnyChunk()) == false { remembered = [] }
        let thread = Thread { [self] in loop() }
        thread.name = "cairn-hash"
        thread.start()
    }

    deinit {
        if !stopped { abandon() }
    }

    /// What was stored so far. `addedStoredBytes` counts sealed bytes once their packs are
    /// uploaded and indexed, so it is exact after `flush`.
    public var statistics: Statistics {
        condition.lock()
        defer { condition.unlock() }
        return shared
    }

    /// Stores the chunks of `buffer` cut at `lengths` (in order) and returns their ids. The
    /// buffer is not used after this returns.
    public func store(_ buffer: UnsafeRawBufferPointer, lengths: [Int], kind: BlobKind) throws -> [ChunkID] {
        try result(submit(buffer, lengths: lengths, kind: kind))
    }

    /// Hands the chunks of `buffer` cut at `lengths` to the writer's thread. The buffer must stay
    /// unchanged until `result` for this ticket returns. Tickets are processed in order.
    public func submit(_ buffer: UnsafeRawBufferPointer, lengths: [Int], kind: BlobKind) throws -> Ticket {
        var position = 0
        for length in lengths { position += length }
        precondition(position <= buffer.count, "chunk lengths exceed the buffer")
        condition.lock()
        defer { condition.unlock() }
        if let failure { throw failure }
        let number = nextTicket
        nextTicket += 1
        jobs.append(Job(number: number, buffer: SharedBytes(buffer: buffer), lengths: lengths, kind: kind))
        condition.broadcast()
        return Ticket(number: number)
    }

    /// Waits until the writer is done with the window of `ticket`, and returns its chunk ids.
    public func result(_ ticket: Ticket) throws -> [ChunkID] {
        condition.lock()
        defer { condition.unlock() }
        while results[ticket.number] == nil && failure == nil { condition.wait() }
        if let ids = results.removeValue(forKey: ticket.number) { return ids }
        throw failure!
    }

    /// Seals the open pack, waits for every upload, and writes the index for every pack not yet
    /// indexed. After this returns, every chunk stored so far is durable and in the catalog.
    public func flush() throws {
        try whenIdle {}
        try stage.closePack()
        try stage.waitUntilIdle()
        try whenIdle { [self] in
            unindexed += try uploader.drain()
            scheduleIndex()
            indexer.sync {}
            try check()
            precondition(pendingIsEmpty, "chunks were stored but not indexed")
        }
    }

    /// Ends the writer's threads once it is no longer needed: after `flush` there is nothing left
    /// to drop; after a failure it is `abandon`. The writer cannot be used afterwards. (Its threads
    /// hold it, so without this it would live, idle, until the process ends.)
    public func close() { abandon() }

    /// Stops after a failure: drops queued work and the unfinished pack, and waits for uploads
    /// under way. Packs already uploaded but not indexed stay for `prune` to reclaim.
    public func abandon() {
        guard !stopped else { return }
        stopped = true
        condition.lock()
        stopping = true
        jobs.removeAll()
        condition.broadcast()
        while running { condition.wait() }
        condition.unlock()
        stage.stop()
        uploader.waitForAll()
        indexer.sync {}   // an index under way is finished; queued ones see `stopping` and are dropped
    }

    /// Keeps the writer's first failure and wakes every waiter.
    private func record(_ error: any Error) {
        condition.lock()
        if failure == nil { failure = error }
        condition.broadcast()
        condition.unlock()
    }

    private func check() throws {
        condition.lock()
        defer { condition.unlock() }
        if let failure { throw failure }
    }

    private var pendingIsEmpty: Bool {
        pendingLock.lock()
        defer { pendingLock.unlock() }
        return pending.isEmpty
    }

    /// Runs `body` on the caller's thread once every submitted job is done. The writer's thread
    /// is then parked waiting for a job, and only the caller could submit one, so its state may
    /// be touched here.
    private func whenIdle(_ body: () throws -> Void) throws {
        condition.lock()
        while (!jobs.isEmpty || busy) && failure == nil { condition.wait() }
        if let failure {
            condition.unlock()
            throw failure
        }
        condition.unlock()
        do {
            try body()
        } catch {
            record(error)
            throw error
        }
    }

    private var busy = false

    private func loop() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopping { condition.wait() }
            if stopping {
                running = false
                condition.broadcast()
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            busy = true
            let failed = failure != nil
            condition.unlock()

            var outcome: Result<[ChunkID], any Error> = .success([])
            if !failed {
                outcome = Result { try process(job) }
            }

            condition.lock()
            switch outcome {
            case .success(let ids): results[job.number] = ids
            case .failure(let error): if failure == nil { failure = error }
            }
            busy = false
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Hashes, looks up and hands on one window (on the writer's thread).
    private func process(_ job: Job) throws -> [ChunkID] {
        try collectUploaded()
        let lengths = job.lengths
        guard !lengths.isEmpty else { return [] }
        var starts: [Int] = []
        starts.reserveCapacity(lengths.count)
        var position = 0
        for length in lengths {
            starts.append(position)
            position += length
        }
        let offsets = starts
        let window = job.buffer
        let hasher = repository.hasher
        let ids = ResultSlots<ChunkID>(count: lengths.count)
        Parallel.forEach(count: lengths.count, workers: workers) { _, item in
            ids[item] = hasher.id(of: UnsafeRawBufferPointer(rebasing: window.buffer[offsets[item]..<(offsets[item] + lengths[item])]))
        }
        let chunkIDs = ids.values

        var newItems: [Int] = []
        do {
            pendingLock.lock()
            defer { pendingLock.unlock() }
            let known = try knownToCatalog(chunkIDs)
            for (item, id) in chunkIDs.enumerated() where !known[item] {
                if pending.insert(id).inserted { newItems.append(item) }
            }
        }
        if remembered != nil {
            if remembered!.count + newItems.count > rememberedLimit {
                remembered = nil
            } else {
                for item in newItems { remembered!.insert(chunkIDs[item].hash.w0) }
            }
        }
        var added = Statistics()
        added.chunks = lengths.count

        // Copy the new chunks out in jobs of at most `jobBytes`, so the caller may reuse its buffer.
        var first = 0
        while first < newItems.count {
            var last = first, bytes = 0
            while last < newItems.count && (last == first || bytes + lengths[newItems[last]] <= jobBytes) {
                bytes += lengths[newItems[last]]
                last += 1
            }
            let items = newItems[first..<last]
            let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, bytes), alignment: 16)
            var at = 0
            for item in items {
                copy.baseAddress!.advanced(by: at).copyMemory(from: window.buffer.baseAddress!.advanced(by: offsets[item]), byteCount: lengths[item])
                at += lengths[item]
                added.newChunks += 1
                added.addedBytes += Int64(lengths[item])
            }
            try stage.submit(NewChunks(bytes: copy, lengths: items.map { lengths[$0] }, ids: items.map { chunkIDs[$0] },
                                       kind: job.kind, followsPrevious: items.indices.map { $0 > items.startIndex && items[$0 - 1] == items[$0] - 1 }))
            first = last
        }
        condition.lock()
        addToStatistics(added)
        condition.unlock()
        return chunkIDs
    }

    /// Which of `ids` the catalog holds. With `remembered`, only ids whose first word this writer
    /// stored are looked up (those not yet indexed are in `pending` and count as unknown here,
    /// as they would in the catalog). Under `pendingLock`.
    private func knownToCatalog(_ ids: [ChunkID]) throws -> [Bool] {
        guard let remembered else { return try repository.catalog.contains(ids) }
        var known = [Bool](repeating: false, count: ids.count)
        var asked: [Int] = []
        for (item, id) in ids.enumerated() where remembered.contains(id.hash.w0) && !pending.contains(id) {
            asked.append(item)
        }
        guard !asked.isEmpty else { return known }
        for (item, found) in zip(asked, try repository.catalog.contains(asked.map { ids[$0] })) { known[item] = found }
        return known
    }

    private func addToStatistics(_ added: Statistics) {
        shared.chunks += added.chunks
        shared.newChunks += added.newChunks
        shared.addedBytes += added.addedBytes
        shared.addedStoredBytes += added.addedStoredBytes
        shared.packs += added.packs
    }

    /// Indexes the packs uploaded so far, once there are enough for an index object.
    private func collectUploaded() throws {
        try stage.check()
        try check()
        unindexed += try uploader.takeUploaded()
        if unindexed.count >= packsPerIndex { scheduleIndex() }
    }

    /// Hands the packs uploaded so far to the indexer.
    private func scheduleIndex() {
        guard !unindexed.isEmpty else { return }
        let packs = unindexed
        unindexed.removeAll()
        indexer.async { [self] in
            condition.lock()
            let skip = failure != nil || stopping
            condition.unlock()
            guard !skip else { return }
            do {
                try writeIndex(packs)
            } catch {
                record(error)
            }
        }
    }

    /// On the indexer: the index object, then its catalog rows, then the chunks leave `pending`.
    private func writeIndex(_ packs: [PackRecord]) throws {
        try lock?.verify()
        let faults = self.faults
        try repository.writeIndex(packs) { faults.reach(.afterIndexWrite) }
        var added = Statistics()
        pendingLock.lock()
        for pack in packs {
            added.packs += 1
            for entry in pack.entries {
                pending.remove(entry.chunk)
                // A blob holding a frame of chunks counts once (each frame written starts at 0).
                if entry.frameOffset == 0 { added.addedStoredBytes += Int64(entry.storedLength) }
            }
        }
        pendingLock.unlock()
        condition.lock()
        addToStatistics(added)
        condition.unlock()
    }
}
