import CairnBackends
import CairnCore
import CairnRepository
import Foundation
import Logging

/// What `cairn mirror` copied and deleted (or would, with `dryRun`).
public struct MirrorReport: Sendable, Codable {
    public var objectsCopied = 0
    public var bytesCopied: Int64 = 0
    /// Objects the destination already held with the same size (and, for packs, index and
    /// snapshot objects, the same name, which is their content's SHA-256).
    public var objectsPresent = 0
    public var objectsDeleted = 0
    public var snapshotsCopied = 0
    public var snapshotsDeleted = 0
    public var createdRepository = false
    public var dryRun = false
    public var durationSeconds: Double = 0

    enum CodingKeys: String, CodingKey {
        case objectsCopied = "objects_copied", bytesCopied = "bytes_copied", objectsPresent = "objects_present"
        case objectsDeleted = "objects_deleted", snapshotsCopied = "snapshots_copied", snapshotsDeleted = "snapshots_deleted"
        case createdRepository = "created_repository", dryRun = "dry_run", durationSeconds = "duration_s"
    }
}

/// Makes `destination` hold the same repository as `source`: every object the destination lacks
/// (or holds with another size) is copied unchanged, so the copy opens with the same passwords
/// and keeps the same ids. No password is needed: objects stay sealed, and packs, index and
/// snapshot objects are checked against their names (the SHA-256 of their bytes) on the way.
///
/// Order keeps the destination a valid repository at every moment, also across a crash: `prepare`
/// creates a new destination and puts the config there first (so a second run recognizes it as
/// this repository's copy, and no other), then `run` copies keys, packs, index objects and
/// snapshots in that order; with `deleteExtraneous`, what the source no longer has goes in the
/// reverse order (snapshots, index objects, packs, keys). A destination that holds another
/// repository, or other files, is refused. Between the two calls the caller takes a shared lock
/// on the source (so no prune removes what is being copied) and an exclusive one on the destination.
public final class MirrorJob: @unchecked Sendable {
    let source: any ObjectStore
    let destination: any ObjectStore
    let deleteExtraneous: Bool
    let dryRun: Bool
    let workers: Int
    let progress: WorkProgress
    let logger: Logger
    /// Called after each kind is listed (tests stop the process there to run a backup meanwhile).
    let listed: (ObjectKind) -> Void

    public init(source: any ObjectStore, destination: any ObjectStore, deleteExtraneous: Bool, dryRun: Bool,
                workers: Int = 4, progress: WorkProgress = WorkProgress(), logger: Logger,
                listed: @escaping (ObjectKind) -> Void = { _ in }) {
        self.listed = listed
        self.source = source
        self.destination = destination
        self.deleteExtraneous = deleteExtraneous
        self.dryRun = dryRun
        self.workers = max(1, workers)
        self.progress = progress
        self.logger = logger
    }

    /// The kinds in the order they are copied; deletions go the other way.
    static let order: [ObjectKind] = [.keys, .data, .index, .snapshots]

    private var created = false

    /// Refuses a destination that holds another repository or other files; for a new one (unless
    /// `dryRun`), creates it and copies the config. Call before `run`, before locking.
    public func prepare() throws {
        created = try checkConfig()
        guard created, !dryRun else { return }
        try (destination as? ObjectStoreCreating)?.create()
        let config = try source.get(.config)
        try destination.put(.config, bytes: config)
    }

    public func run() throws -> MirrorReport {
        let started = Date()
        var report = MirrorReport()
        report.dryRun = dryRun
        report.createdRepository = created

        var missing: [ObjectKind: [ObjectInfo]] = [:]
        var extraneous: [ObjectKind: [ObjectInfo]] = [:]
        // Listed in the reverse of the order a backup writes them (it stores packs, then their
        // index object, then the snapshot): a snapshot listed here had its index and packs stored
        // before, so the listings after it include them, even with a backup running meanwhile.
        for kind in Self.order.reversed() {
            let have = Dictionary(try destination.list(kind).map { ($0.key, $0.size) }, uniquingKeysWith: { first, _ in first })
            let want = try source.list(kind)
            try refuseNegativeSizes(want)
            missing[kind] = want.filter { have[$0.key] != $0.size }
            report.objectsPresent += want.count - missing[kind]!.count
            let wanted = Set(want.map(\.key))
            extraneous[kind] = have.keys.filter { !wanted.contains($0) }.map { ObjectInfo(key: $0, size: have[$0]!) }
            listed(kind)
        }
        let toCopy = Self.order.flatMap { missing[$0]! }
        report.objectsCopied = toCopy.count
        report.bytesCopied = toCopy.saturatingSum(of: \.size)
        report.snapshotsCopied = missing[.snapshots]!.count
        if deleteExtraneous {
            report.objectsDeleted = extraneous.values.reduce(0) { $0 + $1.count }
            report.snapshotsDeleted = extraneous[.snapshots]!.count
        }
        if dryRun {
            report.durationSeconds = Date().timeIntervalSince(started)
            return report
        }

        progress.setTotals(files: toCopy.count, bytes: report.bytesCopied)
        let copier = ObjectCopier(from: source, to: destination)
        for kind in Self.order {
            try copyAll(missing[kind]!, kind: kind, copier: copier)
        }
        if deleteExtraneous {
            for kind in Self.order.reversed() {
                for object in extraneous[kind]! { try destination.delete(object.key) }
            }
        }
        report.durationSeconds = Date().timeIntervalSince(started)
        return report
    }

