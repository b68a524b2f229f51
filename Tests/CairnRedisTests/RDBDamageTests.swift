import CairnRedis
import CairnTestSupport
import Foundation
import Testing

/// Damaged copies of the real dump.rdb must be refused with an integrity error, never accepted,
/// never crash and never hang.
@Suite("RDB reader on damaged files") struct RDBDamageTests {
    static let dump = try! Fixture.bytes(Fixture.dump)

    static func refusal(_ bytes: [UInt8], name: String = "the RDB file") -> RedisError? {
        do {
            _ = try RDBReader.read(MemorySource(bytes), name: name)
            return nil
        } catch let error as RedisError {
            return error
        } catch {
            Issue.record("unexpected error type: \(error)")
            return nil
        }
    }

    static func withChecksum(_ bytes: [UInt8]) -> [UInt8] {
        let body = Array(bytes.dropLast(8))
        return body + RDBBuilder.littleEndian(CRC64Jones.checksum(body), 8)
    }

    @Test func truncationIsRefusedAtEveryOffset() {
        let count = Self.dump.count
        let cuts = Set(Array(stride(from: 0, to: count, by: 997)) + Array(0..<16) + Array((count - 16)..<count))
        #expect(cuts.count > 70)
        for cut in cuts.sorted() {
            guard let error = Self.refusal(Array(Self.dump.prefix(cut))) else {
                Issue.record("a copy cut at \(cut) of \(count) bytes was accepted")
                continue
            }
            #expect(error.category == .integrity, "cut at \(cut)")
            #expect(error.message.hasPrefix("the RDB file is truncated at byte \(cut) while reading"), "cut at \(cut): \(error.message)")
        }
    }

    @Test func singleBitFlipsAreRefused() {
        var random = SplitMix64(seed: 0xb17f_11b5)
        var accepted: [String] = []
        var byCause: [String: Int] = [:]
        for _ in 0..<200 {
            let offset = random.below(Self.dump.count)
            let bit = random.below(8)
            var damaged = Self.dump
            damaged[offset] ^= 1 << UInt8(bit)
            guard let error = Self.refusal(damaged) else {
                accepted.append("offset \(offset) bit \(bit)")
                continue
            }
            #expect(error.category == .integrity, "offset \(offset) bit \(bit): \(error.message)")
            let cause = error.message.contains("CRC64 mismatch") ? "crc" : error.message.contains("truncated") ? "truncated" : "structure"
            byCause[cause, default: 0] += 1
        }
        #expect(accepted.isEmpty, "accepted flips: \(accepted)")
        #expect(byCause["crc", default: 0] > 100, "\(byCause)")
    }

    @Test func aFlippedChecksumNamesBothValues() throws {
        var damaged = Self.dump
        damaged[damaged.count - 1] ^= 0x01
        let error = try #require(Self.refusal(damaged, name: "dump.rdb"))
        #expect(error.message == "dump.rdb: CRC64 mismatch: stored 0x9df4f1fc05f31268, computed 0x9cf4f1fc05f31268")
        #expect(error.hint == "the file is not a complete, valid RDB; it was not backed up as one")
    }

    @Test(arguments: [("REDIS0013", "has RDB version 13, which this Cairn does not read (it reads 1–12)"),
                      ("REDIS0000", "has RDB version 0, which this Cairn does not read (it reads 1–12)"),
                      ("REDIS9999", "has RDB version 9999, which this Cairn does not read (it reads 1–12)")])
    func unknownVersionsAreRefusedByNumber(_ magic: String, _ message: String) throws {
        let patched = Self.withChecksum(Array(magic.utf8) + Self.dump.dropFirst(9))
        let error = try #require(Self.refusal(patched, name: "dump.rdb"))
        #expect(error.category == .integrity)
        #expect(error.message == "dump.rdb " + message)
    }

    /// RDB 5 is a version Cairn reads, so the patched header is not refused as such: the CRC
    /// (which covers the magic) catches it, and with the CRC recomputed the file reads as
    /// version 5 — the walker does not check that value types are as old as the header says.
    @Test func anOlderVersionPatchedIn() throws {
        let patched = Array("REDIS0005".utf8) + Self.dump.dropFirst(9)
        let error = try #require(Self.refusal(patched))
        #expect(error.message.contains("CRC64 mismatch"))
        let summary = try RDBReader.read(MemorySource(Self.withChecksum(patched)))
        #expect(summary.version == 5)
        #expect(summary.keys == 445)
    }

    @Test func valkeyFilesAreNamed() throws {
        let error = try #require(Self.refusal(Array("VALKEY080".utf8) + Self.dump.dropFirst(9), name: "dump.rdb"))
        #expect(error.message == "dump.rdb was written by Valkey (VALKEY080); this Cairn reads Redis RDB versions 1–12")
    }

    @Test func filesThatAreNotRDBAreRefusedClearly() throws {
        let incr = try Fixture.bytes(Fixture.appendOnlyDirectory.appendingPathComponent("appendonly.aof.2.incr.aof"))
        let cases: [([UInt8], String)] = [
            (incr, "appendonly.aof is not an RDB file (it starts with 2a320d0a24360d0a53)"),
            (Array("hello world, not a dump".utf8), "appendonly.aof is not an RDB file (it starts with 68656c6c6f20776f72)"),
            (Array("REDISabcd and more".utf8), "appendonly.aof is not an RDB file (it starts with 524544495361626364)"),
            (Array("REDIS".utf8), "appendonly.aof is truncated at byte 5 while reading the header"),
            ([], "appendonly.aof is truncated at byte 0 while reading the header"),
        ]
        for (bytes, message) in cases {
            let error = try #require(Self.refusal(bytes, name: "appendonly.aof"))
            #expect(error.category == .integrity)
            #expect(error.message == message)
        }
    }

    @Test func aZeroTrailerMeansChecksumDisabled() throws {
        let zeroed = Array(Self.dump.dropLast(8)) + [UInt8](repeating: 0, count: 8)
        let summary = try RDBReader.read(MemorySource(zeroed))
        #expect(summary.checksum == .disabled)
        #expect(summary.keys == 445)
    }
}
