import CairnRedis
import CairnTestSupport
import Foundation
import Testing

/// Cutting a copied AOF increment at its last whole command.
@Suite("AOF scanner") struct AOFScannerTests {
    static let increment = try! Fixture.bytes(Fixture.appendOnlyDirectory.appendingPathComponent("appendonly.aof.2.incr.aof"))

    /// Where each command of a well-formed AOF ends, parsed independently (strict RESP arrays of bulk strings).
    static func commandEnds(_ bytes: [UInt8]) -> [Int] {
        var ends: [Int] = []
        var position = 0
        func line() -> Int? {
            guard let cr = bytes[position...].firstIndex(of: 13), cr + 1 < bytes.count, bytes[cr + 1] == 10,
                  let value = Int(String(decoding: bytes[(position + 1)..<cr], as: UTF8.self)) else { return nil }
            position = cr + 2
            return value
        }
        while position < bytes.count, bytes[position] == UInt8(ascii: "*"), let count = line() {
            for _ in 0..<count {
                guard position < bytes.count, bytes[position] == UInt8(ascii: "$"), let length = line() else { return ends }
                position += length + 2
                guard position <= bytes.count, bytes[position - 2] == 13, bytes[position - 1] == 10 else { return ends }
            }
            ends.append(position)
        }
        return ends
    }

    static func expectedCut(_ ends: [Int], _ limit: Int) -> Int64 { Int64(ends.last { $0 <= limit } ?? 0) }

    @Test func theFixtureIncrementIsWhole() throws {
        let ends = Self.commandEnds(Self.increment)
        #expect(ends.count == 22, "SELECT, 20 SETs and INCRBY")
        #expect(ends.last == Self.increment.count)
        let file = Fixture.appendOnlyDirectory.appendingPathComponent("appendonly.aof.2.incr.aof")
        let length = try withDescriptor(file) { try AOFScanner.completeLength(fd: $0, limit: Int64(Self.increment.count)) }
        #expect(length == 1023)
    }

    /// Every prefix length of the real increment, read through `limit` on the whole file.
    @Test func everyCutOfTheFixtureEndsAtTheLastWholeCommand() throws {
        let ends = Self.commandEnds(Self.increment)
        let file = Fixture.appendOnlyDirectory.appendingPathComponent("appendonly.aof.2.incr.aof")
        try withDescriptor(file) { descriptor in
            for cut in 0...Self.increment.count {
                let length = try AOFScanner.completeLength(fd: descriptor, limit: Int64(cut))
                #expect(length == Self.expectedCut(ends, cut), "cut at \(cut)")
            }
            #expect(try AOFScanner.completeLength(fd: descriptor, limit: 1 << 40) == 1023, "a limit past the end")
        }
    }

    /// The same on truncated copies (what a copy taken while Redis appends looks like).
    @Test func truncatedCopiesEndAtTheLastWholeCommand() throws {
        let ends = Self.commandEnds(Self.increment)
        for cut in stride(from: 0, through: Self.increment.count, by: 37) {
            let copy = try TemporaryFile(Array(Self.increment.prefix(cut)), name: "appendonly.aof.2.incr.aof")
            let length = try copy.withDescriptor { try AOFScanner.completeLength(fd: $0, limit: Int64(Self.increment.count)) }
            #expect(length == Self.expectedCut(ends, cut), "copy of \(cut) bytes")
        }
    }

    /// 1.6 MB of commands: the scanner's 1 MiB buffer is refilled mid-command.
    @Test func commandsAcrossTheReadBuffer() throws {
        var bytes: [UInt8] = []
        for index in 0..<3000 {
            let value = String(repeating: Character(UnicodeScalar(UInt8(97 + index % 26))), count: 400 + index % 300)
            let arguments = ["SET", "key:\(index)", value]
            bytes += Array("*\(arguments.count)\r\n".utf8)
            for argument in arguments { bytes += Array("$\(argument.utf8.count)\r\n\(argument)\r\n".utf8) }
        }
        #expect(bytes.count > 1_600_000)
        let ends = Self.commandEnds(bytes)
        #expect(ends.count == 3000)
        let file = try TemporaryFile(bytes)
        var random = SplitMix64(seed: 17)
        let cuts = [0, 1 << 20, (1 << 20) - 1, (1 << 20) + 1, bytes.count, bytes.count - 1] + (0..<20).map { _ in random.below(bytes.count) }
        try file.withDescriptor { descriptor in
            for cut in cuts {
                let length = try AOFScanner.completeLength(fd: descriptor, limit: Int64(cut))
                #expect(length == Self.expectedCut(ends, cut), "cut at \(cut)")
            }
        }
    }