    /// The source's listing is input from the network, and the copier reads each object by the
    /// size listed. A size too large fails that copy where the object ends (a short read, an
    /// integrity error), and the report adds sizes up to at most Int64.max; a negative size is
    /// none at all, and is refused before any object is copied or deleted, also by a dry run.
    private func refuseNegativeSizes(_ listing: [ObjectInfo]) throws {
        guard let object = listing.first(where: { $0.size < 0 }) else { return }
        throw EngineError(.integrity, "\(source.location) lists \(object.key.path) with a negative size (\(object.size)): its listing is damaged",
                          hint: "the source's store may be failing: run mirror again later; it stopped before copying or deleting anything it listed")
    }

    /// True when the destination is empty and the config is still to be copied; throws when it
    /// holds another repository, or anything but a repository.
    private func checkConfig() throws -> Bool {
        let sourceConfig = try Self.config(source, role: "the source")
        guard let bytes = try Self.optionalGet(destination, .config) else {
            for kind in Self.order where !(try destination.list(kind).isEmpty) {
                throw EngineError(.usage, "\(destination.location) holds \(kind.rawValue)/ objects but no config: it is not a Cairn repository",
                                  hint: "mirror into an empty location, or into an earlier mirror of the same repository")
            }
            return true
        }
        let config: RepositoryConfig
        do {
            config = try JSONCoding.decoder.decode(RepositoryConfig.self, from: Data(bytes))
        } catch {
            throw EngineError(.usage, "\(destination.location) has a config that is not a Cairn repository's", cause: error)
        }
        guard config.id == sourceConfig.id else {
            throw EngineError(.usage, "\(destination.location) is another repository (id \(config.id.prefix(8)), the source is \(sourceConfig.id.prefix(8)))",
                              hint: "mirror into an empty location, or into an earlier mirror of the same repository")
        }
        return false
    }

    private static func config(_ store: any ObjectStore, role: String) throws -> RepositoryConfig {
        guard let bytes = try optionalGet(store, .config) else {
            throw EngineError(.repositoryNotFound, "\(store.location) is not a Cairn repository (no config object)")
        }
        do {
            return try JSONCoding.decoder.decode(RepositoryConfig.self, from: Data(bytes))
        } catch {
            throw EngineError(.integrity, "the config of \(role), \(store.location), cannot be read", cause: error)
        }
    }

    private static func optionalGet(_ store: any ObjectStore, _ key: ObjectKey) throws -> [UInt8]? {
        do {
            return try store.get(key)
        } catch let error as StoreError where error.category == .inputNotFound {
            return nil
        }
    }

    /// Copies `objects` on `workers` threads; all of one kind are stored before the next kind starts.
    /// The first failure stops the others from starting more, and is thrown once all are done.
    private func copyAll(_ objects: [ObjectInfo], kind: ObjectKind, copier: ObjectCopier) throws {
        let named = kind == .data || kind == .index || kind == .snapshots
        try BlockingWork.forEach(count: objects.count, threads: workers) { [self] item in
            let object = objects[item]
            let name = named ? Hash256(hex: object.key.name) : nil
            if named && name == nil {
                throw EngineError(.integrity, "\(source.location)/\(object.key.path) is not named by a SHA-256: it was not copied")
            }
            try copier.copy(object, contentName: name, read: { self.progress.addBytes(Int64($0)) })
            progress.finishFile(object.key.path)
        }
    }
}
