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

    public init(repository: Repository, workers: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.repository = repository
        // Remote stores: more threads than cores, so several ranged GETs are in flight.
        let threads = max(1, workers, repository.store.readConcurrency)
        self.workers = threads
        self.decompressors = WorkerLocal(count: threads) { ZstdDecompressor() }
    }

    /// Reads and verifies one chunk on the calling thread.
    public func read(_ id: ChunkID) throws -> [UInt8] {
        let location = try locate([id])[0]
        let stored = try repository.readRange(ofPack: location.pack, offset: location.offset, length: Int(location.storedLength))
        return try decode(stored, id: id, location: location)
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
        var runs: [Range<Int>] = []
        var start = 0
        for item in 1...ids.count {
            let continues = item < ids.count && locations[item].pack == locations[item - 1].pack
                && locations[item].offset == locations[item - 1].offset + Int64(locations[item - 1].storedLength)
                && Int(locations[item].offset - locations[start].offset) + Int(locations[item].storedLength) <= Self.maximumRunBytes
            if !continues {
                runs.append(start..<item)
                start = item
            }
        }
        let failures = ResultSlots<any Error>(count: runs.count)
        let decompressors = self.decompressors
        let spans = runs, wanted = ids, places = locations, starts = offsets
        let target = SharedMutableBytes(buffer: output)
        Parallel.forEach(count: spans.count, workers: workers) { worker, run in
            let items = spans[run]
            let first = places[items.lowerBound], last = places[items.upperBound - 1]
            do {
                let length = Int(last.offset - first.offset) + Int(last.storedLength)
                let bytes = try self.repository.readRange(ofPack: first.pack, offset: first.offset, length: length)
                var decoded: [UnsafeRawBufferPointer] = []
                defer {
                    // What the run decoded before any failure, in one call (one lock, one wake-up).
                    if let cache, !decoded.isEmpty { cache.insert(Array(wanted[items.prefix(decoded.count)]), decoded) }
                }
                try bytes.withUnsafeBytes { raw in
                    for item in items {
                        let location = places[item]
                        let start = Int(location.offset - first.offset)
                        let stored = UnsafeRawBufferPointer(rebasing: raw[start..<(start + Int(location.storedLength))])
                        let plain = UnsafeMutableRawBufferPointer(rebasing: target.buffer[starts[item]..<(starts[item] + Int(location.rawLength))])
                        try self.decode(stored, id: wanted[item], location: location, into: plain, decompressor: decompressors[worker])
                        if cache != nil { decoded.append(UnsafeRawBufferPointer(plain)) }
                    }
                }
            } catch {
                failures[run] = error
            }
        }
        for run in runs.indices { if let error = failures[run] { throw error } }
    }

    /// Tells the store which ranges `decode` will read for these chunks, a batch or two ahead of
    /// it: from a local disk whose cache does not hold them, the kernel then reads them while
    /// earlier batches decode. Ranges of one pack less than 64 KiB apart are asked for as one.
    public func prefetch(_ locations: [ChunkLocation]) {
        var index = 0
        while index < locations.count {
            let first = locations[index]
            var end = first.offset + Int64(first.storedLength)
            index += 1
            while index < locations.count, locations[index].pack == first.pack,
                  locations[index].offset >= first.offset, locations[index].offset <= end + (64 << 10) {
                end = max(end, locations[index].offset + Int64(locations[index].storedLength))
                index += 1
            }
            repository.prefetchRange(ofPack: first.pack, offset: first.offset, length: Int(end - first.offset))
        }
    }

    /// A run of chunks stored back to back is read with one ranged read of at most this many bytes
    /// (a single larger chunk is a run of its own).
    static let maximumRunBytes = 4 << 20

    /// Opens, decompresses and verifies one stored blob into `plain` (exactly its raw length).
    private func decode(_ stored: UnsafeRawBufferPointer, id: ChunkID, location: ChunkLocation,
                        into plain: UnsafeMutableRawBufferPointer, decompressor: ZstdDecompressor) throws {
        let compression = CompressionAlgorithm(rawValue: location.compression)
        guard compression != nil else {
            throw RepositoryError(.integrity, "chunk \(id.short) uses unknown compression \(location.compression)")
        }
        // Errors inside the closure are about the plaintext (length, zstd); those of `open` itself
        // mean the blob failed authentication.
        var contentError: (any Error)?
        do {
            try repository.envelope.open(stored) { opened in
                do {
                    if compression == CompressionAlgorithm.none {
                        guard opened.count == plain.count else {
                            throw RepositoryError(.integrity, "chunk \(id.short) in pack \(location.pack) has the wrong length")
                        }
                        plain.copyMemory(from: opened)
                    } else {
                        try decompressor.decompress(opened, into: plain)
                    }
                } catch {
                    contentError = error
                }
            }
        } catch {
            throw RepositoryError(.integrity, "chunk \(id.short) in pack \(location.pack) failed authentication", cause: error)
        }
        if let contentError { throw contentError }
        guard repository.hasher.id(of: UnsafeRawBufferPointer(plain)) == id else {
            throw RepositoryError(.integrity, "chunk \(id.short) in pack \(location.pack) does not match its id")
        }
    }

    static func missing(_ id: ChunkID) -> RepositoryError {
        RepositoryError(.integrity, "chunk \(id.short) is not in any pack of the repository",
                        hint: "run `cairn check` and `cairn repair index`")
    }

    /// Opens, decompresses and verifies one stored blob.
    private func decode(_ stored: [UInt8], id: ChunkID, location: ChunkLocation) throws -> [UInt8] {
        var plain = [UInt8](repeating: 0, count: Int(location.rawLength))
        try stored.withUnsafeBytes { raw in
            try plain.withUnsafeMutableBytes { out in
                try decode(raw, id: id, location: location, into: out, decompressor: decompressors[0])
            }
        }
        return plain
    }

    /// Verifies one blob of a pack given its header entry (used by `check --read-data`).
    public func verify(_ stored: [UInt8], entry: PackEntry, pack: PackID) throws {
        let location = ChunkLocation(pack: pack, offset: entry.offset, storedLength: entry.storedLength,
                                     rawLength: entry.rawLength, kind: entry.kind, compression: entry.compression)
        _ = try decode(stored, id: entry.chunk, location: location)
    }
}
