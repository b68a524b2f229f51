import CairnBackends
import CairnCatalog
import CairnCodec
import CairnCore
import Foundation

/// Reads chunks back: catalog lookup → ranged read → open → decompress → verify the keyed id.
/// Batches are fetched on `workers` threads.
public final class BlobReader: @unchecked Sendable {
    let repository: Repository
    let workers: Int
    private let decompressors: WorkerLocal<ZstdDecompressor>

    /// Frames this reader (and any reader it shares them with) decoded in part a moment ago.
    public let recentFrames: RecentFrames

    /// `recentFrames` shares another reader's: two files restored side by side want parts of the
    /// same frames.
    public init(repository: Repository, workers: Int = ProcessInfo.processInfo.activeProcessorCount,
                recentFrames: RecentFrames? = nil) {
        self.repository = repository
        self.recentFrames = recentFrames ?? RecentFrames()
        // Remote stores: more threads than cores, so several ranged GETs are in flight.
        let threads = max(1, workers, repository.store.readConcurrency)
        self.workers = threads
        self.decompressors = WorkerLocal(count: threads) { ZstdDecompressor() }
    }

    /// Reads and verifies one chunk on the calling thread.
    public func read(_ id: ChunkID) throws -> [UInt8] {
        let location = try locate([id])[0]
        let stored = try repository.readRange(ofPack: location.pack, offset: location.offset, length: Int(location.storedLength))
        var plain = [UInt8](repeating: 0, count: Int(location.rawLength))
        try stored.withUnsafeBytes { raw in
            try plain.withUnsafeMutableBytes { out in
                try decodeBlob(raw, chunks: [(id, location, out)], decompressor: decompressors[0])
            }
        }
        return plain
    }

