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

    /// Reads and verifies chunks in parallel; results are in the order of `ids`.
    public func read(_ ids: [ChunkID]) throws -> [[UInt8]] {
        if ids.count == 1 { return [try read(ids[0])] }
        let results = ResultSlots<[UInt8]>(count: ids.count)
        let failures = ResultSlots<any Error>(count: ids.count)
        let decompressors = self.decompressors
        Parallel.forEach(count: ids.count, workers: workers) { worker, item in
            do {
                results[item] = try self.read(ids[item], decompressor: decompressors[worker])
            } catch {
                failures[item] = error
            }
        }
        for item in ids.indices { if let error = failures[item] { throw error } }
        return results.values
    }

    private func read(_ id: ChunkID, decompressor: ZstdDecompressor) throws -> [UInt8] {
        guard let location = try repository.catalog.location(of: id) else {
            throw RepositoryError(.integrity, "chunk \(id.short) is not in any pack of the repository",
                                  hint: "run `cairn check` and `cairn repair index`")
        }
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
