import CairnBackends
import CairnCatalog
import CairnCodec
import CairnCore
import CairnRepository
import Foundation
import Logging

/// What `cairn check` found.
public struct CheckReport: Sendable {
    public var snapshotsChecked = 0
    public var packsChecked = 0
    /// Packs `--read-data` would read with no subset (the indexed packs that exist with their size).
    public var packsToRead = 0
    public var blobsChecked = 0
    public var bytesRead: Int64 = 0
    /// Problems that make data unrestorable or the repository inconsistent.
    public var errors: [String] = []
    /// Things worth knowing that lose nothing (unreferenced packs).
    public var notes: [String] = []
    /// Damaged packs with the snapshots and files that use them.
    public var damage: [PackDamage] = []

    public var isClean: Bool { errors.isEmpty }
}

public struct PackDamage: Sendable {
    public var pack: PackID
    public var reason: String
    /// "snapshot-short-id: path" for every file that needs a damaged chunk of this pack.
    public var affected: [String] = []
}

/// `cairn check [--read-data]`: every snapshot's tree and chunks are indexed, every indexed pack
/// exists with its size; with `readData`, every pack (or the `subset`) is read and every blob
/// authenticated, decompressed and matched to its id, and damage is traced to snapshots and files.
public struct CheckJob {
    let repository: Repository
    let readData: Bool
    let subset: PackSubset
    /// With `readData`: packs (as files) and bytes read so far, of the packs to read.
    let progress: WorkProgress
    let logger: Logger

    public init(repository: Repository, readData: Bool, subset: PackSubset = .all, progress: WorkProgress = WorkProgress(),
                logger: Logger) {
        self.repository = repository
        self.readData = readData
        self.subset = subset
        self.progress = progress
        self.logger = logger
    }

    public func run() throws -> CheckReport {
        var generator = SystemRandomNumberGenerator()
        return try run(using: &generator)
    }

    /// `run()`, with the generator that picks a random `subset`.
    public func run<Generator: RandomNumberGenerator>(using generator: inout Generator) throws -> CheckReport {
        var report = CheckReport()
        var damagedChunks: [ChunkID: PackID] = [:]
        var damage: [PackID: PackDamage] = [:]
        // The catalog first, then the store: a backup running beside this check stores each pack
        // before the catalog names it, so every pack named here is in the listing that follows.
        // (The other way round, a pack stored and indexed between the two reads was reported missing.)
        let indexed = try repository.catalog.packIDs()
        let stored = Dictionary(try repository.store.list(.data).compactMap { info in
            PackID(hex: info.key.name).map { ($0, info.size) }
        }, uniquingKeysWith: { first, _ in first })
        for pack in indexed {
            guard let size = stored[pack] else {
                report.errors.append("pack \(pack) is named by the index but missing from the repository")
                damage[pack] = PackDamage(pack: pack, reason: "missing")
                for entry in try repository.catalog.entries(inPack: pack) { damagedChunks[entry.chunk] = pack }
                continue
            }
            if let expected = try repository.catalog.packSize(pack), expected != size {
                report.errors.append("pack \(pack) is \(size) bytes but the index says \(expected)")
                damage[pack] = PackDamage(pack: pack, reason: "wrong size")
                for entry in try repository.catalog.entries(inPack: pack) { damagedChunks[entry.chunk] = pack }
            }
        }
        let indexedSet = Set(indexed)
        for pack in stored.keys where !indexedSet.contains(pack) {
            report.notes.append("pack \(pack.short) is not in any index (left by an interrupted backup; `cairn prune` reclaims it, `cairn repair index` adopts it)")
        }
        if readData {
            let readable = indexed.sorted().filter { damage[$0] == nil }
            report.packsToRead = readable.count
            let packs = subset.select(readable, using: &generator)
            // The listing's sizes (input from the network) only show here as the bytes to go.
            progress.setTotals(files: packs.count, bytes: packs.saturatingSum { stored[$0]! })
            let verifier = PackVerifier(repository: repository, progress: progress)
            for (pack, verified) in zip(packs, try verifier.verify(packs.map { ($0, stored[$0]!) })) {
                report.packsChecked += 1
                report.bytesRead += verified.bytes
                report.blobsChecked += verified.blobs
                for chunk in verified.damagedChunks { damagedChunks[chunk] = pack }
                if let problem = verified.problem {
                    report.errors.append("pack \(pack): \(problem)")
                    damage[pack] = PackDamage(pack: pack, reason: problem)
                }
            }
        }
        try checkObjects(&report)
        try checkSnapshots(&report, damagedChunks: damagedChunks, damage: &damage)
        report.damage = damage.values.sorted { $0.pack < $1.pack }
        return report
    }

