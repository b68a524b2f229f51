@testable import CairnCatalog
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

    /// Once a process has asked where many chunks are, the answers come from a table read into
    /// memory: the same answers SQLite gives one chunk at a time, including for chunks listed
    /// twice and chunks not listed at all; a write drops the table.
    @Test func manyLookupsAreAnsweredFromMemoryWithSQLitesAnswers() throws {
        let catalog = try Catalog.inMemory()
        // Spread like real (keyed hash) chunk ids; chunk n + 40_000 is not listed.
        func chunk(_ n: UInt64) -> ChunkID { ChunkID(Hash256(w0: n &* 0x9E37_79B9_7F4A_7C15, w1: n, w2: 1, w3: 2)) }
        func packRecord(_ n: UInt64, _ numbers: Range<UInt64>) -> PackRecord {
            PackRecord(id: PackID(id(5000 + n)), size: 1 << 20, entries: numbers.enumerated().map { index, number in
                PackEntry(chunk: chunk(number), kind: .data, compression: 1, offset: Int64(index * 64), storedLength: 64,
                          rawLength: 128 + Int32(n), frameOffset: Int32(index % 3))
            })
        }
        try catalog.write { writer in
            try writer.insertIndex(IndexID(id(1)), packs: (0..<20).map { packRecord($0, ($0 * 1000)..<($0 * 1000 + 1000)) })
        }
        // Chunks 19_500..<20_000 are listed again in a later index: their first location stays.
        try catalog.write { writer in
            try writer.insertIndex(IndexID(id(2)), packs: (20..<40).map { packRecord($0, ($0 * 1000 - 500)..<($0 * 1000 + 1000)) })
        }
        let asked = (0..<UInt64(40_500)).map { $0 * 7919 % 40_500 }.map(chunk)   // every one, out of order
        func askInBatches() throws -> [ChunkLocation?] {   // as a restore asks: 1024 at a time
            try stride(from: 0, to: asked.count, by: 1024).flatMap { start in
                try catalog.locations(of: Array(asked[start..<min(start + 1024, asked.count)]))
            }
        }
        #expect(catalog.locationsInMemory == nil)
        let answers = try askInBatches()
        #expect(catalog.locationsInMemory == 40_000)
        for (chunk, answer) in zip(asked, answers) {
            #expect(try answer == catalog.location(of: chunk), "\(chunk.short)")
        }
        #expect(answers.filter { $0 == nil }.count == 500)

        // A write drops the table: what it removed is gone, what it added is found.
        try catalog.write { try $0.deleteIndex(IndexID(id(1))) }
        #expect(catalog.locationsInMemory == nil)
        try catalog.write { try $0.insertIndex(IndexID(id(3)), packs: [packRecord(99, 40_000..<40_010)]) }
        let again = try askInBatches()
        #expect(catalog.locationsInMemory == 20_010)
        for (chunk, answer) in zip(asked, again) {
            #expect(try answer == catalog.location(of: chunk), "\(chunk.short)")
        }
        #expect(try catalog.locations(of: [chunk(5), chunk(19_600), chunk(20_600), chunk(40_003)]).map { $0?.pack }
                == [nil, nil, PackID(id(5020)), PackID(id(5099))])
    }

    /// A restore reads every location on another thread while it derives its key, and answers from
    /// that table from its first lookup on; unless the catalog changed in between (a commit by any
    /// connection, or another file at the path), when it answers as it would have without it.
    @Test func preloadedLocationsAnswerFromTheFirstLookupUnlessTheCatalogChanged() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cc.preload-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/catalog.sqlite"
        #expect(LocationPreload.start(path: path) == nil)
        let written = try Catalog(path: path)
        try written.write { try $0.insertIndex(IndexID(id(1)), packs: [pack(1, chunks: [1, 2, 3])]) }

        // Unchanged: the first lookup, one chunk, is answered from memory, with SQLite's answers.
        let catalog = try Catalog(path: path)
        catalog.adopt(LocationPreload.start(path: path))
        #expect(try catalog.locations(of: [ChunkID(id(2)), ChunkID(id(9))]) == [written.location(of: ChunkID(id(2))), nil])
        #expect(catalog.locationsInMemory == 3)

        // A commit after the read, by another connection: not used, and the new chunk is found.
        let later = try #require(LocationPreload.start(path: path))
        later.waitUntilRead()
        try written.write { try $0.insertIndex(IndexID(id(2)), packs: [pack(2, chunks: [4])]) }
        let fresh = try Catalog(path: path)
        fresh.adopt(later)
        #expect(try fresh.locations(of: [ChunkID(id(4))]).first??.pack == PackID(id(1002)))
        #expect(fresh.locationsInMemory == nil)

        // Another file at the path (a damaged catalog moved aside and rebuilt): not used.
        let moved = try #require(LocationPreload.start(path: path))
        moved.waitUntilRead()
        try FileManager.default.moveItem(atPath: path, toPath: path + ".aside")
        try FileManager.default.copyItem(atPath: path + ".aside", toPath: path)
        #expect(moved.take(path: path) == nil)

        // A write through the catalog that adopted it drops it, like a table already read.
        let dropped = try Catalog(path: path)
        dropped.adopt(LocationPreload.start(path: path))
        try dropped.write { try $0.insertIndex(IndexID(id(3)), packs: [pack(3, chunks: [5])]) }
        #expect(try dropped.locations(of: [ChunkID(id(5))]).first??.pack == PackID(id(1003)))
        #expect(dropped.locationsInMemory == nil)
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

    /// Pack sizes a forged or damaged catalog holds (any Int64 fits the column) made SQLite's
    /// sum fail with "integer overflow", and `cairn stats` and every run's metrics with it; the
    /// sums stop at Int64.max.
    @Test func sizesThatAddUpPastInt64AreReportedAsItsMaximum() throws {
        let catalog = try Catalog.inMemory()
        var forged = [pack(1, chunks: [1, 2]), pack(2, chunks: [3])]
        for index in forged.indices { forged[index].size = .max }
        try catalog.write { try $0.insertIndex(IndexID(id(1)), packs: forged) }
        let statistics = try catalog.statistics()
        #expect(statistics.packBytes == .max && statistics.packCount == 2)
        #expect(statistics.rawChunkBytes == 600 && statistics.storedChunkBytes == 300, "sums that fit stay exact")
        #expect(try catalog.totals().packBytes == .max)
    }

    /// Negative sizes in a forged or damaged catalog showed as negative totals in `cairn stats`
    /// (and its ratios); each row counts at least 0.
    @Test func negativeSizesCountAsZero() throws {
        let catalog = try Catalog.inMemory()
        try catalog.write { try $0.insertIndex(IndexID(id(1)), packs: [pack(1, chunks: [1, 2]), pack(2, chunks: [3])]) }
        let honest = try catalog.statistics()
        try catalog.connection.execute("UPDATE packs SET size = -9223372036854775807 WHERE id = x'\(id(1001).hex)'")
        try catalog.connection.execute("UPDATE chunks SET raw_length = -5000, stored_length = -5000 WHERE id = x'\(id(3).hex)'")
        let statistics = try catalog.statistics()
        #expect(statistics.packBytes >= 0 && statistics.rawChunkBytes >= 0 && statistics.storedChunkBytes >= 0)
        #expect(statistics.packBytes == honest.packBytes - Int64(pack(1, chunks: [1, 2]).size))
        #expect(statistics.rawChunkBytes == 400 && statistics.storedChunkBytes == 200)
        #expect(try catalog.totals().packBytes == statistics.packBytes)
    }

    /// Stored lengths a forged or damaged catalog holds (any Int64 fits the column) made SQLite's
    /// sum fail prune with "integer overflow"; the sums stop at Int64.max, for prune to refuse.
    @Test func packUsageOfLengthsThatAddUpPastInt64IsItsMaximum() throws {
        let catalog = try Catalog.inMemory()
        try catalog.write { try $0.insertIndex(IndexID(id(1)), packs: [pack(1, chunks: [1, 2, 3, 4]), pack(2, chunks: [5])]) }
        try catalog.connection.execute("UPDATE chunks SET stored_length = 9223372036854775807 WHERE id != x'\(id(5).hex)'")
        try catalog.write { try $0.clearMarks(); try $0.mark([ChunkID(id(1)), ChunkID(id(2)), ChunkID(id(5))]) }
        let usage = Dictionary(uniqueKeysWithValues: try catalog.packUsage().map { ($0.pack, $0) })
        #expect(usage[PackID(id(1001))]?.usedStoredBytes == .max && usage[PackID(id(1001))]?.unusedStoredBytes == .max)
        #expect(usage[PackID(id(1002))]?.usedStoredBytes == 100, "sums that fit stay exact")
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
