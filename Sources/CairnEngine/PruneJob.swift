import CairnBackends
import CairnCatalog
import CairnCore
import CairnRepository
import Foundation
import Logging

/// What prune found, would do, and did.
public struct PruneReport: Sendable, Codable {
    public var snapshots = 0
    public var packs = 0
    public var repositoryBytes: Int64 = 0
    public var usedBytes: Int64 = 0
    public var unusedBytes: Int64 = 0
    /// Packs with no used blob, and packs in the store that no index names (interrupted backups).
    public var packsToDelete = 0
    public var unreferencedPacks = 0
    public var packsToRepack = 0
    public var bytesToCopy: Int64 = 0
    /// Bytes the store gives back: deleted and repacked packs, minus the new packs.
    public var reclaimedBytes: Int64 = 0
    /// Unused bytes left in packs that were kept (under `--max-unused`).
    public var unusedBytesKept: Int64 = 0
    public var newPacks = 0
    /// Files a killed backup or prune left in a local repository's `tmp/`, older than a stale lock.
    public var spoolFilesToDelete = 0
    public var spoolBytesToDelete: Int64 = 0
    public var dryRun = false
    public var durationSeconds: Double = 0

    enum CodingKeys: String, CodingKey {
        case snapshots, packs, dryRun = "dry_run", durationSeconds = "duration_s"
        case repositoryBytes = "repository_bytes", usedBytes = "used_bytes", unusedBytes = "unused_bytes"
        case packsToDelete = "packs_deleted", unreferencedPacks = "unreferenced_packs", packsToRepack = "packs_repacked"
        case bytesToCopy = "bytes_copied", reclaimedBytes = "reclaimed_bytes", unusedBytesKept = "unused_bytes_kept"
        case newPacks = "new_packs", spoolFilesToDelete = "spool_files_deleted", spoolBytesToDelete = "spool_bytes_deleted"
    }
}

/// Removes data no snapshot uses, under the exclusive lock. Crash-safe by order:
/// mark what snapshots use (in the catalog, so memory does not grow with the repository) →
/// copy still-used blobs out of mostly-unused packs into new packs → write index objects for the
/// new packs and for the kept packs of every index that changes → commit the catalog → delete the
/// old index objects → delete the old packs. A crash at any point leaves every snapshot readable;
/// the next prune finishes the work.
public final class PruneJob {
    public enum Fault: String, Sendable, CaseIterable {
        case afterRepack = "prune-after-repack"
        case afterIndexWrite = "prune-after-index"
        case afterCatalogCommit = "prune-after-catalog"
        case duringDelete = "prune-during-delete"
    }

    let repository: Repository
    /// Unused bytes tolerated in kept packs, as a fraction of the used bytes (restic's --max-unused).
    let maxUnused: Double
    let dryRun: Bool
    let logger: Logger
    let fault: (Fault) -> Void
    let progress: (String) -> Void
    /// The exclusive lock prune holds, verified before the catalog switches and before anything is
    /// deleted: a prune whose lock another process took over as stale deletes nothing.
    let lock: (any VerifiableLock)?

    public init(repository: Repository, maxUnused: Double, dryRun: Bool, logger: Logger, lock: (any VerifiableLock)? = nil,
                progress: @escaping (String) -> Void = { _ in }, fault: @escaping (Fault) -> Void = { _ in }) {
        self.lock = lock
        self.repository = repository
        self.maxUnused = maxUnused
        self.dryRun = dryRun
        self.logger = logger
        self.progress = progress
        self.fault = fault
    }

