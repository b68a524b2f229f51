import CairnBackends
import CairnCatalog
import CairnCodec
import CairnCore

/// Copies blobs that are still used out of packs that are mostly unused into new packs, without
/// decrypting more than it must: each blob is verified against its id, then its stored (compressed
/// and sealed) bytes are appended unchanged. Memory holds one source pack at a time.
public final class Repacker {
    private let repository: Repository
    private let reader: BlobReader
    private var writer: PackWriter?
    public private(set) var written: [PackRecord] = []
    public private(set) var copiedBlobs = 0
    public private(set) var copiedBytes: Int64 = 0

    public init(repository: Repository) {
        self.repository = repository
        self.reader = BlobReader(repository: repository, workers: 1)
    }

    /// Copies `entries` (chunks of `pack`, as the catalog lists them, by offset) into the current
    /// new pack. A blob holding a frame of chunks is copied whole while any of them is listed;
    /// only the listed ones are named in the new pack.
    public func copy(_ entries: [PackEntry], from pack: PackID) throws {
        guard !entries.isEmpty else { return }
        let bytes = try repository.store.get(ObjectKey(.data, pack.hex))
        var item = 0
        while item < entries.count {
            let entry = entries[item]
            var end = item + 1
            while end < entries.count && entries[end].offset == entry.offset { end += 1 }
            let blob = Array(entries[item..<end])
            item = end
            let start = Int(entry.offset), stop = start + Int(entry.storedLength)
            guard start >= 0, entry.storedLength >= 0, stop <= bytes.count else {
                throw RepositoryError(.integrity, "pack \(pack) is shorter than its index says (blob \(entry.chunk.short))",
                                      hint: "run `cairn check --read-data`; prune did not change anything")
            }
            let stored = Array(bytes[start..<stop])
            if let bad = stored.withUnsafeBytes({ reader.verify($0, entries: blob, pack: pack) }).first {
                throw RepositoryError(.integrity, "chunk \(bad.short) in pack \(pack) failed verification",
                                      hint: "run `cairn check --read-data`; prune did not change anything")
            }
            guard let compression = CompressionAlgorithm(rawValue: entry.compression) else {
                throw RepositoryError(.integrity, "blob \(entry.chunk.short) in pack \(pack) names unknown compression \(entry.compression)")
            }
            if writer == nil { writer = try PackWriter(for: repository) }
            try writer!.append(stored, chunks: blob.map { ($0.chunk, Int($0.rawLength), Int($0.frameOffset)) },
                               kind: entry.kind, compression: compression)
            copiedBlobs += 1
            copiedBytes += Int64(stored.count)
            if writer!.size >= Int64(repository.config.packSize) { try finishPack() }
        }
    }

    /// Uploads the last pack; returns every pack written.
    public func finish() throws -> [PackRecord] {
        try finishPack()
        return written
    }

    /// Removes an unfinished pack after an error.
    public func abandon() {
        writer?.discard()
        writer = nil
    }

    private func finishPack() throws {
        guard let current = writer, !current.isEmpty else { return }
        writer = nil
        written.append(try current.finish(envelope: repository.envelope, store: repository.store))
    }
}

extension Repository {
    /// Writes index objects (at most `packsPerObject` packs each) without touching the catalog.
    public func writeIndexObjects(_ packs: [PackRecord], packsPerObject: Int = 64) throws -> [IndexID] {
        var ids: [IndexID] = []
        var start = 0
        while start < packs.count {
            let slice = Array(packs[start..<min(start + packsPerObject, packs.count)])
            ids.append(IndexID(try writeSealed(.index, IndexObject.encode(slice, layout: packLayout))))
            start += packsPerObject
        }
        return ids
    }

    /// In one catalog transaction: forgets the `replaced` index objects (and every pack row they
    /// listed) and records `added` with their packs.
    public func replaceIndexes(_ replaced: Set<IndexID>, with added: [(IndexID, [PackRecord])]) throws {
        try catalog.write { writer in
            for id in replaced { try writer.deleteIndex(id) }
            for (id, packs) in added { try writer.insertIndex(id, packs: packs) }
        }
    }
}
