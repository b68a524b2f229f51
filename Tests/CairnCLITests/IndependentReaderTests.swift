import Foundation
import Glibc
import Testing

/// docs/FORMAT.md must be enough to get data back without Cairn: scripts/format/cairn-read.py, a
/// reader written from it alone (Python, python3-cryptography, libzstd through ctypes), restores
/// every snapshot of repositories the real binary made, and what it writes must equal both the
/// source and `cairn restore`. When the format changes and FORMAT.md does not, this fails.
@Suite("FORMAT.md is complete: the independent reader restores what cairn wrote")
struct IndependentReaderTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let reader = root + "/scripts/format/cairn-read.py"

    enum Kind: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case format2, format1, unencrypted
        var testDescription: String { rawValue }
    }

    /// Runs the reader with the runner's password file; returns its exit status and stderr.
    static func read(_ cairn: CairnRunner, _ arguments: [String],
                     repository: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        let out = cairn.scratch.path("reader-stdout-\(UUID().uuidString)")
        let err = cairn.scratch.path("reader-stderr-\(UUID().uuidString)")
        defer { unlink(out); unlink(err) }
        let options = ["--repo", repository ?? cairn.repository, "--password-file", cairn.scratch.path("password")]
        let pid = try Spawn.start("python3", [reader] + options + arguments, stdout: out, stderr: err)
        let exit = Spawn.wait(pid)
        return (exit.signaled ? -1 : exit.status, (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
                (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }

    @Test(arguments: Kind.allCases)
    func readerRestoresEverySnapshotLikeCairn(_ kind: Kind) throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch, encrypted: kind != .unencrypted, initialize: false)
        var initArguments = ["init", "--pack-size", "4"]
        if kind == .format1 { initArguments += ["--format-version", "1"] }
        if kind == .unencrypted { initArguments += ["--insecure-no-encryption"] }
        try cairn.ok(initArguments)

        // Files of every kind (sparse, hard links, symlinks, odd names, modes, uid 999 as root)
        // and a Redis 7 data directory, whose RDBs go through the record chunker (in format 2,
        // several record chunks to a zstd frame).
        let source = scratch.path("source")
        try TreeFixtures.makeAwkwardTree(at: source, largeFileSize: 6 << 20)
        let fixture = Self.root + "/Fixtures/redis7-datadir"
        try FileManager.default.copyItem(atPath: fixture, toPath: source + "/redis")
        _ = try cairn.backup([source])
        // A second snapshot that mostly deduplicates against the first.
        try TreeFixtures.write(source + "/redis/appendonlydir/appendonly.aof.2.incr.aof",
                               Array((try String(contentsOfFile: fixture + "/appendonlydir/appendonly.aof.2.incr.aof",
                                                 encoding: .utf8) + "*1\r\n$4\r\nPING\r\n").utf8))
        try TreeFixtures.write(source + "/added.bin", TreeFixtures.bytes(count: 70_000, seed: 7), mode: 0o600)
        _ = try cairn.backup([source])

        let ids = try cairn.snapshots().compactMap { $0["id"] as? String }
        #expect(ids.count == 2)
        for (number, id) in ids.enumerated() {
            let byReader = scratch.path("reader-\(number)"), byCairn = scratch.path("cairn-\(number)")
            let result = try Self.read(cairn, ["restore", id, byReader])
            #expect(result.status == 0, "cairn-read.py restore \(id) exited \(result.status): \(result.stderr)")
            try cairn.ok(["restore", id, "--target", byCairn])
            let expected = TreeFixtures.snapshot(of: byCairn, includeRoot: true)
            let got = TreeFixtures.snapshot(of: byReader, includeRoot: true)
            #expect(expected.count == got.count)
            for (left, right) in zip(expected, got) {
                #expect(left == right)
            }
        }
        // The last snapshot is the source as it is now, byte for byte and in metadata.
        let latest = scratch.path("reader-\(ids.count - 1)")
        #expect(TreeFixtures.snapshot(of: source, includeRoot: true) == TreeFixtures.snapshot(of: latest, includeRoot: true))
        #expect(TreeFixtures.allocatedBytes(latest + "/sparse.img") < 1 << 20, "the hole stayed a hole")
    }

    /// A tree stream longer than the tree chunker's maximum (256 KiB) spans several tree blobs,
    /// which the reader must join before it decodes records: 4,000 small files, about 95 bytes of
    /// stream each. Compared with the source only (a cairn restore of 4,000 files is slow).
    @Test func treeStreamOfSeveralBlobs() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let source = scratch.path("source")
        TreeFixtures.makeDirectory(source)
        for number in 0..<4_000 {
            try TreeFixtures.write(source + "/small-file-number-\(number)", Array("small file \(number)\n".utf8))
        }
        _ = try cairn.backup([source])
        let target = scratch.path("reader")
        let result = try Self.read(cairn, ["restore", "latest", target])
        #expect(result.status == 0, "cairn-read.py exited \(result.status): \(result.stderr)")
        // "restored snapshot …: 4000 files, … bytes, N tree blobs, into …"
        let blobs = result.stdout.components(separatedBy: " tree blobs").first?.split(separator: " ").last.flatMap { Int($0) }
        #expect((blobs ?? 0) >= 2, "the reader said: \(result.stdout)")
        #expect(TreeFixtures.snapshot(of: source, includeRoot: true) == TreeFixtures.snapshot(of: target, includeRoot: true))
    }

    /// A reader that cannot fail proves nothing: damage and a wrong password end it with an error.
    @Test func readerRefusesDamageAndAWrongPassword() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let source = scratch.path("source")
        TreeFixtures.makeDirectory(source)
        try TreeFixtures.write(source + "/dump.bin", TreeFixtures.bytes(count: 100_000, seed: 3))
        _ = try cairn.backup([source])

        let damaged = scratch.path("damaged")
        try FileManager.default.copyItem(atPath: cairn.repository, toPath: damaged)
        let packs = try FileManager.default.subpathsOfDirectory(atPath: damaged + "/data").filter { $0.count > 60 }
        let pack = damaged + "/data/" + (try #require(packs.first))
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: pack)))
        bytes[10] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: pack))
        let result = try Self.read(cairn, ["restore", "latest", scratch.path("out-damaged")], repository: damaged)
        #expect(result.status == 1)
        #expect(result.stderr.contains("does not match its name"), "\(result.stderr)")

        try "wrong\n".write(toFile: scratch.path("password"), atomically: true, encoding: .utf8)
        let wrong = try Self.read(cairn, ["list"])
        #expect(wrong.status == 1)
        #expect(wrong.stderr.contains("wrong password"), "\(wrong.stderr)")
    }
}
