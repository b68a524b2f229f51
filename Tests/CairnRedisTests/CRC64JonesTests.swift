import CairnRedis
import CairnTestSupport
import Foundation
import Testing

@Suite("CRC64 Jones") struct CRC64JonesTests {
    /// The check values in Redis's src/crc64.c.
    @Test func matchesRedisCheckValues() {
        #expect(CRC64Jones.checksum("123456789") == 0xe9c6_d914_c4b8_d9ca)
        let lorem = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore "
            + "et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip "
            + "ex ea commodo consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu "
            + "fugiat nulla pariatur. Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt "
            + "mollit anim id est laborum."
        #expect(CRC64Jones.checksum(Array(lorem.utf8) + [0]) == 0xc779_4709_e696_83b3)
    }

    @Test func emptyInputIsZero() {
        #expect(CRC64Jones.checksum([]) == 0)
        #expect(CRC64Jones.checksum("") == 0)
        var crc = CRC64Jones()
        [UInt8]().withUnsafeBytes { crc.update($0) }
        #expect(crc.value == 0)
    }

    /// The trailers of the two RDB files written by redis-server 7.0.15 (computed
    /// independently with a bytewise Python implementation).
    @Test func matchesTheTrailersRedisWrote() throws {
        for (url, expected) in [(Fixture.dump, UInt64(0x9cf4_f1fc_05f3_1268)),
                                (Fixture.appendOnlyDirectory.appendingPathComponent("appendonly.aof.2.base.rdb"), 0xe336_79e7_1236_94ab)] {
            let bytes = try Fixture.bytes(url)
            #expect(CRC64Jones.checksum(Array(bytes.dropLast(8))) == expected)
            let stored = bytes.suffix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            #expect(stored == expected)
        }
    }

    /// Slice-by-8 with unaligned starts and tails: any split gives the one-shot value.
    @Test func incrementalUpdatesEqualOneShot() throws {
        var random = SplitMix64(seed: 64)
        let bytes = try Fixture.bytes(Fixture.dump)
        let whole = CRC64Jones.checksum(bytes)
        for _ in 0..<200 {
            var crc = CRC64Jones()
            var start = 0
            while start < bytes.count {
                let size = random.chance(50) ? random.below(16) : random.below(5000)
                let end = min(bytes.count, start + size)
                bytes[start..<end].withUnsafeBytes { crc.update($0) }
                start = end
            }
            #expect(crc.value == whole)
        }
        for length in 0..<40 {
            let prefix = Array(bytes.prefix(length))
            var crc = CRC64Jones()
            for byte in prefix { [byte].withUnsafeBytes { crc.update($0) } }
            #expect(crc.value == CRC64Jones.checksum(prefix), "byte by byte, \(length) bytes")
        }
    }

    /// The folding path (PCLMULQDQ, runs of 64 bytes and more), the slice-by-8 tables and a
    /// bit-at-a-time reference agree on every length around the fold's block sizes, at unaligned
    /// starts, from non-zero registers (a CRC continued across reads).
    @Test func foldingTablesAndBitwiseReferenceAgree() {
        #if arch(x86_64)
        // This machine's CPU has PCLMULQDQ: the folding path must be the one under test.
        if let cpu = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8), cpu.contains(" pclmulqdq") {
            #expect(CRC64Jones.folds)
        }
        #endif
        var random = SplitMix64(seed: 128)
        let bytes = (0..<70_000).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        func bitwise(_ start: UInt64, _ slice: ArraySlice<UInt8>) -> UInt64 {
            var crc = start
            for byte in slice {
                crc ^= UInt64(byte)
                for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x95ac_9329_ac4b_c9b5 : crc >> 1 }
            }
            return crc
        }
        let lengths = Array(0..<300) + [511, 512, 513, 1023, 1024, 1025, 4096, 65_536 + 17] + (0..<40).map { _ in random.below(60_000) }
        for length in lengths {
            let start = random.below(1000)
            let prefix = random.below(40)
            let slice = bytes[start..<(start + length)]
            // A register left by an earlier part of the stream.
            var folded = CRC64Jones(), tabled = CRC64Jones()
            bytes[0..<prefix].withUnsafeBytes { folded.update($0); tabled.updateWithTables($0) }
            let register = folded.value
            slice.withUnsafeBytes { folded.update($0); tabled.updateWithTables($0) }
            let expected = bitwise(register, slice)
            #expect(folded.value == expected, "update, \(length) bytes at \(start) after \(prefix)")
            #expect(tabled.value == expected, "tables, \(length) bytes at \(start) after \(prefix)")
        }
    }
}
