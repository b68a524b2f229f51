import CairnRedis
import Glibc
import Testing

/// Crafted inputs that used to trap (crash the process) instead of throwing. Each runs in a child
/// process (an exit test); they must throw, so the child exits cleanly.
@Suite("Inputs that crash") struct CrashTests {
    /// RDBReader.swift:75: `Int(try walker.length(...))` traps on a 64-bit length ≥ 2^63.
    @Test func hugeDatabaseNumber() async {
        await #expect(processExitsWith: .success) {
            let bytes = Array("REDIS0011".utf8) + [0xfe, 0x81, 0xff, 0, 0, 0, 0, 0, 0, 0, 0xff] + [UInt8](repeating: 0, count: 8)
            _ = try? RDBReader.read(MemorySource(bytes))
        }
    }

    /// RDBWalker.swift:48: `Int64(value)` traps on a string length ≥ 2^63 (one flipped bit
    /// can turn a one-byte length 0x01 into the 64-bit prefix 0x81).
    @Test func hugeStringLength() async {
        await #expect(processExitsWith: .success) {
            let bytes = Array("REDIS0011".utf8) + [0xfe, 0x00, 0x00, 0x01, 0x41, 0x81, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x41]
            _ = try? RDBReader.read(MemorySource(bytes))
        }
    }

    /// AOFScanner.swift:57: `value * 10 + digit` overflows on a count or length of 19+ digits.
    @Test func hugeNumberInAnAOF() async {
        await #expect(processExitsWith: .success) {
            let bytes = Array("*1\r\n$99999999999999999999\r\nx\r\n".utf8)
            let path = "/tmp/cairn-crash-test-\(getpid()).aof"
            let descriptor = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o600)
            _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            unlink(path)
            _ = try? AOFScanner.completeLength(fd: descriptor, limit: Int64(bytes.count))
            close(descriptor)
        }
    }
}