    /// Reads and verifies chunks in parallel; results are in the order of `ids`.
    public func read(_ ids: [ChunkID]) throws -> [[UInt8]] {
        let locations = try locate(ids)
        var offsets: [Int] = []
        var total = 0
        for location in locations {
            offsets.append(total)
            total += Int(location.rawLength)
        }
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, total), alignment: 16)
        defer { output.deallocate() }
        try decode(ids, at: locations, into: output, offsets: offsets)
        return locations.indices.map { item in
            Array(UnsafeRawBufferPointer(rebasing: output[offsets[item]..<(offsets[item] + Int(locations[item].rawLength))]))
        }
    }

    /// Where each chunk is stored; throws for a chunk that no pack holds.
    public func locate(_ ids: [ChunkID]) throws -> [ChunkLocation] {
        let found = try repository.catalog.locations(of: ids)
        return try ids.indices.map { item in
            guard let location = found[item] else { throw Self.missing(ids[item]) }
            return location
        }
    }

    /// Decodes and verifies chunks straight into `output`, chunk `item` at `offsets[item]`
    /// (`locations[item].rawLength` bytes), on `workers` threads, reading each run of chunks
    /// stored back to back in one pack with one ranged read. No per-chunk arrays are made, which
    /// matters with 2 KiB record chunks. With a `cache`, chunks found there are copied from it, and
    /// every chunk decoded is put there for a stream restoring another file at the same time.
    public func decode(_ ids: [ChunkID], at locations: [ChunkLocation], into output: UnsafeMutableRawBufferPointer,
                       offsets: [Int], cache: DecodedChunkCache? = nil) throws {
        guard let cache else {
            try decodeRuns(ids, at: locations, into: output, offsets: offsets, cache: nil)
            return
        }
        // Copy what the cache has, decode what this call claims, then copy what the other stream
        // was decoding meanwhile (or decode it here if it never came).
        func destination(_ item: Int) -> UnsafeMutableRawBufferPointer {
            UnsafeMutableRawBufferPointer(rebasing: output[offsets[item]..<(offsets[item] + Int(locations[item].rawLength))])
        }
        var mine: [Int] = [], theirs: [Int] = []
        for (item, found) in cache.lookup(ids, into: ids.indices.map(destination)).enumerated() {
            switch found {
            case .copied: break
            case .claimed: mine.append(item)
            case .pending: theirs.append(item)
            }
        }
        do {
            try decodeRuns(mine.map { ids[$0] }, at: mine.map { locations[$0] }, into: output,
                           offsets: mine.map { offsets[$0] }, cache: cache)
        } catch {
            cache.release(mine.map { ids[$0] })
            throw error
        }
        var missed: [Int] = []
        for (index, copied) in cache.waitAndCopy(theirs.map { ids[$0] }, into: theirs.map(destination)).enumerated() where !copied {
            missed.append(theirs[index])
        }
        try decodeRuns(missed.map { ids[$0] }, at: missed.map { locations[$0] }, into: output,
                       offsets: missed.map { offsets[$0] }, cache: nil)
    }

    private func decodeRuns(_ ids: [ChunkID], at locations: [ChunkLocation], into output: UnsafeMutableRawBufferPointer,
                            offsets: [Int], cache: DecodedChunkCache?) throws {
        guard !ids.isEmpty else { return }
        let order = Self.readOrder(locations)
        if order != Array(locations.indices) {
            try decodeRunsInOrder(order.map { ids[$0] }, at: order.map { locations[$0] }, into: output,
                                  offsets: order.map { offsets[$0] }, cache: cache)
        } else {
            try decodeRunsInOrder(ids, at: locations, into: output, offsets: offsets, cache: cache)
        }
    }

    /// The order chunks are read in: by pack (packs in the order the batch first names them), then
    /// by offset. The chunks a batch wants from one frame are so decoded together even when other
    /// chunks come between them in the file, and blobs stored back to back are read together.
    static func readOrder(_ locations: [ChunkLocation]) -> [Int] {
        // Consecutive chunks mostly come from one pack: the dictionary is asked only when it changes.
        var packRank: [PackID: Int] = [:]
        var ranks: [Int] = []
        ranks.reserveCapacity(locations.count)
        for (item, location) in locations.enumerated() {
            if item > 0 && locations[item - 1].pack == location.pack {
                ranks.append(ranks[item - 1])
            } else if let rank = packRank[location.pack] {
                ranks.append(rank)
            } else {
                packRank[location.pack] = packRank.count
                ranks.append(packRank.count - 1)
            }
        }
        return locations.indices.sorted { a, b in
            let x = locations[a], y = locations[b]
            let rankX = ranks[a], rankY = ranks[b]
            if rankX != rankY { return rankX < rankY }
            if x.offset != y.offset { return x.offset < y.offset }
            if x.frameOffset != y.frameOffset { return x.frameOffset < y.frameOffset }
            return a < b
        }
    }

    /// The ranged reads for chunks in read order: runs of blobs of one pack, each at most
    /// `runGap` bytes after the previous one's end (or the same blob), up to `maximumRunBytes`
    /// (a single larger blob is a run of its own); the bytes between two blobs of a run are read
    /// and not used. A run's read ends where the blob that ends last ends (not necessarily the
    /// last one listed, in an index that lists blobs of different lengths at one offset).
    static func runs(_ locations: [ChunkLocation]) -> [(items: Range<Int>, offset: Int64, end: Int64)] {
        var runs: [(items: Range<Int>, offset: Int64, end: Int64)] = []
        guard !locations.isEmpty else { return runs }
        var start = 0
        var end = locations[0].offset + Int64(locations[0].storedLength)
        for item in 1...locations.count {
            let continues = item < locations.count && locations[item].pack == locations[item - 1].pack
                && locations[item].offset >= locations[item - 1].offset
                && locations[item].offset <= locations[item - 1].offset + Int64(locations[item - 1].storedLength) + runGap
                && Int(locations[item].offset - locations[start].offset) + Int(locations[item].storedLength) <= maximumRunBytes
            if continues {
                end = max(end, locations[item].offset + Int64(locations[item].storedLength))
            } else {
                runs.append((start..<item, locations[start].offset, end))
                if item < locations.count {
                    start = item
                    end = locations[item].offset + Int64(locations[item].storedLength)
                }
            }
        }
        return runs
    }

    private func decodeRunsInOrder(_ ids: [ChunkID], at locations: [ChunkLocation], into output: UnsafeMutableRawBufferPointer,
                                   offsets: [Int], cache: DecodedChunkCache?) throws {
        let runs = Self.runs(locations)
        let failures = ResultSlots<any Error>(count: runs.count)
        let decompressors = self.decompressors
        let spans = runs, wanted = ids, places = locations, starts = offsets
        let target = SharedMutableBytes(buffer: output)
        Parallel.forEach(count: spans.count, workers: workers) { worker, run in
            let items = spans[run].items
            let first = places[items.lowerBound]
            do {
                let length = Int(spans[run].end - first.offset)
                let bytes = try self.repository.readRange(ofPack: first.pack, offset: first.offset, length: length)
                var decoded: [UnsafeRawBufferPointer] = []
                defer {
                    // What the run decoded before any failure, in one call (one lock, one wake-up).
                    if let cache, !decoded.isEmpty { cache.insert(Array(wanted[items.prefix(decoded.count)]), decoded) }
                }
                try bytes.withUnsafeBytes { raw in
                    // The chunks of one blob (a frame) are decoded together.
                    var item = items.lowerBound
                    while item < items.upperBound {
                        var end = item + 1
                        while end < items.upperBound && places[end].sharesBlob(with: places[item]) { end += 1 }
                        let location = places[item]
                        let start = Int(location.offset - first.offset)
                        let stored = UnsafeRawBufferPointer(rebasing: raw[start..<(start + Int(location.storedLength))])
                        let chunks = (item..<end).map { index in
                            (wanted[index], places[index],
                             UnsafeMutableRawBufferPointer(rebasing: target.buffer[starts[index]..<(starts[index] + Int(places[index].rawLength))]))
                        }
                        try self.decodeBlob(stored, chunks: chunks, decompressor: decompressors[worker])
                        if cache != nil { decoded += chunks.map { UnsafeRawBufferPointer($0.2) } }
                        item = end
                    }
                }
            } catch {
                failures[run] = error
            }
        }
        for run in runs.indices { if let error = failures[run] { throw error } }
    }

    /// Tells the store which ranges `decode` will read for these chunks, a batch or two ahead of
    /// it. A store where each read waits a round trip (`readConcurrency` > 1) is told exactly the
    /// runs `decode` will read, so that each range it fetches ahead serves one read whole. A local
    /// store, which asks the kernel to read the ranges from the disk, is told them with the runs of
    /// one pack less than 64 KiB apart merged (a restore of a night whose chunks come from seven
    /// nights' packs asked for 126 k ranges one by one, most a single frame, before runs).
    public func prefetch(_ locations: [ChunkLocation]) {
        guard !locations.isEmpty else { return }
        let ordered = Self.readOrder(locations).map { locations[$0] }
        let runs = Self.runs(ordered)
        if repository.store.readConcurrency > 1 {
            for run in runs {
                repository.prefetchRange(ofPack: ordered[run.items.lowerBound].pack, offset: run.offset, length: Int(run.end - run.offset))
            }
            return
        }
        var pack = ordered[runs[0].items.lowerBound].pack
        var (start, end) = (runs[0].offset, runs[0].end)
        for run in runs.dropFirst() {
            let next = ordered[run.items.lowerBound].pack
            if next == pack && run.offset >= start && run.offset <= end + Self.prefetchGap {
                end = max(end, run.end)
            } else {
                repository.prefetchRange(ofPack: pack, offset: start, length: Int(end - start))
                (pack, start, end) = (next, run.offset, run.end)
            }
        }
        repository.prefetchRange(ofPack: pack, offset: start, length: Int(end - start))
    }

    /// Prefetched ranges of one pack closer than this are asked for as one.
    static let prefetchGap: Int64 = 64 << 10

    /// Blobs of one pack this close are read with one ranged read: reading the bytes between them
    /// (from the page cache, after `prefetch`) costs less than another read call (a restore of a
    /// night whose chunks come from seven nights' packs made 39 k reads).
    static let runGap: Int64 = 32 << 10

    /// A run of chunks stored back to back is read with one ranged read of at most this many bytes
    /// (a single larger chunk is a run of its own).
    static let maximumRunBytes = 4 << 20

    /// Opens one stored blob and decodes the chunks wanted from it, each into its `plain` (exactly
    /// its raw length), then verifies their ids; throws for the first chunk that fails.
    private func decodeBlob(_ stored: UnsafeRawBufferPointer,
                            chunks: [(id: ChunkID, location: ChunkLocation, plain: UnsafeMutableRawBufferPointer)],
                            decompressor: ZstdDecompressor) throws {
        if let bad = try openBlob(stored, chunks: chunks, decompressor: decompressor).first {
            let chunk = chunks[bad]
            throw RepositoryError(.integrity, "chunk \(chunk.id.short) in pack \(chunk.location.pack) does not match its id")
        }
    }

    /// Opens one stored blob, decodes the chunks wanted from it and returns the indexes of those
    /// whose bytes do not match their ids. Throws when the blob itself fails (authentication,
    /// decompression, lengths), which every chunk in it shares.
    private func openBlob(_ stored: UnsafeRawBufferPointer,
                          chunks: [(id: ChunkID, location: ChunkLocation, plain: UnsafeMutableRawBufferPointer)],
                          decompressor: ZstdDecompressor, useRecentFrames: Bool = true) throws -> [Int] {
        let head = chunks[0]
        let compression = CompressionAlgorithm(rawValue: head.location.compression)
        guard compression != nil else {
            throw RepositoryError(.integrity, "chunk \(head.id.short) uses unknown compression \(head.location.compression)")
        }
        let frameKey = RecentFrames.Key(pack: head.location.pack, offset: head.location.offset)
        if useRecentFrames, compression == .zstd, let frame = recentFrames.frame(frameKey) {
            // Decoded (authenticated, decompressed) a moment ago for other chunks of it; the ids
            // below verify these as always.
            try frame.withUnsafeBytes { try Self.copyChunks(chunks, from: $0) }
            return chunks.indices.filter { repository.hasher.id(of: UnsafeRawBufferPointer(chunks[$0].plain)) != chunks[$0].id }
        }
        // Errors inside the closure are about the plaintext (length, zstd); those of `open` itself
        // mean the blob failed authentication.
        var contentError: (any Error)?
        do {
            try repository.envelope.open(stored) { opened in
                do {
                    if let partial = try Self.decodeFrame(opened, compression: compression!, chunks: chunks, decompressor: decompressor) {
                        if useRecentFrames { recentFrames.keep(partial, as: frameKey) }
                    }
                } catch {
                    contentError = error
                }
            }
        } catch {
            throw RepositoryError(.integrity, "chunk \(head.id.short) in pack \(head.location.pack) failed authentication", cause: error)
        }
        if let contentError { throw contentError }
        return chunks.indices.filter { repository.hasher.id(of: UnsafeRawBufferPointer(chunks[$0].plain)) != chunks[$0].id }
    }

    /// Frames larger than this are refused rather than decoded into scratch memory.
    static let maximumFrameBytes = 256 << 20

    /// Fills each chunk's `plain` from a blob's opened plaintext: straight from the decompressor
    /// when the chunks wanted are the whole frame and lie back to back, else through scratch memory,
    /// which it returns (a decompressed frame of which only part was wanted) for `RecentFrames`.
    private static func decodeFrame(_ opened: UnsafeRawBufferPointer, compression: CompressionAlgorithm,
                                     chunks: [(id: ChunkID, location: ChunkLocation, plain: UnsafeMutableRawBufferPointer)],
                                     decompressor: ZstdDecompressor) throws -> [UInt8]? {
        let head = chunks[0]
        let frameLength: Int
        if compression == .none {
            frameLength = opened.count
        } else {
            guard let size = ZstdDecompressor.contentSize(of: opened), size <= maximumFrameBytes else {
                throw RepositoryError(.integrity, "chunk \(head.id.short) in pack \(head.location.pack) is in a frame of unknown or impossible size")
            }
            frameLength = size
        }
        for chunk in chunks where Int(chunk.location.frameOffset) + chunk.plain.count > frameLength {
            throw RepositoryError(.integrity, "chunk \(chunk.id.short) in pack \(chunk.location.pack) lies outside its blob (\(frameLength) bytes)")
        }
        if compression == .none {
            try copyChunks(chunks, from: opened)
            return nil
        }
        // The whole frame, back to back in the output (a chunk alone in its blob, or a run of
        // chunks restored in the order they were stored)?
        var whole = head.location.frameOffset == 0
        var next = head.plain.baseAddress! + head.plain.count, covered = head.plain.count
        for chunk in chunks.dropFirst() where whole {
            whole = chunk.plain.baseAddress == next && Int(chunk.location.frameOffset) == covered
            next += chunk.plain.count
            covered += chunk.plain.count
        }
        if whole && covered == frameLength {
            try decompressor.decompress(opened, into: UnsafeMutableRawBufferPointer(start: head.plain.baseAddress, count: frameLength))
            return nil
        }
        let frame = try [UInt8](unsafeUninitializedCapacity: max(1, frameLength)) { buffer, initialized in
            try decompressor.decompress(opened, into: UnsafeMutableRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(buffer)[0..<frameLength]))
            initialized = frameLength
        }
        try frame.withUnsafeBytes { try copyChunks(chunks, from: $0) }
        return frame
    }

    /// Copies each chunk's bytes from a decoded frame (its `frameOffset`, its length).
    private static func copyChunks(_ chunks: [(id: ChunkID, location: ChunkLocation, plain: UnsafeMutableRawBufferPointer)],
                                   from frame: UnsafeRawBufferPointer) throws {
        for chunk in chunks {
            let from = Int(chunk.location.frameOffset)
            guard from >= 0, from + chunk.plain.count <= frame.count else {
                throw RepositoryError(.integrity, "chunk \(chunk.id.short) in pack \(chunk.location.pack) lies outside its blob (\(frame.count) bytes)")
            }
            chunk.plain.copyMemory(from: UnsafeRawBufferPointer(rebasing: frame[from..<(from + chunk.plain.count)]))
        }
    }

    static func missing(_ id: ChunkID) -> RepositoryError {
        RepositoryError(.integrity, "chunk \(id.short) is not in any pack of the repository",
                        hint: "run `cairn check` and `cairn repair index`")
    }

    /// Verifies the chunks of one stored blob given their header entries (used by
    /// `check --read-data` and prune): returns the chunks that fail, every one of them when the
    /// blob itself does.
    public func verify(_ stored: UnsafeRawBufferPointer, entries: [PackEntry], pack: PackID) -> [ChunkID] {
        guard !entries.isEmpty else { return [] }
        var total = 0
        for entry in entries { total += max(0, Int(entry.rawLength)) }
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, total), alignment: 16)
        defer { output.deallocate() }
        var at = 0
        let chunks = entries.map { entry -> (id: ChunkID, location: ChunkLocation, plain: UnsafeMutableRawBufferPointer) in
            let length = max(0, Int(entry.rawLength))
            defer { at += length }
            return (entry.chunk, entry.location(in: pack), UnsafeMutableRawBufferPointer(rebasing: output[at..<(at + length)]))
        }
        do {
            // What is stored now is what this checks: never a frame kept from an earlier read.
            return try openBlob(stored, chunks: chunks, decompressor: decompressors[0], useRecentFrames: false).map { entries[$0].chunk }
        } catch {
            return entries.map(\.chunk)
        }
    }
}

