import CairnBackends
import CairnCatalog
import CairnCodec
import CairnCore
import Foundation

/// The write path of the pipeline: chunk → id (keyed hash) → dedup lookup → compress → seal →
/// append to pack → upload → index → catalog. On the caller's thread: hashing (on `workers`
/// threads) and the dedup lookup, so ids are known at once; new chunks are copied to the
/// `SealingStage`, which compresses and packs them on its own thread while the caller cuts the
/// next window, and full packs upload in the background (`PackUploader`, `uploads` at a time).
/// Index objects and catalog rows are written on the caller's thread, only for packs already in
/// the store. Not thread-safe: one per backup.
public final class BlobWriter {
    public struct Statistics: Sendable {
        public var chunks = 0
        public var newChunks = 0
        public var addedBytes: Int64 = 0
        public var addedStoredBytes: Int64 = 0
        public var packs = 0
    }

    let repository: Repository
    let workers: Int
    let faults: FaultInjector
    /// Packs are grouped into one index object per this many packs.
    let packsPerIndex: Int
    private let uploader: PackUploader
    private let stage: SealingStage
    private var stopped = false
    private var unindexed: [PackRecord] = []
    /// Chunks handed to the stage that the catalog does not know yet.
    private var pending = Set<ChunkID>()
    private var stored = Statistics()
    /// New chunks are handed to the stage in jobs of at most this many bytes, so the memory held
    /// by queued jobs stays small whatever the caller's window.
    private let jobBytes = 4 << 20

    /// - Parameter uploads: packs uploading at once (each is a spool file, not memory).
    public init(repository: Repository, workers: Int = ProcessInfo.processInfo.activeProcessorCount,
                packsPerIndex: Int = 8, uploads: Int = 4, faults: FaultInjector = .none) {
        self.repository = repository
        self.workers = max(1, workers)
        self.faults = faults
        self.packsPerIndex = packsPerIndex
        self.uploader = PackUploader(store: repository.store, limit: uploads, faults: faults)
        self.stage = SealingStage(repository: repository, workers: max(1, workers), uploader: uploader)
    }

    deinit {
        if !stopped {
            stage.stop()
            uploader.waitForAll()
        }
    }

    /// What was stored so far. `addedStoredBytes` counts sealed bytes once their packs are
    /// uploaded and indexed, so it is exact after `flush`.
    public var statistics: Statistics { stored }

    /// Stores the chunks of `buffer` cut at `lengths` (in order) and returns their ids. The
    /// buffer is not used after this returns.
    public func store(_ buffer: UnsafeRawBufferPointer, lengths: [Int], kind: BlobKind) throws -> [ChunkID] {
        try collectUploaded()
        var starts: [Int] = []
        starts.reserveCapacity(lengths.count)
        var position = 0
        for length in lengths {
            starts.append(position)
            position += length
        }
        precondition(position <= buffer.count, "chunk lengths exceed the buffer")
        let offsets = starts
        let shared = SharedBytes(buffer: buffer)
        let hasher = repository.hasher
        let ids = ResultSlots<ChunkID>(count: lengths.count)
        Parallel.forEach(count: lengths.count, workers: workers) { _, item in
            ids[item] = hasher.id(of: UnsafeRawBufferPointer(rebasing: shared.buffer[offsets[item]..<(offsets[item] + lengths[item])]))
        }
        let chunkIDs = ids.values

        var newItems: [Int] = []
        let known = try repository.catalog.contains(chunkIDs)
        for (item, id) in chunkIDs.enumerated() where !known[item] {
            if pending.insert(id).inserted { newItems.append(item) }
        }
        stored.chunks += lengths.count

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
                copy.baseAddress!.advanced(by: at).copyMemory(from: buffer.baseAddress!.advanced(by: offsets[item]), byteCount: lengths[item])
                at += lengths[item]
                stored.newChunks += 1
                stored.addedBytes += Int64(lengths[item])
            }
            try stage.submit(NewChunks(bytes: copy, lengths: items.map { lengths[$0] }, ids: items.map { chunkIDs[$0] }, kind: kind))
            first = last
        }
        return chunkIDs
    }

    /// Indexes the packs uploaded so far, once there are enough for an index object.
    private func collectUploaded() throws {
        try stage.check()
        unindexed += try uploader.takeUploaded()
        if unindexed.count >= packsPerIndex { try writeIndex() }
    }

    private func writeIndex() throws {
        guard !unindexed.isEmpty else { return }
        let faults = self.faults
        try repository.writeIndex(unindexed) { faults.reach(.afterIndexWrite) }
        for pack in unindexed {
            stored.packs += 1
            for entry in pack.entries {
                pending.remove(entry.chunk)
                stored.addedStoredBytes += Int64(entry.storedLength)
            }
        }
        unindexed.removeAll()
    }

    /// Seals the open pack, waits for every upload, and writes the index for every pack not yet
    /// indexed. After this returns, every chunk stored so far is durable and in the catalog.
    public func flush() throws {
        try stage.closePack()
        try stage.waitUntilIdle()
        unindexed += try uploader.drain()
        try writeIndex()
        precondition(pending.isEmpty, "chunks were stored but not indexed")
    }

    /// Stops after a failure: drops queued work and the unfinished pack, and waits for uploads
    /// under way. Packs already uploaded but not indexed stay for `prune` to reclaim.
    public func abandon() {
        guard !stopped else { return }
        stopped = true
        stage.stop()
        uploader.waitForAll()
    }
}