    /// Snapshot and index objects the catalog could not load are damage: synchronizing skips them
    /// (with a log line), so without this a damaged snapshot simply went missing from the count.
    /// One the catalog lacks is read again first: a backup may have written it since. With
    /// `readData`, every one is also read and its SHA-256 compared with its name.
    private func checkObjects(_ report: inout CheckReport) throws {
        let snapshots = Set(try repository.catalog.snapshots().map(\.id.hex))
        try checkObjects(.snapshots, loaded: snapshots, remedy: { "`cairn forget \($0.prefix(8))` removes it" }, &report) { name in
            if let id = SnapshotID(hex: name) { _ = try repository.loadSnapshot(id) }
        }
        let indexes = Set(try repository.catalog.indexIDs().map(\.hex))
        try checkObjects(.index, loaded: indexes, remedy: { _ in "`cairn repair index` indexes its packs again" }, &report) { name in
            if let id = IndexID(hex: name) { _ = try repository.readIndexObject(id) }
        }
    }

    /// The objects of `kind` whose names are not in `loaded` are read with `read` (throwing an
    /// `.integrity` error when damaged); with `readData`, every one's name is checked too.
    private func checkObjects(_ kind: ObjectKind, loaded: Set<String>, remedy: (String) -> String, _ report: inout CheckReport,
                              read: (String) throws -> Void) throws {
        let noun = kind == .snapshots ? "snapshot" : "index"
        for info in try repository.store.list(kind) where Hash256(hex: info.key.name) != nil {
            if !loaded.contains(info.key.name) {
                do {
                    try read(info.key.name)
                } catch let error as CairnFailure where error.category == .integrity {
                    report.errors.append("\(noun) object \(info.key.name.prefix(8)) cannot be read: \(error.message) (\(remedy(info.key.name)))")
                    continue
                }
            }
            if readData { try checkName(info, &report) }
        }
    }

    /// An object named by the SHA-256 of its bytes must have that SHA-256 (a copy under another
    /// name would count twice).
    private func checkName(_ info: ObjectInfo, _ report: inout CheckReport) throws {
        let bytes = try repository.store.get(info.key)
        let digest = SHA256Digest.hash(bytes)
        if digest.hex != info.key.name {
            report.errors.append("\(info.key.path) does not match its name: its SHA-256 is \(digest.hex)")
        }
    }

    private func checkSnapshots(_ report: inout CheckReport, damagedChunks: [ChunkID: PackID], damage: inout [PackID: PackDamage]) throws {
        for snapshot in try repository.snapshots() {
            report.snapshotsChecked += 1
            let label = snapshot.id.short
            do {
                for id in try snapshot.document.treeChunkIDs() {
                    if let pack = damagedChunks[id] {
                        damage[pack]?.affected.append("\(label): (snapshot tree)")
                    } else if try !repository.catalog.contains(id) {
                        report.errors.append("snapshot \(label): tree blob \(id.short) is missing")
                    }
                }
                let tree = try TreeReader(repository: repository, snapshot: snapshot.document)
                while let node = try tree.next() {
                    guard node.kind == .file else { continue }
                    var missing = 0
                    var hitPacks = Set<PackID>()
                    while true {
                        let ids = try tree.nextChunks(limit: 4096)
                        if ids.isEmpty { break }
                        // One catalog read transaction for the lot, not one per chunk.
                        let known = try repository.catalog.contains(ids)
                        for (item, id) in ids.enumerated() {
                            if let pack = damagedChunks[id] {
                                hitPacks.insert(pack)
                            } else if !known[item] {
                                missing += 1
                            }
                        }
                    }
                    for pack in hitPacks { damage[pack]?.affected.append("\(label): \(node.pathString)") }
                    if missing > 0 {
                        report.errors.append("snapshot \(label): \(node.pathString) needs \(missing) chunk(s) that are not in the repository")
                    }
                }
            } catch let error as CairnFailure where error.category == .integrity {
                report.errors.append("snapshot \(label): its tree cannot be read: \(error.message)")
            }
        }
    }
}

/// Reads packs and verifies every blob, several packs at once (`workers`, at most four). A pack
/// is read in ranged reads of at most `windowBytes` that end at blob boundaries (its SHA-256 taken
/// as they come), so a worker holds a few MiB, not a whole pack. Results come back in the order
/// asked, whatever order the packs finished in; the first error (a pack that cannot be read) is
/// thrown after all are done.
final class PackVerifier: @unchecked Sendable {
    struct Verified {
        /// The bytes read: the pack's size once all of it was read.
        var bytes: Int64 = 0
        var blobs = 0
        var damagedChunks: [ChunkID] = []
        /// What is wrong with the pack, or nil.
        var problem: String?
    }

    let repository: Repository
    let workers: Int
    let windowBytes: Int
    let progress: WorkProgress
    private let lock = NSLock()
    private var next = 0
    private var results: [Result<Verified, any Error>?] = []

    init(repository: Repository, workers: Int = min(4, max(2, ProcessInfo.processInfo.activeProcessorCount)),
         windowBytes: Int = 4 << 20, progress: WorkProgress = WorkProgress()) {
        self.repository = repository
        self.progress = progress
        self.workers = workers
        self.windowBytes = windowBytes
    }