    public func run() throws -> PruneReport {
        let started = Date()
        var report = PruneReport()
        report.dryRun = dryRun
        try refuseIfIncomplete()
        report.snapshots = try markUsedChunks()
        defer { try? repository.catalog.write { try $0.clearMarks() } }
        let usage = try repository.catalog.packUsage()
        try refuseImpossibleSizes(usage)
        try removeStaleSpoolFiles(now: started, report: &report)

        // Sums of the catalog's sizes are exact (`refuseImpossibleSizes`); the store's listing
        // only says how large the repository is and what unreferenced packs give back.
        let stored = try repository.store.list(.data)
        let indexed = Set(usage.map(\.pack))
        let unreferenced = stored.filter { info in PackID(hex: info.key.name).map { !indexed.contains($0) } ?? false }
        report.packs = usage.count + unreferenced.count
        report.repositoryBytes = stored.saturatingSum(of: \.size)
        report.usedBytes = usage.reduce(0) { $0 + $1.usedStoredBytes }
        report.unusedBytes = report.repositoryBytes - report.usedBytes

        let unused = usage.filter { $0.usedBlobs == 0 }
        let repack = choosePacksToRepack(usage.filter { $0.usedBlobs > 0 && $0.unusedStoredBytes > 0 }, report: &report)
        report.packsToDelete = unused.count + unreferenced.count
        report.unreferencedPacks = unreferenced.count
        report.packsToRepack = repack.count
        report.bytesToCopy = repack.reduce(0) { $0 + $1.usedStoredBytes }
        let removedBytes = [unused.reduce(0) { $0 + $1.size } + repack.reduce(0) { $0 + $1.size },
                            unreferenced.saturatingSum(of: \.size)].saturatingSum { $0 }
        report.reclaimedBytes = removedBytes - report.bytesToCopy
        if dryRun || (unused.isEmpty && repack.isEmpty && unreferenced.isEmpty) {
            report.durationSeconds = Date().timeIntervalSince(started)
            return report
        }

        // 1. New packs with the used blobs of the packs being repacked.
        let repacker = Repacker(repository: repository)
        var copied = 0
        do {
            for pack in repack {
                try repacker.copy(try repository.catalog.markedEntries(inPack: pack.pack), from: pack.pack)
                copied += 1
                progress("repacked \(copied) of \(repack.count) packs")
            }
        } catch {
            repacker.abandon()
            throw error
        }
        let newPacks = try repacker.finish()
        report.newPacks = newPacks.count
        report.reclaimedBytes = removedBytes - newPacks.reduce(0) { $0 + $1.size }
        fault(.afterRepack)

        // 2. Index objects for the new packs and for the packs kept from every index that changes.
        let removedPacks = Set(unused.map(\.pack) + repack.map(\.pack))
        let oldIndexes = try repository.catalog.indexes(listing: Array(removedPacks))
        var kept: [PackRecord] = []
        for index in oldIndexes.sorted() {
            for pack in try repository.catalog.packs(inIndex: index) where !removedPacks.contains(pack) {
                kept.append(PackRecord(id: pack, size: try repository.catalog.packSize(pack) ?? 0,
                                       entries: try repository.catalog.entries(inPack: pack)))
            }
        }
        let records = newPacks + kept
        let newIndexes = try repository.writeIndexObjects(records)
        fault(.afterIndexWrite)

        // 3. The catalog switches to the new index objects in one transaction.
        try lock?.verify()
        var added: [(IndexID, [PackRecord])] = []
        for (position, id) in newIndexes.enumerated() {
            let start = position * 64
            added.append((id, Array(records[start..<min(start + 64, records.count)])))
        }
        try repository.replaceIndexes(oldIndexes, with: added)
        fault(.afterCatalogCommit)

        // 4. Old index objects first (so nothing names the packs), then the packs.
        try lock?.verify()
        for index in oldIndexes.sorted() {
            try repository.store.delete(ObjectKey(.index, index.hex))
        }
        var deleted = 0
        for pack in removedPacks.sorted() {
            try repository.store.delete(ObjectKey(.data, pack.hex))
            deleted += 1
            if deleted == 1 { fault(.duringDelete) }
            if deleted % 16 == 0 { progress("deleted \(deleted) of \(removedPacks.count) packs") }
        }
        for info in unreferenced { try repository.store.delete(info.key) }
        report.durationSeconds = Date().timeIntervalSince(started)
        return report
    }

    /// Prune must see everything: an index or snapshot object the catalog could not load would
    /// make its data look unused.
    private func refuseIfIncomplete() throws {
        try repository.synchronizeCatalog()
        let storedIndexes = Set(try repository.store.list(.index).compactMap { IndexID(hex: $0.key.name) })
        let loadedIndexes = try repository.catalog.indexIDs()
        if !storedIndexes.subtracting(loadedIndexes).isEmpty {
            throw EngineError(.integrity, "\(storedIndexes.subtracting(loadedIndexes).count) index object(s) cannot be read, so prune cannot tell what is used",
                              hint: "run `cairn check`, then `cairn repair index`; prune changed nothing")
        }
        let storedSnapshots = Set(try repository.store.list(.snapshots).compactMap { SnapshotID(hex: $0.key.name) })
        let loadedSnapshots = Set(try repository.catalog.snapshots().map(\.id))
        if !storedSnapshots.subtracting(loadedSnapshots).isEmpty {
            throw EngineError(.integrity, "\(storedSnapshots.subtracting(loadedSnapshots).count) snapshot object(s) cannot be read, so prune cannot tell what they use",
                              hint: "run `cairn check`; remove a snapshot that is beyond repair with `cairn forget ID`; prune changed nothing")
        }
    }

    /// Below this, all packs' sizes add up exactly in SQLite's `total` (2^53 bytes, 8 PiB).
    static let maximumRepositoryBytes: Int64 = 1 << 53

