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
    /// Snapshots are listed before indexes. A backup writes its index objects before its
    /// snapshot, so every snapshot listed has its chunks in an index listed after it; listed the
    /// other way round, another host's backup committing in between could leave a snapshot here
    /// whose chunks the catalog does not know until the next synchronization.
    ///
    /// The catalog keeps one location per chunk, the first it saw. Two hosts that stored the same
    /// new chunk at once each index a copy; when another host's prune deletes the copy this catalog
    /// points at (its own catalog points at the other), the chunk would vanish from here although
    /// it is still stored. So after dropping an index, the indexes that remain are read again:
    /// each chunk then gets back a location that exists, if there is one.
    ///
    /// Objects are read `store.readConcurrency` at a time: an empty cache for a remote repository
    /// that many hosts back up into reads thousands of them, each a round trip.
    public func synchronizeCatalog() throws {
        let knownIndexes = try catalog.indexIDs()
        let knownSnapshots = Set(try catalog.snapshots().map(\.id))
        let storedSnapshots = Set(try store.list(.snapshots).compactMap { SnapshotID(hex: $0.key.name) })
        let storedIndexes = Set(try store.list(.index).compactMap { IndexID(hex: $0.key.name) })
        let gone = knownIndexes.subtracting(storedIndexes)
        if !gone.isEmpty {
            try catalog.write { writer in
                for id in gone { try writer.deleteIndex(id) }
            }
        }
        let reread = gone.isEmpty ? [] : knownIndexes.intersection(storedIndexes).sorted()
        let newIndexes = storedIndexes.subtracting(knownIndexes).sorted()
        try loadInBatches(reread + newIndexes, read: { repository, id in
            try IndexObject.decode(try repository.readSealed(ObjectKey(.index, id.hex)), id: id)
        }, insert: { writer, id, packs in
            try writer.insertIndex(id, packs: packs)
        }, damaged: { id, error in
            "skipping damaged index \(id.short): \(error.message); run `cairn repair index`"
        })
        let forgotten = knownSnapshots.subtracting(storedSnapshots)
        if !forgotten.isEmpty {
            try catalog.write { writer in
                for id in forgotten { try writer.deleteSnapshot(id) }
            }
        }
        let newSnapshots = storedSnapshots.subtracting(knownSnapshots).sorted()
        try loadInBatches(newSnapshots, read: { repository, id in
            let plaintext = try repository.readSealed(ObjectKey(.snapshots, id.hex))
            let document = try repository.decodeSnapshot(plaintext, id: id)
            return SnapshotRow(id: id, time: document.time, hostname: document.hostname, document: plaintext)
        }, insert: { writer, _, row in
            try writer.insertSnapshot(row)
        }, damaged: { id, error in
            "skipping damaged snapshot \(id.short): \(error.message)"
        })
        logger.debug("""
            catalog synchronized: \(storedSnapshots.count) snapshots and \(storedIndexes.count) indexes listed; \
            \(newSnapshots.count) new snapshots and \(newIndexes.count + reread.count) indexes read; \
            \(forgotten.count) snapshots and \(gone.count) indexes dropped
            """)
    }

    /// Reads the objects `ids` name, `store.readConcurrency` at a time, and inserts what each
    /// reads into the catalog, in `ids` order, one transaction per batch. A batch is a few reads
    /// per thread, so what is held between reading and inserting stays small. An object that
    /// reads as damaged is logged and skipped. One that is gone since the listing is skipped too:
    /// another host's prune or forget deleted it, and synchronizing before the lock is taken
    /// (`Repository.open`) must not fail a command that would then wait for that prune's lock.
    /// Any other failure stops the synchronization.
    private func loadInBatches<ID: Sendable & CustomStringConvertible, Value: Sendable>(
        _ ids: [ID], read: @escaping @Sendable (Repository, ID) throws -> Value,
        insert: (CatalogWriter, ID, Value) throws -> Void,
        damaged: (ID, any CairnFailure) -> String
    ) throws {
        let threads = max(1, store.readConcurrency)
        var first = 0
        while first < ids.count {
            let batch = Array(ids[first..<min(ids.count, first + threads * 4)])
            first += batch.count
            // nil: gone since the listing.
            let results = try BlockingWork.map(count: batch.count, threads: threads) { [self] (item: Int) -> Result<Value?, any Error> in
                do {
                    return .success(try read(self, batch[item]))
                } catch let error as any CairnFailure where error.category == .integrity {
                    return .failure(error)
                } catch let error as any CairnFailure where error.category == .inputNotFound {
                    return .success(nil)
                }
            }
            for (id, result) in zip(batch, results) {
                switch result {
                case .failure(let error as any CairnFailure): logger.error("\(damaged(id, error))")
                case .success(nil): logger.debug("\(id) was deleted since the listing; skipped")
                default: break
                }
            }
            try catalog.write { writer in
                for (id, result) in zip(batch, results) {
                    if case .success(let value?) = result { try insert(writer, id, value) }
                }
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
