import CairnBackends
import CairnCatalog
import CairnCodec
import CairnCore
import Foundation

/// The write path of the pipeline: chunk → id (keyed hash) → dedup lookup → compress → seal →
/// append to pack → upload → index → catalog. Hashing and compress+seal run on `workers`
/// threads per batch; lookups and pack appends are serial. Not thread-safe: one per backup.
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
    private let compressors: WorkerLocal<ZstdCompressor>
    private var pack: PackWriter?
    private var unindexed: [PackRecord] = []
    /// Chunks written in this session that the catalog does not know yet.
    private var pending = Set<ChunkID>()
    public private(set) var statistics = Statistics()

    public init(repository: Repository, workers: Int = ProcessInfo.processInfo.activeProcessorCount,
                packsPerIndex: Int = 8, faults: FaultInjector = .none) {
        self.repository = repository
        self.workers = max(1, workers)
        self.faults = faults
        self.packsPerIndex = packsPerIndex
        let level = Int32(repository.config.compressionLevel)
        self.compressors = WorkerLocal(count: max(1, workers)) { ZstdCompressor(level: level) }
    }

    /// Stores the chunks of `buffer` cut at `lengths` (in order) and returns their ids.
    public func store(_ buffer: UnsafeRawBufferPointer, lengths: [Int], kind: BlobKind) throws -> [ChunkID] {
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
        var seenInBatch = Set<ChunkID>()
        let known = try repository.catalog.contains(chunkIDs)
        for (item, id) in chunkIDs.enumerated() {
            if pending.contains(id) || seenInBatch.contains(id) { continue }
            if known[item] { continue }
            seenInBatch.insert(id)
            newItems.append(item)
        }
        statistics.chunks += lengths.count

        let fresh = newItems
        let envelope = repository.envelope
        let compressors = self.compressors
        let sealed = ResultSlots<(bytes: [UInt8], compression: CompressionAlgorithm)>(count: fresh.count)
        let failures = ResultSlots<any Error>(count: fresh.count)
        Parallel.forEach(count: fresh.count, workers: workers) { worker, slot in
            let item = fresh[slot]
            let plain = UnsafeRawBufferPointer(rebasing: shared.buffer[offsets[item]..<(offsets[item] + lengths[item])])
            do {
                if let compressed = try compressors[worker].compress(plain) {
                    sealed[slot] = (envelope.seal(compressed), .zstd)
                } else {
                    sealed[slot] = (envelope.seal(plain), .none)
                }
            } catch {
                failures[slot] = error
            }
        }
        for slot in 0..<fresh.count {
            if let error = failures[slot] { throw error }
            let item = fresh[slot]
            let blob = sealed[slot]!
            try append(blob.bytes, chunk: chunkIDs[item], kind: kind, compression: blob.compression, rawLength: lengths[item])
        }
        return chunkIDs
    }

    private func append(_ sealed: [UInt8], chunk: ChunkID, kind: BlobKind, compression: CompressionAlgorithm, rawLength: Int) throws {
        if pack == nil { pack = try PackWriter(spoolDirectory: repository.store.spoolDirectory) }
        try pack!.append(sealed, chunk: chunk, kind: kind, compression: compression, rawLength: rawLength)
        pending.insert(chunk)
        statistics.newChunks += 1
        statistics.addedBytes += Int64(rawLength)
        statistics.addedStoredBytes += Int64(sealed.count)
        if pack!.size >= Int64(repository.config.packSize) {
            try closePack()
        }
    }

    private func closePack() throws {
        guard let open = pack else { return }
        pack = nil
        do {
            let record = try open.finish(envelope: repository.envelope, store: repository.store)
            unindexed.append(record)
            statistics.packs += 1
            faults.reach(.afterPackUpload)
        } catch {
            open.discard()
            throw error
        }
        if unindexed.count >= packsPerIndex { try writeIndex() }
    }

    private func writeIndex() throws {
        guard !unindexed.isEmpty else { return }
        let faults = self.faults
        try repository.writeIndex(unindexed) { faults.reach(.afterIndexWrite) }
        unindexed.removeAll()
        pending.removeAll()
    }

    /// Closes the open pack and writes the index for every pack not yet indexed. After this
    /// returns, every chunk stored so far is durable and in the catalog.
    public func flush() throws {
        try closePack()
        try writeIndex()
    }

    /// Drops the unfinished pack after a failure; finished packs stay for `prune` to reclaim.
    public func abandon() {
        pack?.discard()
        pack = nil
    }
}
