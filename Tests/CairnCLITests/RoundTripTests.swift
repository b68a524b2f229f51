import Foundation
import Glibc
import Testing

/// Every test runs against a local repository and, unless CAIRN_SKIP_OBJECTSTORE=1, against a
/// fresh container on the live Swift All-In-One as `swift://` and as `s3://` (each with its own
/// catalog cache under $XDG_CACHE_HOME): what a user sees must not depend on the store. Only
/// `restoreRefusesToOverwriteWithoutForceAndMovesAsideWithIt` stays local: it is about the target
/// directory, and the store takes no part in the refusal or in moving files aside.
@Suite("Round trip through the cairn binary", .liveSwiftAllInOne)
struct RoundTripTests {
    @Test(arguments: RepositoryKind.testedHere)
    func awkwardTreeRestoresIdenticalInBytesAndMetadata(_ kind: RepositoryKind) throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch, on: kind)
        let source = scratch.path("redis")
        // Smaller over loopback HTTP: a 4 MiB-pack repository still gets several packs.
        let largeFileSize = kind.isRemote ? 12 << 20 : 50 << 20
        try TreeFixtures.makeAwkwardTree(at: source, largeFileSize: largeFileSize)
        let summary = try cairn.backup([source])
        #expect(summary["files"] as? Int == 9)
        #expect(summary["links"] as? Int == 3)
        #expect((summary["bytes"] as? Int ?? 0) > largeFileSize)

        let target = scratch.path("restored")
        try cairn.ok(["restore", "latest", "--target", target])
        let before = TreeFixtures.snapshot(of: source)
        let after = TreeFixtures.snapshot(of: target)
        #expect(before.count == after.count)
        for (left, right) in zip(before, after) {
            #expect(left == right)
        }
        // The hole stayed a hole: far less than 16 MiB allocated.
        #expect(TreeFixtures.allocatedBytes(target + "/sparse.img") < 1 << 20)
        if geteuid() == 0 {
            #expect(after.first { $0.path == "dump.bin" }?.uid == 999)
        }
        try cairn.ok(["check", "--read-data"])
    }

    @Test(arguments: RepositoryKind.testedHere)
    func unencryptedRepositoryRoundTrips(_ kind: RepositoryKind) throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch, encrypted: false, on: kind)
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        try TreeFixtures.write(source + "/dump.bin", TreeFixtures.bytes(count: 1 << 20, seed: 9))
        _ = try cairn.backup([source], extra: ["--tag", "plain"])
        try cairn.ok(["restore", "latest", "--target", scratch.path("out")], environment: ["CAIRN_PASSWORD_FILE": "/nonexistent"])
        #expect(TreeFixtures.snapshot(of: source) == TreeFixtures.snapshot(of: scratch.path("out")))
    }

    /// `cairn backup /var/lib/redis` where that is a symlink to the data disk (with or without a
    /// trailing slash) stores the directory's files, not just the link.
    @Test func aSymlinkNamedOnTheCommandLineIsFollowed() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let real = scratch.path("disk-redis")
        TreeFixtures.makeDirectory(real)
        try TreeFixtures.write(real + "/dump.bin", TreeFixtures.bytes(count: 5000, seed: 3))
        try FileManager.default.createSymbolicLink(atPath: real + "/link-inside", withDestinationPath: "dump.bin")
        let link = scratch.path("redis")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: real)
        for named in [link, link + "/"] {
            _ = try cairn.backup([named])
            let target = scratch.path("restored-\(named.count)")
            try cairn.ok(["restore", "latest", "--target", target])
            #expect(TreeFixtures.contents(of: target) == TreeFixtures.contents(of: real), "backup \(named)")
            #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: target + "/link-inside")) == "dump.bin")
        }
    }

    /// A restore target that is a symlink to a directory is restored into that directory, not
    /// refused as "not a directory" (exit 5).
    @Test func restoreIntoASymlinkToADirectory() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        try TreeFixtures.write(source + "/dump.bin", TreeFixtures.bytes(count: 5000, seed: 4))
        _ = try cairn.backup([source])
        let real = scratch.path("disk-restore")
        TreeFixtures.makeDirectory(real)
        let link = scratch.path("restore")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: real)
        try cairn.ok(["restore", "latest", "--target", link])
        #expect(TreeFixtures.contents(of: real) == TreeFixtures.contents(of: source))
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: link)) == real, "the link itself stays")
    }

    @Test func restoreRefusesToOverwriteWithoutForceAndMovesAsideWithIt() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        try TreeFixtures.write(source + "/dump.bin", Array("new".utf8))
        _ = try cairn.backup([source])
        let target = scratch.path("live")
        TreeFixtures.makeDirectory(target)
        try TreeFixtures.write(target + "/dump.bin", Array("old".utf8))

        let refused = try cairn.run(["restore", "latest", "--target", target])
        #expect(refused.status == 5)
        #expect(refused.stderr.contains("--force"))
        #expect(try String(contentsOfFile: target + "/dump.bin", encoding: .utf8) == "old")

        try cairn.ok(["restore", "latest", "--target", target, "--force"])
        #expect(try String(contentsOfFile: target + "/dump.bin", encoding: .utf8) == "new")
        #expect(try String(contentsOfFile: target + "/dump.bin.old", encoding: .utf8) == "old")
    }

    @Test(arguments: RepositoryKind.testedHere)
    func includeRestoresOnlyMatchingPaths(_ kind: RepositoryKind) throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch, on: kind)
        let source = scratch.path("redis")
        try TreeFixtures.makeAwkwardTree(at: source, largeFileSize: 1 << 20)
        _ = try cairn.backup([source])
        let target = scratch.path("only-aof")
        try cairn.ok(["restore", "latest", "--target", target, "--include", "appendonlydir"])
        let restored = TreeFixtures.snapshot(of: target).map(\.path)
        #expect(restored.contains("appendonlydir/appendonly.aof.manifest"))
        #expect(!restored.contains("dump.bin"))
    }

    @Test(arguments: RepositoryKind.testedHere)
    func listingsDiffAndStatsDescribeSnapshots(_ kind: RepositoryKind) throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch, on: kind)
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        try TreeFixtures.write(source + "/a", Array("one".utf8))
        try TreeFixtures.write(source + "/b", Array("two".utf8))
        let first = try cairn.backup([source], extra: ["--tag", "nightly", "--time", "2026-11-20T00:00:00Z"])
        try TreeFixtures.write(source + "/b", Array("changed".utf8))
        unlink(source + "/a")
        try TreeFixtures.write(source + "/c", Array("three".utf8))
        _ = try cairn.backup([source])

        let snapshots = try cairn.snapshots()
        #expect(snapshots.count == 2)
        let oldest = try #require(snapshots.first)
        for key in ["id", "time", "hostname", "tags", "paths", "files", "bytes", "added_bytes"] {
            #expect(oldest[key] != nil, "snapshots --json lacks \(key)")
        }
        #expect(oldest["time"] as? String == "2026-11-20T00:00:00.000Z")
        #expect(oldest["tags"] as? [String] == ["nightly"])
        #expect(oldest["id"] as? String == first["snapshot_id"] as? String)

        let short = try #require(first["short_id"] as? String)
        let listing = try cairn.ok(["ls", short]).stdout
        #expect(listing.contains(" a\n") && listing.contains(" b\n"))
        let diff = try cairn.ok(["diff", short, "latest"]).stdout
        #expect(diff.contains("-  a"))
        #expect(diff.contains("+  c"))
        #expect(diff.contains("M  b"))
        let stats = try #require(try cairn.ok(["stats", "--json"]).json as? [String: Any])
        #expect(stats["snapshots"] as? Int == 2)
        #expect((stats["dedup_ratio"] as? Double ?? 0) > 0)
    }
}
