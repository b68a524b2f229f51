import CairnRedis
import CairnTestSupport
import Foundation
import Testing

/// Hand-built RDBs that exercise each length form, string encoding, opcode and value type.
@Suite("RDB reader on synthetic files") struct RDBSyntheticTests {
    /// Returns `count` bytes per read (cycling through `sizes`): the reader must not depend on
    /// how the source splits the stream.
    struct DribbleSource: RDBByteSource {
        let bytes: [UInt8]
        let sizes: [Int]
        var position = 0
        var reads = 0

        mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            let count = min(buffer.count, bytes.count - position, sizes[reads % sizes.count])
            reads += 1
            guard count > 0 else { return 0 }
            for index in 0..<count { buffer[index] = bytes[position + index] }
            position += count
            return count
        }
    }

    /// Lends its bytes from a buffer of its own, `sizes` at a time, and scribbles over the span
    /// lent before at each call: a reader that used a span after asking for the next would see
    /// other bytes (and a wrong checksum).
    final class LendingSource: RDBByteSource {
        let bytes: [UInt8]
        let sizes: [Int]
        var position = 0
        var lends = 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 17, alignment: 8)

        init(bytes: [UInt8], sizes: [Int]) {
            self.bytes = bytes
            self.sizes = sizes
        }

        deinit { buffer.deallocate() }

        var lent = 0

        func lend() throws -> UnsafeRawBufferPointer? {
            for index in 0..<lent { buffer[index] = 0xa5 }
            let count = min(buffer.count, bytes.count - position, sizes[lends % sizes.count])
            lends += 1
            for index in 0..<count { buffer[index] = bytes[position + index] }
            position += count
            lent = count
            return UnsafeRawBufferPointer(rebasing: buffer[0..<count])
        }

        func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            Issue.record("a reader used read(into:) on a source that lends")
            return 0
        }
    }

    static let repetitive = Array(String(repeating: "cairn-backup ", count: 40).utf8)

    /// Every kind of record in one version-11 file; returns the bytes and what the reader must say.
    static func everything(version: Int = 11) -> [UInt8] {
        var rdb = RDBBuilder(version: version)
        rdb.aux("redis-ver", .text("7.2.4"))
        rdb.aux("redis-bits", .int8(64))
        rdb.aux("small", .int8(-5))
        rdb.aux("medium", .int16(-1234))
        rdb.aux("ctime", .int32(1_795_592_004))
        rdb.aux("negative", .int32(-70_000))
        rdb.aux("compressed", .lzf(repetitive))
        rdb.aux("binary", .raw([0xff, 0x00, 0x41]))
        rdb.aux("nul", .raw([0x41, 0x00, 0x42]))
        rdb.moduleAux(moduleID: 0x0102_0304_0506)
        rdb.function("#!lua name=lib\nredis.register_function('f', function() return 1 end)")
        rdb.selectDB(0)
        rdb.resizeDB(keys: 20, expires: 3)
        rdb.string("six-bit", .text("short"))
        rdb.string("fourteen-bit", .raw([UInt8](repeating: 0x61, count: 300)))
        rdb.string("thirty-two-bit", .raw([UInt8](repeating: 0x62, count: 70_000)))
        rdb.string("forced-wide", .text("x"), .thirtyTwoBit)
        rdb.string("forced-64", .text("y"), .sixtyFourBit)
        rdb.string("forced-14", .text("z"), .fourteenBit)
        rdb.string("int8", .int8(-7))
        rdb.string("int16", .int16(30_000))
        rdb.string("int32", .int32(-2_000_000_000))
        rdb.string("lzf", .lzf(repetitive + [UInt8](repeating: 0x2e, count: 500)))
        rdb.expireMilliseconds(1_900_000_000_000)
        rdb.string("expires-ms", .text("v"))
        rdb.expireSeconds(1_900_000_000)
        rdb.string("expires-s", .text("v"))
        rdb.idle(3600)
        rdb.string("idle", .text("v"))
        rdb.frequency(200)
        rdb.string("lfu", .text("v"))
        rdb.expireMilliseconds(1_900_000_000_000)
        rdb.idle(1)
        rdb.frequency(3)
        rdb.list("list", ["a", "b", "c"])
        rdb.set("set", ["m1", "m2"])
        rdb.sortedSetWithTextScores("zset-text", [("a", "1.5"), ("b", "inf"), ("c", "-inf"), ("d", "nan")])
        rdb.hash("hash", [("f1", "v1"), ("f2", "v2")])
        rdb.sortedSet("zset", [("a", 1.5), ("b", -2)])
        rdb.blob(type: 16, "hash-listpack", [0x0f, 0, 0, 0, 0, 0, 0xff])
        rdb.blob(type: 11, "intset", [2, 0, 0, 0, 1, 0, 0, 0, 5, 0])
        rdb.quicklist("quicklist", [[1, 2, 3], [4, 5], [6]])
        rdb.stream("stream")
        rdb.module("module-key")
        rdb.selectDB(300, .fourteenBit)
        rdb.resizeDB(keys: 1, expires: 0)
        rdb.string("in-db-300", .text("v"))
        rdb.selectDB(0, .sixtyFourBit)
        rdb.string("back-in-db-0", .text("v"))
        return rdb.finish()
    }

    @Test func everyRecordKindIsCountedAndDecoded() throws {
        let bytes = Self.everything()
        var records: [RDBRecord] = []
        let summary = try RDBReader.read(MemorySource(bytes)) { records.append($0) }
        #expect(summary.version == 11)
        #expect(summary.aux == ["redis-ver": "7.2.4", "redis-bits": "64", "small": "-5", "medium": "-1234",
                                "ctime": "1795592004", "negative": "-70000",
                                "compressed": String(decoding: Self.repetitive, as: UTF8.self), "binary": "\\xff\\x00\\x41",
                                "nul": "\\x41\\x00\\x42"])
        #expect(summary.aux["nul"] == "\\x41\\x00\\x42")
        
        #expect(summary.moduleAux == 1)
        #expect(summary.functions == 1)
        #expect(summary.databases.map(\.index) == [0, 300])
        #expect(summary.databases.map(\.keys) == [25, 1])
        #expect(summary.databases.map(\.expires) == [3, 0])
        #expect(summary.databases[0].types == ["string": 15, "list": 2, "set": 2, "zset": 2, "hash": 2, "stream": 1, "module": 1])
        #expect(summary.checksum == .valid(CRC64Jones.checksum(Array(bytes.dropLast(8)))))
        #expect(summary.bytes == Int64(bytes.count))
        var end: Int64 = 0
        for record in records {
            #expect(record.offset == end, "\(record)")
            end = record.offset + record.length
        }
        #expect(end == Int64(bytes.count))
        #expect(records.filter { $0.kind == .key }.count == 26)
        #expect(records.filter { $0.kind == .moduleAux }.count == 1)
    }

    /// The 32-bit/64-bit length forms and LZF show up in real Redis files; so do the older headers.
    @Test(arguments: [5, 6, 7, 8, 9, 10, 11, 12])
    func versionsFiveToTwelveAreRead(_ version: Int) throws {
        let summary = try RDBReader.read(MemorySource(Self.everything(version: version)))
        #expect(summary.version == version)
        #expect(summary.keys == 26)
        if case .valid = summary.checksum {} else { Issue.record("checksum \(summary.checksum)") }
    }

    @Test(arguments: [1, 2, 3, 4])
    func versionsBeforeFiveHaveNoTrailer(_ version: Int) throws {
        var rdb = RDBBuilder(version: version)
        rdb.selectDB(0)
        rdb.string("key", .text("value"))
        rdb.expireSeconds(1_900_000_000)
        rdb.list("list", ["a"])
        let bytes = rdb.finish()
        let summary = try RDBReader.read(MemorySource(bytes))
        #expect(summary.version == version)
        #expect(summary.checksum == .absent)
        #expect(summary.keysPerDatabase == "db0=2")
        #expect(summary.expires == 1)
        #expect(summary.bytes == Int64(bytes.count))
    }

    @Test func keysBeforeAnySelectDBAreInDatabaseZero() throws {
        var rdb = RDBBuilder()
        rdb.string("a", .text("1"))
        rdb.selectDB(2)
        rdb.string("b", .text("2"))
        let summary = try RDBReader.read(MemorySource(rdb.finish()))
        #expect(summary.keysPerDatabase == "db0=1,db2=1")
    }

    @Test func anEmptyDatabaseFileIsValid() throws {
        let bytes = RDBBuilder(version: 10).finish()
        #expect(bytes.count == 18)
        let summary = try RDBReader.read(MemorySource(bytes))
        #expect(summary.keys == 0)
        #expect(summary.databases.isEmpty)
        #expect(summary.checksum == .valid(CRC64Jones.checksum(Array("REDIS0010".utf8) + [0xff])))
    }

    /// A 3 MiB value crosses the reader's 1 MiB buffer several times; reading the same bytes
    /// 1–13 bytes at a time gives the same summary.
    @Test func largeValuesAndTinyReadsGiveTheSameSummary() throws {
        var rdb = RDBBuilder()
        rdb.selectDB(0)
        rdb.string("big", .raw((0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }))
        rdb.string("after", .text("small"))
        let bytes = rdb.finish()
        let whole = try RDBReader.read(MemorySource(bytes))
        #expect(whole.keys == 2)
        #expect(whole.bytes == Int64(bytes.count))
        let dribbled = try RDBReader.read(DribbleSource(bytes: bytes, sizes: [1, 13, 7, 2, 1 << 16, 3]))
        #expect(dribbled == whole)
        let small = try RDBReader.read(DribbleSource(bytes: Self.everything(), sizes: [1, 2, 3, 5, 8, 13]))
        let reference = try RDBReader.read(MemorySource(Self.everything()))
        #expect(small == reference)
    }

    /// A source that lends its bytes where they are (record chunking reads into its window) gives
    /// the same summary, checksum included, however it splits them.
    @Test func lentSpansGiveTheSameSummary() throws {
        var rdb = RDBBuilder()
        rdb.selectDB(0)
        rdb.string("big", .raw((0..<(300 << 10)).map { UInt8(truncatingIfNeeded: $0 &* 29) }))
        rdb.string("after", .text("small"))
        for bytes in [rdb.finish(), Self.everything()] {
            let reference = try RDBReader.read(MemorySource(bytes))
            for sizes in [[1, 2, 3, 5, 8, 13], [1 << 16, 7, 1 << 17, 1]] {
                let source = LendingSource(bytes: bytes, sizes: sizes)
                #expect(try RDBReader.read(source) == reference)
                #expect(source.position == bytes.count)
            }
        }
    }

    @Test func malformedRecordsAreNamed() throws {
        func refusal(_ build: (inout RDBBuilder) -> Void) throws -> RedisError {
            var rdb = RDBBuilder()
            build(&rdb)
            return try #require(throws: RedisError.self) { try RDBReader.read(MemorySource(rdb.finish()), name: "x.rdb") }
        }
        var error = try refusal { $0.selectDB(0); $0.raw([30]) }
        #expect(error.message == "x.rdb has an unknown record type 30 at byte 11")
        error = try refusal { $0.raw([0xfe, 0x82]) }
        #expect(error.message == "x.rdb: unknown length prefix 0x82 at byte 10")
        error = try refusal { $0.raw([0xfe, 0xc0]) }
        #expect(error.message == "x.rdb: unexpected string encoding at byte 11 in a database number")
        error = try refusal { $0.raw([0xf6]) }
        #expect(error.message == "x.rdb holds functions in the format of a Redis 7.0 release candidate, which this Cairn does not read")
        error = try refusal { $0.raw([0xf7, 0x01, 0x01, 0x01]) }
        #expect(error.message == "x.rdb: malformed module aux data at byte 9")
        error = try refusal { $0.raw([0xfa, 0x01, 0x41, 0xc3, 0x02, 0x05, 0x20, 0x41]) }
        #expect(error.message == "an LZF string is corrupt (reference before start)")
        error = try refusal { $0.raw([0xfa, 0x01, 0x41, 0xc3, 0x02, 0x05, 0x01, 0x41]) }
        #expect(error.message == "an LZF string is corrupt (literal past the end)")
        error = try refusal { $0.raw([0xfa, 0x01, 0x41, 0xc3, 0x02, 0x05, 0x00, 0x41]) }
        #expect(error.message == "an LZF string decoded to 1 bytes, expected 5")
        error = try refusal { $0.raw([0xfa, 0x01, 0x41, 0xc4]) }
        #expect(error.message == "x.rdb: unknown string encoding 4 at byte 13")
        error = try refusal { $0.selectDB(0); $0.raw([6]) }
        #expect(error.message == "x.rdb has an unknown record type 6 at byte 11")
        #expect(error.category == .integrity)
    }

    @Test func lzfRoundTripsThroughTheReader() throws {
        var random = SplitMix64(seed: 5)
        for length in [1, 2, 3, 31, 32, 33, 100, 263, 264, 265, 1000, 3000] {
            let plain = (0..<length).map { index in UInt8(ascii: "a") + UInt8(index % 7 == 0 ? random.below(3) : index % 5) }
            var rdb = RDBBuilder()
            rdb.aux("value", .lzf(plain))
            let summary = try RDBReader.read(MemorySource(rdb.finish()))
            #expect(summary.aux["value"] == String(decoding: plain, as: UTF8.self), "length \(length)")
        }
    }
}
