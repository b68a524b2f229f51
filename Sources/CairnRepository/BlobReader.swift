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
        self.workers = max(1, workers)
        self.decompressors = WorkerLocal(count: max(1, workers)) { ZstdDecompressor() }
    }

    /// Reads and verifies one chunk on the calling thread.
    public func read(_ id: ChunkID) throws -> [UInt8] {
        try read(id, decompressor: decompressors[0])
    }

    /// Reads and verifies chunks in parallel; results are in the order of `ids`. Chunks stored
    /// back to back in one pack (the usual case: a file's chunks were written in order) are read
    /// with one ranged read per run, so small chunks do not cost a read each.
    public func read(_ ids: [ChunkID]) throws -> [[UInt8]] {
        if ids.count == 1 { return [try read(ids[0])] }
        let found = try repository.catalog.locations(of: ids)
        let locations = try ids.indices.map { item -> ChunkLocation in
            guard let location = found[item] else { throw Self.missing(ids[item]) }
            return location
        }
        return try read(ids, at: locations)
    }

    /// Reads the longest prefix of `ids` whose chunks hold at most `byteLimit` bytes (at least
    /// one chunk), so a caller can bound memory whatever the chunk sizes.
    public func read(prefixOf ids: ArraySlice<ChunkID>, byteLimit: Int) throws -> [[UInt8]] {
        var chosen: [ChunkID] = []
        var locations: [ChunkLocation] = []
        var bytes = 0
        let found = try repository.catalog.locations(of: Array(ids))
        for (id, location) in zip(ids, found) {
            guard let location else { throw Self.missing(id) }
            if !chosen.isEmpty && bytes + Int(location.rawLength) > byteLimit { break }
            chosen.append(id)
            locations.append(location)
            bytes += Int(location.rawLength)
        }
        return try read(chosen, at: locations)
    }

    private func read(_ ids: [ChunkID], at locations: [ChunkLocation]) throws -> [[UInt8]] {
        guard !ids.isEmpty else { return [] }
        var runs: [Range<Int>] = []
        var start = 0
        for item in 1...ids.count {
            let continues = item < ids.count && locations[item].pack == locations[item - 1].pack
                && locations[item].offset == locations[item - 1].offset + Int64(locations[item - 1].storedLength)
                && item - start < 256
            if !continues {
                runs.append(start..<item)
                start = item
            }
        }
        let results = ResultSlots<[UInt8]>(count: ids.count)
        let failures = ResultSlots<any Error>(count: runs.count)
        let decompressors = self.decompressors
        let spans = runs
        Parallel.forEach(count: spans.count, workers: workers) { worker, run in
            let items = spans[run]
            let first = locations[items.lowerBound], last = locations[items.upperBound - 1]
            do {
                let length = Int(last.offset - first.offset) + Int(last.storedLength)
                let bytes = try self.repository.readRange(ofPack: first.pack, offset: first.offset, length: length)
                for item in items {
                    let start = Int(locations[item].offset - first.offset)
                    let stored = Array(bytes[start..<(start + Int(locations[item].storedLength))])
                    results[item] = try self.decode(stored, id: ids[item], location: locations[item], decompressor: decompressors[worker])
                }
            } catch {
                failures[run] = error
            }
        }
        for run in runs.indices { if let error = failures[run] { throw error } }
        return results.values
    }

    static func missing(_ id: ChunkID) -> RepositoryError {
        RepositoryError(.integrity, "chunk \(id.short) is not in any pack of the repository",
                        hint: "run `cairn check` and `cairn repair index`")
    }

    private func read(_ id: ChunkID, decompressor: ZstdDecompressor) throws -> [UInt8] {
        guard let location = try repository.catalog.location(of: id) else { throw Self.missing(id) }
        let stored = try repository.readRange(ofPack: location.pack, offset: location.offset, length: Int(location.storedLength))
        return try decode(stored, id: id, location: location, decompressor: decompressor)
    }

    /// Opens, decompresses and verifies one stored blob.
    func decode(_ stored: [UInt8], id: ChunkID, location: ChunkLocation, decompressor: ZstdDecompressor) throws -> [UInt8] {
        let opened: [UInt8]
        do {
            opened = try repository.envelope.open(stored)
        } catch {
            throw RepositoryError(.integrity, "chunk \(id.short) in pack \(location.pack) failed authentication", cause: error)
        }
        let plain: [UInt8]
        switch CompressionAlgorithm(rawValue: location.compression) {
        case .none?:
            plain = opened
        case .zstd?:
            plain = try opened.withUnsafeBytes { try decompressor.decompress($0, rawLength: Int(location.rawLength)) }
        case nil:
            throw RepositoryError(.integrity, "chunk \(id.short) uses unknown compression \(location.compression)")
        }
        guard plain.count == Int(location.rawLength),
              plain.withUnsafeBytes({ repository.hasher.id(of: $0) }) == id else {
            throw RepositoryError(.integrity, "chunk \(id.short) in pack \(location.pack) does not match its id")
        }
        return plain
    }

    /// Verifies one blob of a pack given its header entry (used by `check --read-data`).
    public func verify(_ stored: [UInt8], entry: PackEntry, pack: PackID) throws {
        let location = ChunkLocation(pack: pack, offset: entry.offset, storedLength: entry.storedLength,
                                     rawLength: entry.rawLength, kind: entry.kind, compression: entry.compression)
        _ = try decode(stored, id: entry.chunk, location: location, decompressor: decompressors[0])
    }
}