    /// Verifies each pack of the given size.
    func verify(_ packs: [(pack: PackID, size: Int64)]) throws -> [Verified] {
        results = Array(repeating: nil, count: packs.count)
        next = 0
        DispatchQueue.concurrentPerform(iterations: max(1, min(workers, packs.count))) { _ in
            while let index = take(packs.count) {
                let result = Result { try verify(packs[index].pack, size: packs[index].size) }
                progress.finishFile(packs[index].pack.short)
                lock.lock()
                results[index] = result
                lock.unlock()
            }
        }
        return try results.map { result in
            do {
                return try result!.get()
            } catch let error as any CairnFailure where error.category == .integrity {
                // A pack that cannot be read to its end (shorter than listed, gone since the
                // listing) is that pack's damage: the other packs are still read and reported.
                var verified = Verified()
                verified.problem = error.message
                return verified
            }
        }
    }

    private func take(_ count: Int) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard next < count else { return nil }
        next += 1
        return next - 1
    }

    /// Cuts a pack into ranged reads, one window at a time (a pack listed at an absurd size must
    /// fail at its first short read, not be cut up front): whole blobs up to `windowBytes`, at
    /// least one; after the last blob, the header and trailer. Entries that overlap a blob
    /// already taken, or run past the end, are `damaged` (the index and the pack disagree).
    private struct WindowCutter {
        struct Window {
            var start: Int64
            var end: Int64
            var entries: [PackEntry]
        }

        let entries: [PackEntry]
        let size: Int64
        let windowBytes: Int
        var item = 0
        var start: Int64 = 0
        var damaged: [ChunkID] = []

        mutating func next() -> Window? {
            guard start < size else { return nil }
            var window = Window(start: start, end: start, entries: [])
            while item < entries.count {
                let entry = entries[item]
                // `size - storedLength`, not `offset + storedLength`: an offset near Int64.max is damage, not a trap.
                if entry.offset < start || entry.storedLength < 0 || entry.offset > size - Int64(entry.storedLength) {
                    damaged.append(entry.chunk)
                    item += 1
                    continue
                }
                let entryEnd = entry.offset + Int64(entry.storedLength)
                if window.end > start && entryEnd - start > Int64(windowBytes) { break }
                window.end = max(window.end, entryEnd)
                window.entries.append(entry)
                item += 1
            }
            if window.end == start { window.end = start + min(Int64(windowBytes), size - start) }
            start = window.end
            return window
        }
    }

    /// Reads one pack, window by window, and verifies its name and every blob. `size` is what
    /// the store's listing and the index agree on, and the entries are the catalog's: a size or
    /// an entry no pack has makes damage to report or a read that fails, never a sum that traps.
    /// Each window's read is announced to the store while the one before it is read and verified,
    /// so a remote store downloads it meanwhile (`ReadAheadStore`) and a local one reads it from the disk.
    private func verify(_ pack: PackID, size: Int64) throws -> Verified {
        var verified = Verified()
        let entries = try repository.catalog.entries(inPack: pack).sorted { ($0.offset, $0.frameOffset) < ($1.offset, $1.frameOffset) }
        verified.blobs = entries.count
        let reader = BlobReader(repository: repository, workers: 1)
        var digest = StreamingSHA256()
        var bad = 0
        var cutter = WindowCutter(entries: entries, size: size, windowBytes: windowBytes)
        var next = cutter.next()
        while let window = next {
            next = cutter.next()
            if let ahead = next {
                repository.prefetchRange(ofPack: pack, offset: ahead.start, length: Int(ahead.end - ahead.start))
            }
            let start = window.start, inWindow = window.entries
            let bytes = try repository.readRange(ofPack: pack, offset: start, length: Int(window.end - start))
            verified.bytes += Int64(bytes.count)
            progress.addBytes(Int64(bytes.count))
            bytes.withUnsafeBytes { digest.update($0) }
            // The chunks of one blob (a frame) are verified together.
            var first = 0
            while first < inWindow.count {
                var end = first + 1
                while end < inWindow.count && inWindow[end].offset == inWindow[first].offset { end += 1 }
                let from = Int(inWindow[first].offset - start)
                let failed = bytes.withUnsafeBytes { raw in
                    reader.verify(UnsafeRawBufferPointer(rebasing: raw[from..<(from + Int(inWindow[first].storedLength))]),
                                  entries: Array(inWindow[first..<end]), pack: pack)
                }
                bad += failed.count
                verified.damagedChunks += failed
                first = end
            }
        }
        bad += cutter.damaged.count
        verified.damagedChunks += cutter.damaged
        var problems: [String] = []
        if digest.finalize() != pack.hash { problems.append("content does not match its name (SHA-256)") }
        if bad > 0 { problems.append("\(bad) of \(entries.count) chunks failed verification") }
        verified.problem = problems.isEmpty ? nil : problems.joined(separator: "; ")
        return verified
    }
}