/// Frames of which a restore wanted only some chunks, kept a moment in case the rest is wanted
/// next: by the next batch of the same file (a batch ends inside a frame), or by the other file
/// restored side by side (which wants other chunks of it). Without them, a restore of the medium
/// benchmark's night 7 decoded 6,800–8,100 such frames (170–200 MB) twice, each repeat within
/// the next 256 frames decoded in part. Memory is bounded by `capacity` bytes, oldest out first.
/// Safe from any thread.
public final class RecentFrames: @unchecked Sendable {
    struct Key: Hashable {
        var pack: PackID
        var offset: Int64
    }

    public let capacity: Int
    private let lock = NSLock()
    private var frames: [Key: [UInt8]] = [:]
    private var order: [Key] = []
    private var oldest = 0
    private var bytes = 0
    private var served = 0

    public init(capacity: Int = 8 << 20) {
        self.capacity = capacity
    }

    func frame(_ key: Key) -> [UInt8]? {
        lock.lock()
        defer { lock.unlock() }
        guard let frame = frames[key] else { return nil }
        served += 1
        return frame
    }

    func keep(_ frame: [UInt8], as key: Key) {
        guard frame.count <= capacity / 4 else { return }
        lock.lock()
        defer { lock.unlock() }
        guard frames[key] == nil else { return }
        while bytes + frame.count > capacity, oldest < order.count {
            bytes -= frames.removeValue(forKey: order[oldest])?.count ?? 0
            oldest += 1
        }
        if oldest >= 1024 && oldest * 2 >= order.count {
            order.removeFirst(oldest)
            oldest = 0
        }
        frames[key] = frame
        order.append(key)
        bytes += frame.count
    }

    /// How many frames are kept, and how many times one was used instead of decoding it again.
    var counts: (kept: Int, served: Int) {
        lock.lock()
        defer { lock.unlock() }
        return (frames.count, served)
    }
}