    /// A bulk header announcing a huge length kept the rest of the file in memory, however long
    /// (and a real 200 MB value was held whole). Headers are read, arguments skipped by their
    /// length: on files of a few hundred MiB (sparse, so cheap) the scanner reads about one window.
    @Test func argumentsAreSkippedNotHeld() throws {
        let ping = Array("*1\r\n$4\r\nPING\r\n".utf8)
        let endless = Array("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$99999999999999\r\n".utf8)
        let tooLong = try TemporaryFile(ping + endless)
        truncate(tooLong.url.path, 256 << 20)
        let (cut, read) = try Self.bytesReadByThisThread {
            try tooLong.withDescriptor { try AOFScanner.completeLength(fd: $0, limit: 256 << 20) }
        }
        #expect(cut == Int64(ping.count))
        #expect(read < 2 << 20, "read \(read) bytes of a 256 MiB file")

        let valueLength: Int64 = 200 << 20
        let header = Array("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$\(valueLength)\r\n".utf8)
        let large = try TemporaryFile(header)
        let tail = [13, 10] + ping
        let written = try large.withWritableDescriptor { descriptor in
            tail.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, off_t(Int64(header.count) + valueLength)) }
        }
        #expect(written == tail.count)
        let size = Int64(header.count) + valueLength + Int64(tail.count)
        let (whole, readOfLarge) = try Self.bytesReadByThisThread {
            try large.withDescriptor { try AOFScanner.completeLength(fd: $0, limit: size) }
        }
        #expect(whole == size, "the SET of a 200 MiB value and the PING after it are complete")
        #expect(readOfLarge < 3 << 20, "read \(readOfLarge) bytes of a 200 MiB file")
        let (cutInValue, _) = try Self.bytesReadByThisThread {
            try large.withDescriptor { try AOFScanner.completeLength(fd: $0, limit: size - Int64(ping.count) - 1) }
        }
        #expect(cutInValue == 0, "the SET ends past the limit")
    }

    /// What `body` returns and the bytes this thread read meanwhile (`rchar` of
    /// /proc/thread-self/io: read(2) and pread(2) alike, and unlike peak memory, not shared with the
    /// tests running beside this one).
    static func bytesReadByThisThread<T>(_ body: () throws -> T) throws -> (T, Int) {
        func readSoFar() throws -> Int {
            let text = try String(contentsOfFile: "/proc/thread-self/io", encoding: .utf8)
            let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("rchar:") })
            return try #require(Int(line.dropFirst("rchar:".count).trimmingCharacters(in: .whitespaces)))
        }
        let before = try readSoFar()
        let value = try body()
        return (value, try readSoFar() - before)
    }

    @Test func anRDBPreambleIsNotScanned() throws {
        let base = Fixture.appendOnlyDirectory.appendingPathComponent("appendonly.aof.2.base.rdb")
        #expect(try withDescriptor(base) { try AOFScanner.completeLength(fd: $0, limit: 1000) } == 1000)
    }

    /// An argument is skipped by its length; only the two bytes after it say the length was right.
    /// Unchecked, a length one short or one long, or a damaged CRLF, made the command whole, and
    /// the scan went on from inside it.
    @Test func anArgumentNotEndedByCRLFStopsTheScan() throws {
        let good = Array("*1\r\n$4\r\nPING\r\n".utf8)
        let after = Array("*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n".utf8)
        for damaged in ["*1\r\n$3\r\nPING\r\n", "*1\r\n$5\r\nPING\r\n", "*1\r\n$4\r\nPING\n\r", "*1\r\n$4\r\nPINGxy",
                        "*2\r\n$3\r\nSET\r\n$1\r\nk\r\r", "*1\r\n$0\r\n\r*"] {
            let file = try TemporaryFile(good + Array(damaged.utf8) + after)
            let length = try file.withDescriptor { try AOFScanner.completeLength(fd: $0, limit: 10_000) }
            #expect(length == Int64(good.count), "\(damaged.debugDescription)")
        }
        let empty = try TemporaryFile(good + Array("*1\r\n$0\r\n\r\n".utf8) + after)
        #expect(try empty.withDescriptor { try AOFScanner.completeLength(fd: $0, limit: 10_000) } == Int64(good.count + 10 + after.count),
                "an empty argument is followed by its CRLF")
    }

    @Test func garbageStopsTheScan() throws {
        let good = Array("*1\r\n$4\r\nPING\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n".utf8)
        for tail in ["garbage", "*x\r\n", "*1\r\n$-1\r\n", "\r\n*1\r\n$4\r\nPING\r\n"] {
            let file = try TemporaryFile(good + Array(tail.utf8))
            let length = try file.withDescriptor { try AOFScanner.completeLength(fd: $0, limit: 10_000) }
            #expect(length == Int64(good.count), "tail \(tail.debugDescription)")
        }
    }
}
