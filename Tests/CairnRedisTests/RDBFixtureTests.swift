import CairnRedis
import Foundation
import Testing

/// The reader against files a real redis-server 7.0.15 wrote (Fixtures/redis7-datadir.json:
/// keys {"0": 430, "3": 15}, 25 expires in db0, one function library).
@Suite("RDB reader on Redis 7 files") struct RDBFixtureTests {
    static func read(_ bytes: [UInt8], records: inout [RDBRecord]) throws -> RDBSummary {
        var collected: [RDBRecord] = []
        let summary = try RDBReader.read(MemorySource(bytes)) { collected.append($0) }
        records = collected
        return summary
    }

    @Test func dumpSummary() throws {
        let bytes = try Fixture.bytes(Fixture.dump)
        var records: [RDBRecord] = []
        let summary = try Self.read(bytes, records: &records)
        #expect(summary.version == 10)
        #expect(summary.aux == ["redis-ver": "7.0.15", "redis-bits": "64", "ctime": "1795592004",
                                "used-mem": "1483496", "aof-base": "0"])
        #expect(summary.databases.map(\.index) == [0, 3])
        #expect(summary.databases.map(\.keys) == [430, 15])
        #expect(summary.databases.map(\.expires) == [25, 0])
        #expect(summary.keys == 445)
        #expect(summary.expires == 25)
        #expect(summary.keysPerDatabase == "db0=430,db3=15")
        // From make-fixtures.sh: 200 string + 50 counter + 25 session + 20 after-rewrite strings,
        // 40 user hashes + bighash, 30 lists + biglist, 20 intsets + 20 sets + bigset,
        // 20 zsets + bigzset, one stream.
        #expect(summary.databases[0].types == ["string": 295, "hash": 41, "list": 31, "set": 41, "zset": 21, "stream": 1])
        #expect(summary.databases[1].types == ["string": 15])
        #expect(summary.functions == 1)
        #expect(summary.moduleAux == 0)
        #expect(summary.checksum == .valid(0x9cf4_f1fc_05f3_1268))
        #expect(summary.bytes == 44_984)
    }

    /// Offsets cross-checked with `redis-check-rdb` and `xxd` on the same file.
    @Test func dumpRecordsTileTheFile() throws {
        let bytes = try Fixture.bytes(Fixture.dump)
        var records: [RDBRecord] = []
        _ = try Self.read(bytes, records: &records)
        var end: Int64 = 0
        for record in records {
            #expect(record.offset == end, "\(record) does not start where the previous record ended")
            #expect(record.length > 0)
            end = record.offset + record.length
        }
        #expect(end == Int64(bytes.count))
        func text(_ record: RDBRecord?) -> String { record.map { "\($0.kind)@\($0.offset)+\($0.length)" } ?? "none" }
        #expect(text(records.first) == "header@0+9")
        #expect(records.filter { $0.kind == .aux }.map(\.offset) == [9, 27, 41, 53, 68])
        #expect(records.filter { $0.kind == .function }.map(text) == ["function@80+97"])
        #expect(records.filter { $0.kind == .database }.map(\.offset) == [177, 179, 44_748, 44_750])
        #expect(records.filter { $0.kind == .key }.count == 445)
        #expect(text(records.last) == "trailer@44975+9")
        // A key with an expire starts at its EXPIRETIME_MS opcode (0xfc).
        let keyStarts = records.filter { $0.kind == .key }.map { bytes[Int($0.offset)] }
        #expect(keyStarts.filter { $0 == 0xfc }.count == 25)
    }

    @Test func fileDescriptorSourceReadsTheSame() throws {
        let fromMemory = try RDBReader.read(MemorySource(try Fixture.bytes(Fixture.dump)))
        let fromFile = try withDescriptor(Fixture.dump) { try RDBReader.read(FileDescriptorSource(descriptor: $0)) }
        #expect(fromFile == fromMemory)
    }

    /// The AOF base named by the manifest is an RDB with `aof-base=1`, taken before the
    /// 20 `after-rewrite:*` keys were written (they are in the increment).
    @Test func appendOnlyBaseNamedByTheManifest() throws {
        let manifestText = try String(contentsOf: Fixture.appendOnlyDirectory.appendingPathComponent("appendonly.aof.manifest"),
                                      encoding: .utf8)
        let manifest = try AOFManifest(parsing: manifestText)
        let base = try #require(manifest.base)
        #expect(base == AOFManifest.Entry(name: "appendonly.aof.2.base.rdb", sequence: 2, type: .base))
        let url = Fixture.appendOnlyDirectory.appendingPathComponent(base.name)
        let summary = try withDescriptor(url) { try RDBReader.read(FileDescriptorSource(descriptor: $0), name: base.name) }
        #expect(summary.version == 10)
        #expect(summary.aux["aof-base"] == "1")
        #expect(summary.aux["ctime"] == "1795592003")
        #expect(summary.keysPerDatabase == "db0=410,db3=15")
        #expect(summary.expires == 25)
        #expect(summary.databases[0].types["string"] == 275)
        #expect(summary.functions == 1)
        #expect(summary.checksum == .valid(0xe336_79e7_1236_94ab))
        #expect(summary.bytes == 44_482)
    }

    /// An AOF with an RDB preamble continues with commands after the checksum.
    @Test func trailingDataOnlyWhenAllowed() throws {
        let bytes = try Fixture.bytes(Fixture.dump)
        let tail = try Fixture.bytes(Fixture.appendOnlyDirectory.appendingPathComponent("appendonly.aof.2.incr.aof"))
        let error = try #require(throws: RedisError.self) { try RDBReader.read(MemorySource(bytes + tail), name: "appendonly.aof") }
        #expect(error.category == .integrity)
        #expect(error.message == "appendonly.aof has bytes after its checksum at offset 44984")
        let summary = try RDBReader.read(MemorySource(bytes + tail), allowTrailingData: true)
        #expect(summary.bytes == 44_984)
        #expect(summary.keys == 445)
    }
}
