import Foundation
import Glibc
import Testing

/// A file that changes while a plain-directory backup reads it (a live capture freezes its files
/// first) is stored at the size it had when opened, as GNU tar does, and the backup says so
/// (exit 3): the snapshot's size and its content agree, so `ls` and a restore agree.
@Suite("A file changing while it is read")
struct ChangingFileTests {
    enum Change: String, CaseIterable {
        case grows, shrinks, isRewrittenInPlace
    }

    static let size = 64 << 20
    static let shrunk = 48 << 20

    @Test(arguments: Change.allCases)
    func storedAtItsSizeWhenOpenedWithAWarning(_ change: Change) throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        let file = source + "/big.bin"
        let original = TreeFixtures.bytes(count: Self.size, seed: 61)
        try TreeFixtures.write(file, original)

        // It stops itself after its first window of the file (tens of MiB) is chunked.
        let running = try cairn.start(["backup", source], environment: ["CAIRN_TEST_PAUSE_AT": "chunking"])
        try #require(eventually(timeout: 120) { running.isStopped || running.hasEnded })
        try #require(!running.hasEnded, "it ended before reaching the pause: \(running.stderrSoFar)")
        let handle = try #require(FileHandle(forUpdatingAtPath: file))
        switch change {
        case .grows:
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(repeating: 0x41, count: 1 << 20))
        case .shrinks:
            try handle.truncate(atOffset: UInt64(Self.shrunk))
        case .isRewrittenInPlace:
            try handle.seek(toOffset: UInt64(Self.size - 4096))
            try handle.write(contentsOf: Data(repeating: 0x42, count: 4096))
        }
        try handle.close()
        let result = running.resumeToEnd()
        #expect(result.status == 3, "\(result.stderr)")
        let expected = switch change {
        case .grows: "grew from \(Self.size) to \(Self.size + (1 << 20)) bytes while it was read"
        case .shrinks: "shrank from \(Self.size) to \(Self.shrunk) bytes while it was read"
        case .isRewrittenInPlace: "changed while it was read"
        }
        #expect(result.stderr.contains("big.bin: \(expected)"), "\(result.stderr)")

        let target = scratch.path("restored")
        try cairn.ok(["restore", "latest", "--target", target])
        let restored = try [UInt8](Data(contentsOf: URL(fileURLWithPath: target + "/big.bin")))
        // Booleans, not arrays: a failed expectation would print 64 MiB.
        #expect(restored.count == Self.size)
        let kept = switch change {
        case .grows: Self.size
        case .shrinks: Self.shrunk
        case .isRewrittenInPlace: Self.size - 4096
        }
        // memcmp: element-wise comparison of 64 MiB slices is seconds of CPU in a debug build.
        let keptMatches = restored.count >= kept && restored.withUnsafeBytes { r in original.withUnsafeBytes { memcmp(r.baseAddress!, $0.baseAddress!, kept) == 0 } }
        #expect(keptMatches, "the first \(kept) bytes are the file's")
        if change == .shrinks {
            let zeros = [UInt8](repeating: 0, count: Self.size - Self.shrunk)
            let padded = restored.count == Self.size && restored.withUnsafeBytes { memcmp($0.baseAddress! + Self.shrunk, zeros, zeros.count) == 0 }
            #expect(padded, "padded with zeros to its size when opened")
        }
        let listed = try #require(try cairn.ok(["ls", "latest", "--json"]).json as? [[String: Any]])
        let node = try #require(listed.first { ($0["path"] as? String ?? "").hasSuffix("big.bin") }, "\(listed)")
        #expect(node["size"] as? Int == Self.size, "\(node)")

        // The change shows in its size or time, so the next backup reads it again.
        let next = try cairn.backup([source])
        #expect((next["bytes_read"] as? Int ?? 0) > 0, "\(next)")
    }

    /// A file whose size `stat` gives as 0 but that holds bytes (procfs here, bind-mounted into
    /// the source; some FUSE file systems do the same) fits one read window and is stored whole,
    /// with a warning that it differed from its size.
    @Test(.enabled(if: geteuid() == 0, "needs root to bind-mount"))
    func aFileHoldingMoreThanItsStatSizeIsStoredWhole() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        let file = source + "/version"
        try TreeFixtures.write(file, [])
        try #require(mount("/proc/version", file, nil, UInt(MS_BIND), nil) == 0, "bind mount failed: \(errno)")
        defer { umount2(file, Int32(MNT_DETACH)) }
        let expected = try [UInt8](Data(contentsOf: URL(fileURLWithPath: "/proc/version")))
        var info = stat()
        try #require(stat(file, &info) == 0 && info.st_size == 0 && !expected.isEmpty)

        let result = try cairn.run(["backup", source])
        #expect(result.status == 3 && result.stderr.contains("version: changed while it was read"), "\(result.stderr)")
        let target = scratch.path("restored")
        try cairn.ok(["restore", "latest", "--target", target])
        let restored = try [UInt8](Data(contentsOf: URL(fileURLWithPath: target + "/version")))
        #expect(restored == expected)
    }
}
