import CairnCatalog
import CairnCore
import Foundation
import Testing

@Suite struct CatalogTests {
    func id(_ n: UInt64) -> Hash256 { Hash256(w0: n, w1: n &* 31, w2: 7, w3: 9) }

    func pack(_ n: UInt64, chunks: [UInt64]) -> PackRecord {
        PackRecord(id: PackID(id(1000 + n)), size: 4096, entries: chunks.enumerated().map { index, chunk in
            PackEntry(chunk: ChunkID(id(chunk)), kind: .data, compression: 1, offset: Int64(index * 100), storedLength: 100, rawLength: 200)
        })
    }

    @Test func indexesLocateChunksAndFirstLocationWins() throws {
        let catalog = try Catalog.inMemory()
        try catalog.write { try $0.insertIndex(IndexID(id(1)), packs: [pack(1, chunks: [1, 2, 3])]) }
        try catalog.write { try $0.insertIndex(IndexID(id(2)), packs: [pack(2, chunks: [3, 4])]) }
        #expect(try catalog.contains(ChunkID(id(4))))
        #expect(try !catalog.contains(ChunkID(id(5))))
        #expect(try catalog.location(of: ChunkID(id(3)))?.pack == PackID(id(1001)))
        #expect(try catalog.location(of: ChunkID(id(2)))?.offset == 100)
        #expect(try catalog.indexIDs() == [IndexID(id(1)), IndexID(id(2))])
        #expect(try catalog.statistics().chunkCount == 4)
        try catalog.write { try $0.deleteIndex(IndexID(id(1))) }
        #expect(try !catalog.contains(ChunkID(id(1))))
        #expect(try catalog.entries(inPack: PackID(id(1002))).count == 1)
    }

    @Test func aChunkListedTwiceInOneIndexKeepsItsFirstLocation() throws {
        let catalog = try Catalog.inMemory()
        #expect(try !catalog.knowsAnyChunk())
        // Rows go in in id order; the order of the index still decides which location stays.
        try catalog.write { try $0.insertIndex(IndexID(id(3)), packs: [pack(3, chunks: [9, 6, 7]), pack(4, chunks: [7, 6, 9])]) }
        #expect(try catalog.knowsAnyChunk())
        for (chunk, offset) in [(UInt64(9), Int64(0)), (6, 100), (7, 200)] {
            let location = try catalog.location(of: ChunkID(id(chunk)))
            #expect(location?.pack == PackID(id(1003)) && location?.offset == offset, "chunk \(chunk)")
        }
        #expect(try catalog.entries(inPack: PackID(id(1004))).isEmpty)
        let totals = try catalog.totals(), statistics = try catalog.statistics()
        #expect(totals.packBytes == statistics.packBytes && totals.packBytes == 2 * 4096)
        #expect(totals.snapshotCount == statistics.snapshotCount)
    }

    @Test func transactionsRollBackOnThrow() throws {
        let catalog = try Catalog.inMemory()
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try catalog.write { writer in
                try writer.insertIndex(IndexID(id(1)), packs: [pack(1, chunks: [1])])
                throw Boom()
            }
        }
        #expect(try !catalog.contains(ChunkID(id(1))))
    }

    @Test func snapshotsAreOrderedByTime() throws {
        let catalog = try Catalog.inMemory()
        try catalog.write {
            try $0.insertSnapshot(SnapshotRow(id: SnapshotID(id(2)), time: Date(timeIntervalSince1970: 200), hostname: "b", document: [2]))
            try $0.insertSnapshot(SnapshotRow(id: SnapshotID(id(1)), time: Date(timeIntervalSince1970: 100), hostname: "a", document: [1]))
        }
        #expect(try catalog.snapshots().map(\.hostname) == ["a", "b"])
        #expect(try catalog.snapshot(SnapshotID(id(2)))?.document == [2])
    }

    @Test func marksMeasurePackUsage() throws {
        let catalog = try Catalog.inMemory()
        try catalog.write { try $0.insertIndex(IndexID(id(1)), packs: [pack(1, chunks: [1, 2, 3]), pack(2, chunks: [4])]) }
        try catalog.write { try $0.clearMarks(); try $0.mark([ChunkID(id(1)), ChunkID(id(3))]) }
        let usage = Dictionary(uniqueKeysWithValues: try catalog.packUsage().map { ($0.pack, $0) })
        #expect(usage[PackID(id(1001))]?.usedBlobs == 2)
        #expect(usage[PackID(id(1001))]?.unusedStoredBytes == 100)
        #expect(usage[PackID(id(1002))]?.usedBlobs == 0)
        #expect(try catalog.markedEntries(inPack: PackID(id(1001))).map(\.chunk) == [ChunkID(id(1)), ChunkID(id(3))])
    }

    @Test func garbageFileIsReportedAsDamaged() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("catalog-\(UUID().uuidString).sqlite").path
        defer { unlink(path) }
        try Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 37) }).write(to: URL(fileURLWithPath: path))
        do {
            _ = try Catalog(path: path)
            Issue.record("a garbage catalog must not open")
        } catch let error as CatalogError {
            #expect(error.category == .integrity)
        }
    }
}
