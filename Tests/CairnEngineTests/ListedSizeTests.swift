@testable import CairnEngine
import CairnBackends
import CairnCatalog
import CairnCore
import CairnRepository
import Foundation
import Logging
import Testing

/// Sizes that come from input, a store's listing (from the network) or the catalog (rebuilt from
/// index objects any key holder writes): nonsense in them is damage to report or a read that
/// fails cleanly, not a sum that traps.
@Suite("Listed and indexed sizes")
struct ListedSizeTests {
    let logger = Logger(label: "test")

    /// A fixture backed up twice, the second time with one file more: two packs at least.
    func backedUpTwice() throws -> RestoreFixture {
        let fixture = try RestoreFixture()
        _ = try fixture.writeSources()
        _ = try fixture.backUp()
        try fixture.link("one-byte", as: "one-byte-again")
        _ = try fixture.backUp()
        return fixture
    }

    /// The fixture's packs, the ones holding data blobs only first (tree blobs are read to check snapshots).
    func packs(_ fixture: RestoreFixture) throws -> [PackID] {
        let catalog = fixture.repository.catalog
        return try catalog.packIDs().sorted().map { pack in
            (pack, try catalog.entries(inPack: pack).contains { $0.kind == .tree })
        }.sorted { !$0.1 && $1.1 }.map(\.0)
    }

    /// Rewrites the catalog's record of `pack` as `change` makes it (a forged index object would).
    func forge(_ pack: PackID, in catalog: Catalog, _ change: (inout PackRecord) -> Void) throws {
        let index = try #require(try catalog.indexes(listing: [pack]).first)
        var record = PackRecord(id: pack, size: try #require(try catalog.packSize(pack)), entries: try catalog.entries(inPack: pack))
        change(&record)
        try catalog.write { try $0.deletePack(pack); try $0.insertIndex(index, packs: [record]) }
    }

    func isIntegrityFailure(_ error: (any Error)?) -> Bool { (error as? any CairnFailure)?.category == .integrity }

    /// An entry at an offset near Int64.max trapped `check --read-data` (its end overflowed).
    @Test func checkReportsAnEntryPastTheEndOfItsPackAsDamage() throws {
        let fixture = try RestoreFixture()
        _ = try fixture.writeSources()
        _ = try fixture.backUp()
        let pack = try #require(try packs(fixture).first)
        var blobs = 0
        try forge(pack, in: fixture.repository.catalog) { record in
            record.entries[0].offset = .max - 10
            blobs = record.entries.count
        }
        let report = try CheckJob(repository: fixture.repository, readData: true, logger: logger).run()
        #expect(report.damage.map(\.pack) == [pack])
        #expect(report.errors == ["pack \(pack): 1 of \(blobs) chunks failed verification"])
    }

    /// Packs the listing and the index both say are Int64.max bytes: their sum for the progress
    /// line trapped; it stops at Int64.max, and each read fails where its pack ends, which is
    /// that pack's damage (the first such pack used to end the whole check).
    @Test func checkOfPacksListedAndIndexedAtInt64MaxReportsThemDamaged() throws {
        let fixture = try backedUpTwice()
        let forged = Array(try packs(fixture).prefix(2))
        try #require(forged.count == 2)
        let store = ForgedListingStore(base: fixture.repository.store,
                                       sizes: Dictionary(uniqueKeysWithValues: forged.map { (ObjectKey(.data, $0.hex), Int64.max) }))
        let repository = try Repository.open(store: store, password: { "pw" }, cacheDirectory: fixture.root + "/cache", logger: logger)
        for pack in forged { try forge(pack, in: repository.catalog) { $0.size = .max } }
        let progress = WorkProgress()
        let report = try CheckJob(repository: repository, readData: true, progress: progress, logger: logger).run()
        #expect(Set(report.damage.map(\.pack)) == Set(forged), "\(report.errors)")
        #expect(report.errors.count == 2 && report.errors.allSatisfy { $0.contains("short") || $0.contains("end") }, "\(report.errors)")
        #expect(report.packsChecked == report.packsToRead, "every pack was read")
        #expect(progress.reading.totalBytes == .max)
    }

    /// Two objects listed at Int64.max trapped mirror's report; a copy reads until the object
    /// ends and fails there.
    @Test func mirrorOfObjectsListedAtInt64MaxReportsTheMaximumAndFailsTheCopy() throws {
        let fixture = try backedUpTwice()
        let forged = Array(try packs(fixture).prefix(2)).map { ObjectKey(.data, $0.hex) }
        try #require(forged.count == 2)
        let source = ForgedListingStore(base: fixture.repository.store, sizes: Dictionary(uniqueKeysWithValues: forged.map { ($0, Int64.max) }))
        let destination = LocalStore(root: fixture.root + "/mirror")
        let dryRun = MirrorJob(source: source, destination: destination, deleteExtraneous: false, dryRun: true, logger: logger)
        try dryRun.prepare()
        #expect(try dryRun.run().bytesCopied == .max)
        let mirror = MirrorJob(source: source, destination: destination, deleteExtraneous: false, dryRun: false, logger: logger)
        try mirror.prepare()
        let error = #expect(throws: (any Error).self) { try mirror.run() }
        #expect(isIntegrityFailure(error), "\(String(describing: error))")
        #expect(try destination.list(.data).allSatisfy { !forged.contains($0.key) })
    }

    /// A negative listed size is no size: mirror refuses the listing, dry run or not, before it
    /// copies an object (it counted as a negative number of bytes to copy).
    @Test func mirrorRefusesANegativeListedSize() throws {
        let fixture = try RestoreFixture()
        _ = try fixture.writeSources()
        _ = try fixture.backUp()
        let pack = try #require(try packs(fixture).first)
        let source = ForgedListingStore(base: fixture.repository.store, sizes: [ObjectKey(.data, pack.hex): -1])
        let destination = LocalStore(root: fixture.root + "/mirror")
        for dryRun in [true, false] {
            let mirror = MirrorJob(source: source, destination: destination, deleteExtraneous: false, dryRun: dryRun, logger: logger)
            try mirror.prepare()
            let error = #expect(throws: (any Error).self) { try mirror.run() }
            #expect(isIntegrityFailure(error) && "\(String(describing: error))".contains("negative size (-1)"), "\(String(describing: error))")
        }
        #expect(try destination.list(.data).isEmpty && destination.list(.keys).isEmpty)
    }
}
