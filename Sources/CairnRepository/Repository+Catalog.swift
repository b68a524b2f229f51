import CairnBackends
import CairnCatalog
import CairnCodec
import CairnCore

extension Repository {
    /// Brings the catalog in line with the store: loads index and snapshot objects it has not
    /// seen, and drops rows for objects that are gone (another host's prune).
    ///
    /// The catalog is read before the store is listed. A process sharing this catalog (a backup
    /// into the same local repository) writes each object before its rows, so an object it adds
    /// meanwhile is at worst loaded twice; listed first, it could be taken for one a prune removed,
    /// and its rows dropped.
    ///
    /// The catalog keeps one location per chunk, the first it saw. Two hosts that stored the same
    /// new chunk at once each index a copy; when another host's prune deletes the copy this catalog
    /// points at (its own catalog points at the other), the chunk would vanish from here although
    /// it is still stored. So after dropping an index, the indexes that remain are read again:
    /// each chunk then gets back a location that exists, if there is one.
    public func synchronizeCatalog() throws {
        let knownIndexes = try catalog.indexIDs()
        let knownSnapshots = Set(try catalog.snapshots().map(\.id))
        let storedIndexes = Set(try store.list(.index).compactMap { IndexID(hex: $0.key.name) })
        let gone = knownIndexes.subtracting(storedIndexes)
        for id in gone {
            try catalog.write { try $0.deleteIndex(id) }
        }
        let reread = gone.isEmpty ? [] : knownIndexes.intersection(storedIndexes).sorted()
        for id in reread + storedIndexes.subtracting(knownIndexes).sorted() {
            do {
                let packs = try IndexObject.decode(try readSealed(ObjectKey(.index, id.hex)), id: id)
                try catalog.write { try $0.insertIndex(id, packs: packs) }
            } catch let error as CairnFailure where error.category == .integrity {
                logger.error("skipping damaged index \(id.short): \(error.message); run `cairn repair index`")
            }
        }
        let storedSnapshots = Set(try store.list(.snapshots).compactMap { SnapshotID(hex: $0.key.name) })
        for id in knownSnapshots.subtracting(storedSnapshots) {
            try catalog.write { try $0.deleteSnapshot(id) }
        }
        for id in storedSnapshots.subtracting(knownSnapshots).sorted() {
            do {
                let plaintext = try readSealed(ObjectKey(.snapshots, id.hex))
                let document = try decodeSnapshot(plaintext, id: id)
                try catalog.write {
                    try $0.insertSnapshot(SnapshotRow(id: id, time: document.time, hostname: document.hostname, document: plaintext))
                }
            } catch let error as CairnFailure where error.category == .integrity {
                logger.error("skipping damaged snapshot \(id.short): \(error.message)")
            }
        }
    }

    /// Reads and decodes an index object from the store (not the catalog): throws an `.integrity`
    /// error when it is damaged.
    public func readIndexObject(_ id: IndexID) throws -> [PackRecord] {
        try IndexObject.decode(try readSealed(ObjectKey(.index, id.hex)), id: id)
    }

    /// What `rebuildCatalog` found and did. Damaged index objects are deleted once the packs no
    /// readable index names are indexed again.
    public struct RebuildReport: Sendable {
        public var indexes = 0
        public var damagedIndexes: [IndexID] = []
        public var packsReindexed: [PackID] = []
        public var damagedPacks: [PackID] = []
        public var snapshots = 0
    }

    /// Empties the catalog and rebuilds it from the store's objects. Packs no readable index names
    /// are read (their headers only) and described by a new index object.
    public func rebuildCatalog() throws -> RebuildReport {
        var report = RebuildReport()
        try catalog.write { try $0.deleteAll(); try $0.setMeta("repository", config.id) }
        for info in try store.list(.index) {
            guard let id = IndexID(hex: info.key.name) else { continue }
            do {
                let packs = try IndexObject.decode(try readSealed(info.key), id: id)
                try catalog.write { try $0.insertIndex(id, packs: packs) }
                report.indexes += 1
            } catch let error as CairnFailure where error.category == .integrity {
                logger.error("index \(id.short) is damaged: \(error.message)")
                report.damagedIndexes.append(id)
            }
        }
        let indexed = Set(try catalog.packIDs())
        var orphans: [PackRecord] = []
        let reader = PackHeaderReader(store: self, envelope: envelope)
        for info in try store.list(.data) {
            guard let pack = PackID(hex: info.key.name), !indexed.contains(pack) else { continue }
            do {
                orphans.append(PackRecord(id: pack, size: info.size, entries: try reader.entries(of: pack, size: info.size)))
                report.packsReindexed.append(pack)
            } catch let error as CairnFailure where error.category == .integrity {
                logger.error("pack \(pack.short) is damaged and cannot be indexed: \(error.message)")
                report.damagedPacks.append(pack)
            }
        }
        if !orphans.isEmpty {
            try writeIndex(orphans)
        }
        // Every pack whose header reads is named by a readable index now, so a damaged index
        // object holds nothing more; left in place, it would keep prune refusing to run.
        for id in report.damagedIndexes {
            try store.delete(ObjectKey(.index, id.hex))
        }
        let storedSnapshots = try store.list(.snapshots).compactMap { SnapshotID(hex: $0.key.name) }
        for id in storedSnapshots {
            do {
                let plaintext = try readSealed(ObjectKey(.snapshots, id.hex))
                let document = try decodeSnapshot(plaintext, id: id)
                try catalog.write {
                    try $0.insertSnapshot(SnapshotRow(id: id, time: document.time, hostname: document.hostname, document: plaintext))
                }
                report.snapshots += 1
            } catch let error as CairnFailure where error.category == .integrity {
                logger.error("snapshot \(id.short) is damaged: \(error.message)")
            }
        }
        return report
    }

    /// Writes an index object for `packs`, then records it in the catalog.
    @discardableResult
    func writeIndex(_ packs: [PackRecord], beforeCatalog: () -> Void = {}) throws -> IndexID {
        let id = IndexID(try writeSealed(.index, IndexObject.encode(packs, layout: packLayout)))
        beforeCatalog()
        try catalog.write { try $0.insertIndex(id, packs: packs) }
        return id
    }
}

extension Repository: ObjectStoreReading {
    /// A missing pack is damage to the repository (the index names it), not a missing input.
    public func readRange(ofPack pack: PackID, offset: Int64, length: Int) throws -> [UInt8] {
        do {
            return try store.get(ObjectKey(.data, pack.hex), offset: offset, length: length)
        } catch let failure as any CairnFailure where failure.category == .inputNotFound {
            throw RepositoryError(.integrity, "pack \(pack.hex) is missing from \(store.location), though the index names it",
                                  hint: "run `cairn check` to see which snapshots and files need it", cause: failure)
        }
    }

    /// Tells the store a range of a pack will be read soon (see `ObjectStore.prefetch`).
    public func prefetchRange(ofPack pack: PackID, offset: Int64, length: Int) {
        store.prefetch(ObjectKey(.data, pack.hex), offset: offset, length: length)
    }

    /// Reads a pack's header from the store.
    public func packEntries(_ pack: PackID, size: Int64) throws -> [PackEntry] {
        try PackHeaderReader(store: self, envelope: envelope).entries(of: pack, size: size)
    }
}
