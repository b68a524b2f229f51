@testable import CairnRepository
import CairnBackends
import CairnCatalog
import CairnCodec
import CairnCore
import CairnTestSupport
import Foundation
import Logging
import Testing

/// How a catalog catches up with a repository others write to: what it loads, in what order it
/// lists, and how many objects it reads at once from a store where each read waits a round trip.
@Suite("Catalog synchronization")
struct CatalogSynchronizationTests {
    /// A local store that answers like a remote one: each read of an index or snapshot object
    /// waits 20 ms, and `inFlight` counts how many such reads were in flight at once.
    final class RoundTripStore: WrappedLocalStore, @unchecked Sendable {
        private let lock = NSLock()
        private var gauge = ConcurrencyGauge()
        private(set) var listed: [ObjectKind] = []
        /// Counts the reads in flight; a test that wants to know whether `count` run at once sets
        /// `awaiting: count` (see `ConcurrencyGauge`).
        var inFlight: ConcurrencyGauge {
            get { lock.withLock { gauge } }
            set { lock.withLock { gauge = newValue } }
        }
        /// A read of this key fails with an error that is not damage (a refused request).
        var refused: ObjectKey?
        /// These keys are deleted right before they are read, as by another host's prune or
        /// forget between the listing and the read.
        var vanishing: Set<ObjectKey> = []

        override var readConcurrency: Int { 8 }
        override func list(_ kind: ObjectKind) throws -> [ObjectInfo] {
            lock.withLock { listed.append(kind) }
            return try inner.list(kind)
        }
        override func get(_ key: ObjectKey) throws -> [UInt8] {
            guard key.kind == .index || key.kind == .snapshots else { return try inner.get(key) }
            let gauge = inFlight
            gauge.enter()
            defer { gauge.leave() }
            usleep(20_000)
            if key == lock.withLock({ refused }) { throw StoreError(.failure, "403 Forbidden for \(key.path)") }
            if lock.withLock({ vanishing.contains(key) }) { try inner.delete(key) }
            return try inner.get(key)
        }
        func forget() { lock.withLock { gauge = ConcurrencyGauge(); listed = [] } }
    }

    /// A repository written through one catalog: `count` packs, each with an index object of its
    /// own, and a snapshot per pack.
    final class Scratch {
        let root = FileManager.default.temporaryDirectory.path + "/cairn-sync-" + UUID().uuidString
        let store: RoundTripStore
        let writer: Repository
        var chunks: [ChunkID] = []
        var snapshots: [SnapshotID] = []

        init(count: Int) throws {
            store = RoundTripStore(root: root + "/repository")
            try store.inner.create()
            try Repository.initialize(store: store, config: .new(encrypted: true, now: Date()), password: "secret",
                                      scrypt: ScryptParameters(logN: 10, r: 8, p: 1),
                                      identity: Identity(hostname: "writer", username: "test", now: Date()))
            writer = try Repository.open(store: store, password: { "secret" }, cacheDirectory: root + "/writer-cache",
                                         logger: Logger(label: "test"))
            var random = SplitMix64(seed: 11)
            for night in 0..<count {
                let blobs = BlobWriter(repository: writer, workers: 1, packsPerIndex: 1)
                let bytes = (0..<4096).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                chunks += try bytes.withUnsafeBytes { try blobs.store($0, lengths: [4096], kind: .data) }
                try blobs.flush()
                blobs.close()
                let document = SnapshotDocument(time: Date(timeIntervalSince1970: 1_700_000_000 + Double(night) * 86_400),
                                                hostname: "writer", username: "test", tags: [], paths: ["/data"], tree: [],
                                                parent: nil, summary: BackupSummary(), program: "test")
                snapshots.append(try writer.commitSnapshot(document))
            }
            store.forget()
        }

        deinit { try? FileManager.default.removeItem(atPath: root) }

        func openReader(cache: String = "reader-cache") throws -> Repository {
            try Repository.open(store: store, password: { "secret" }, cacheDirectory: root + "/" + cache,
                                logger: Logger(label: "test"))
        }
    }

    @Test func anEmptyCacheReadsTheObjectsSeveralAtATimeAndLoadsThemAll() throws {
        let scratch = try Scratch(count: 40)
        scratch.store.inFlight = ConcurrencyGauge(awaiting: 8)
        let reader = try scratch.openReader()
        #expect(Set(try reader.catalog.snapshots().map(\.id)) == Set(scratch.snapshots))
        #expect(try reader.catalog.indexIDs() == (try scratch.writer.catalog.indexIDs()))
        #expect(try reader.catalog.indexIDs().count == 40)
        #expect(try reader.catalog.locations(of: scratch.chunks) == (try scratch.writer.catalog.locations(of: scratch.chunks)))
        #expect(!(try reader.catalog.locations(of: scratch.chunks).contains(nil)))
        #expect(scratch.store.inFlight.most == 8, "\(scratch.store.inFlight.most) reads in flight at most, for a store that takes 8")
    }

    @Test func snapshotsAreListedBeforeIndexes() throws {
        let scratch = try Scratch(count: 1)
        _ = try scratch.openReader()
        let listed = scratch.store.listed.filter { $0 == .index || $0 == .snapshots }
        #expect(listed == [.snapshots, .index], "listed \(listed)")
    }

    @Test func damagedObjectsAreSkippedAndTheRestLoaded() throws {
        let scratch = try Scratch(count: 12)
        let indexes = try scratch.writer.catalog.indexIDs().sorted()
        let damagedIndex = ObjectKey(.index, indexes[5].hex)
        let damagedSnapshot = ObjectKey(.snapshots, scratch.snapshots[3].hex)
        for key in [damagedIndex, damagedSnapshot] {
            var bytes = try scratch.store.inner.get(key)
            bytes[bytes.count / 2] ^= 0x40
            try scratch.store.inner.put(key, bytes: bytes)
        }
        let reader = try scratch.openReader()
        #expect(try reader.catalog.indexIDs() == Set(indexes).subtracting([indexes[5]]))
        #expect(Set(try reader.catalog.snapshots().map(\.id)) == Set(scratch.snapshots).subtracting([scratch.snapshots[3]]))
        let located = try reader.catalog.locations(of: scratch.chunks).filter { $0 != nil }.count
        #expect(located == scratch.chunks.count - 1)
    }

    @Test func aReadThatFailsOtherwiseStopsTheSynchronization() throws {
        let scratch = try Scratch(count: 12)
        scratch.store.refused = ObjectKey(.index, try scratch.writer.catalog.indexIDs().sorted()[7].hex)
        #expect(throws: StoreError.self) { _ = try scratch.openReader() }
        scratch.store.refused = nil
        let reader = try scratch.openReader()
        #expect(try reader.catalog.indexIDs().count == 12)
        #expect(try reader.catalog.snapshots().count == 12)
    }

    /// A backup opening the repository while another host prunes it synchronizes before it
    /// waits for the prune's lock: objects the prune deletes meanwhile are not its failure.
    @Test func objectsDeletedSinceTheListingAreSkipped() throws {
        let scratch = try Scratch(count: 12)
        let indexes = try scratch.writer.catalog.indexIDs().sorted()
        scratch.store.vanishing = [ObjectKey(.index, indexes[2].hex), ObjectKey(.snapshots, scratch.snapshots[9].hex)]
        let reader = try scratch.openReader()
        #expect(try reader.catalog.indexIDs() == Set(indexes).subtracting([indexes[2]]))
        #expect(Set(try reader.catalog.snapshots().map(\.id)) == Set(scratch.snapshots).subtracting([scratch.snapshots[9]]))
    }
}