    /// The sizes prune adds up and compares come from the catalog: a cache rebuilt from index
    /// objects, which any key holder of a shared repository writes, and a file anyone with the
    /// cache can damage. Index objects bound each pack's size to Int64 and each blob's length to
    /// Int32, but not their sums, and a damaged cache bounds nothing: added up, such sizes trap
    /// or fail the query. Saturating them is right for `stats`, which only reports; prune picks
    /// by them which packs to repack, before it deletes, so a catalog with sizes no repository
    /// has stops it as a catalog missing index objects does, with nothing changed. Every pack
    /// is at least as large as its blobs (the header and trailer follow them), and all packs
    /// add up to less than `maximumRepositoryBytes`; then every sum prune takes of them is exact.
    private func refuseImpossibleSizes(_ usage: [PackUsage]) throws {
        let hint = "run `cairn check --read-data` to see what is damaged, and `cairn repair index` to rebuild the catalog; prune changed nothing"
        var total: Int64 = 0
        for pack in usage {
            let (blobs, blobsOverflow) = pack.usedStoredBytes.addingReportingOverflow(pack.unusedStoredBytes)
            guard pack.size >= 0, pack.usedStoredBytes >= 0, pack.unusedStoredBytes >= 0, !blobsOverflow, blobs <= pack.size else {
                throw EngineError(.integrity, "the catalog gives pack \(pack.pack.short) an impossible size: \(pack.size) bytes, "
                                  + "holding blobs of \(pack.usedStoredBytes) used and \(pack.unusedStoredBytes) unused bytes", hint: hint)
            }
            total += min(pack.size, Self.maximumRepositoryBytes)
            guard total < Self.maximumRepositoryBytes else {
                throw EngineError(.integrity, "the catalog's packs add up to 8 PiB or more, which no repository holds", hint: hint)
            }
        }
    }

    /// Spool files a killed backup or prune left behind. No writer runs while prune holds the
    /// exclusive lock, and a live one refreshes its lock more often than `staleAfter`: a file
    /// that old is no live writer's, even if the lock was taken over by mistake.
    private func removeStaleSpoolFiles(now: Date, report: inout PruneReport) throws {
        let cleanup = try repository.store.removeStaleSpoolFiles(modifiedBefore: now.addingTimeInterval(-RepositoryLock.staleAfter),
                                                                 dryRun: dryRun)
        report.spoolFilesToDelete = cleanup.files
        report.spoolBytesToDelete = cleanup.bytes
    }

    /// Marks every chunk (tree and data) that any snapshot uses; returns the snapshot count.
    private func markUsedChunks() throws -> Int {
        try repository.catalog.write { try $0.clearMarks() }
        let snapshots = try repository.snapshots()
        for (position, snapshot) in snapshots.enumerated() {
            progress("marking data used by snapshot \(position + 1) of \(snapshots.count)")
            let treeIDs = try snapshot.document.treeChunkIDs()
            var batch = treeIDs
            let tree = try TreeReader(repository: repository, snapshot: snapshot.document)
            while let node = try tree.next() {
                guard node.kind == .file else { continue }
                while true {
                    let ids = try tree.nextChunks(limit: 4096)
                    if ids.isEmpty { break }
                    batch += ids
                    if batch.count >= 16_384 {
                        try repository.catalog.write { [batch] in try $0.mark(batch) }
                        batch.removeAll(keepingCapacity: true)
                    }
                }
            }
            try repository.catalog.write { [batch] in try $0.mark(batch) }
        }
        let missing = try repository.catalog.markedButMissingCount()
        if missing > 0 {
            throw EngineError(.integrity, "snapshots use \(missing) chunk(s) that no index lists",
                              hint: "run `cairn check --read-data` and `cairn repair index`; prune changed nothing")
        }
        return snapshots.count
    }

    /// Packs with the largest unused share first, until the unused bytes left in kept packs are
    /// within `maxUnused` of the used bytes.
    private func choosePacksToRepack(_ partial: [PackUsage], report: inout PruneReport) -> [PackUsage] {
        let allowed = Int64(Double(report.usedBytes) * maxUnused)
        var remaining = partial.reduce(0) { $0 + $1.unusedStoredBytes }
        var chosen: [PackUsage] = []
        let ordered = partial.sorted {
            (Double($0.unusedStoredBytes) / Double(max($0.size, 1)), $0.pack) > (Double($1.unusedStoredBytes) / Double(max($1.size, 1)), $1.pack)
        }
        for pack in ordered where remaining > allowed {
            chosen.append(pack)
            remaining -= pack.unusedStoredBytes
        }
        report.unusedBytesKept = remaining
        return chosen
    }
}
