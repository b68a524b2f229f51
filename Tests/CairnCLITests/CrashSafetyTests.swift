import Foundation
import Glibc
import Testing

@Suite("Crash safety: SIGKILL during backup")
struct CrashSafetyTests {
    @Test(arguments: ["chunking", "after-pack-upload", "after-index-write", "catalog-commit"])
    func killedBackupLeavesARepositoryThatChecksCleanAndWorks(point: String) throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        try TreeFixtures.write(source + "/dump.bin", TreeFixtures.bytes(count: 6 << 20, seed: 1))
        _ = try cairn.backup([source])
        let before = TreeFixtures.snapshot(of: source)

        try TreeFixtures.write(source + "/dump.bin", TreeFixtures.bytes(count: 12 << 20, seed: 2))
        try TreeFixtures.write(source + "/appendonly.aof", TreeFixtures.bytes(count: 9 << 20, seed: 3))
        let killed = try cairn.run(["backup", source], environment: ["CAIRN_TEST_CRASH_AT": point])
        #expect(killed.signaled && killed.status == SIGKILL, "expected SIGKILL at \(point), got status \(killed.status): \(killed.stderr)")

        let check = try cairn.run(["check", "--read-data"])
        #expect(check.status == 0, "check after a crash at \(point): \(check.stdout) \(check.stderr)")
        let snapshots = try cairn.snapshots()
        // Killed after the snapshot object was written, the snapshot exists and is complete.
        #expect(snapshots.count == (point == "catalog-commit" ? 2 : 1))

        let first = try #require(snapshots.first?["id"] as? String)
        let target = scratch.path("restored")
        try cairn.ok(["restore", first, "--target", target])
        #expect(TreeFixtures.snapshot(of: target) == before)

        _ = try cairn.backup([source])
        try cairn.ok(["check", "--read-data"])
        let again = scratch.path("again")
        try cairn.ok(["restore", "latest", "--target", again])
        #expect(TreeFixtures.snapshot(of: again) == TreeFixtures.snapshot(of: source))
    }

    /// A run killed mid-write leaves its spool file in tmp/; prune deletes it once it is older than
    /// a stale lock, and keeps a newer one (a writer's that might still be alive).
    @Test func pruneDeletesSpoolFilesOlderThanAStaleLock() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        try TreeFixtures.write(source + "/dump.bin", TreeFixtures.bytes(count: 1 << 20, seed: 5))
        _ = try cairn.backup([source])
        let old = cairn.repository + "/tmp/pack-" + String(repeating: "0a", count: 16)
        let fresh = cairn.repository + "/tmp/put-" + String(repeating: "0b", count: 12)
        try TreeFixtures.write(old, TreeFixtures.bytes(count: 3000, seed: 6))
        try TreeFixtures.write(fresh, TreeFixtures.bytes(count: 500, seed: 7))
        let anHourAgo = time(nil) - 3600
        var times = [timeval(tv_sec: anHourAgo, tv_usec: 0), timeval(tv_sec: anHourAgo, tv_usec: 0)]
        #expect(utimes(old, &times) == 0)

        let dryRun = try cairn.ok(["prune", "--dry-run"]).stdout
        #expect(dryRun.contains("would delete 1 spool file(s)"), "\(dryRun)")
        #expect(FileManager.default.fileExists(atPath: old))

        let report = try #require(try cairn.ok(["prune", "--json"]).json as? [String: Any])
        #expect(report["spool_files_deleted"] as? Int == 1 && report["spool_bytes_deleted"] as? Int == 3000, "\(report)")
        #expect(!FileManager.default.fileExists(atPath: old))
        #expect(FileManager.default.fileExists(atPath: fresh))

        let again = try cairn.run(["prune"])
        #expect(again.status == 7 && !again.stdout.contains("spool"), "\(again.status) \(again.stdout)")
        #expect(FileManager.default.fileExists(atPath: fresh))
        try cairn.ok(["check", "--read-data"])
    }
}

@Suite("Catalog is a rebuildable cache")
struct CatalogRebuildTests {
    @Test(arguments: ["delete", "truncate", "garbage"])
    func repairIndexRebuildsTheSameView(damage: String) throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let source = scratch.path("data")
        try TreeFixtures.makeAwkwardTree(at: source, largeFileSize: 3 << 20)
        _ = try cairn.backup([source], extra: ["--tag", "one"])
        try TreeFixtures.write(source + "/dump.bin", TreeFixtures.bytes(count: 5 << 20, seed: 11))
        _ = try cairn.backup([source], extra: ["--tag", "two"])
        let listing = try cairn.ok(["snapshots", "--json"]).stdout

        let catalog = cairn.repository + "/cache/catalog.sqlite"
        for suffix in ["-wal", "-shm"] { unlink(catalog + suffix) }
        switch damage {
        case "delete": unlink(catalog)
        case "truncate": truncate(catalog, 100)
        default: try TreeFixtures.write(catalog, TreeFixtures.bytes(count: 8192, seed: 3))
        }
        try cairn.ok(["repair", "index"])
        #expect(try cairn.ok(["snapshots", "--json"]).stdout == listing)
        for snapshot in try cairn.snapshots() {
            let id = try #require(snapshot["id"] as? String)
            let target = scratch.path("r-\(id.prefix(8))")
            try cairn.ok(["restore", id, "--target", target])
        }
        #expect(TreeFixtures.snapshot(of: scratch.path("r-" + String((try cairn.snapshots().last?["id"] as? String ?? "").prefix(8))))
                == TreeFixtures.snapshot(of: source))
        try cairn.ok(["check", "--read-data"])
    }

    @Test func lostIndexObjectsAreRebuiltFromPackHeaders() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        try TreeFixtures.write(source + "/dump.bin", TreeFixtures.bytes(count: 10 << 20, seed: 4))
        _ = try cairn.backup([source])
        let indexDirectory = cairn.repository + "/index"
        for name in try FileManager.default.contentsOfDirectory(atPath: indexDirectory) { unlink(indexDirectory + "/" + name) }
        unlink(cairn.repository + "/cache/catalog.sqlite")
        let repaired = try cairn.ok(["repair", "index"]).stdout
        #expect(repaired.contains("indexed"))
        try cairn.ok(["check", "--read-data"])
        try cairn.ok(["restore", "latest", "--target", scratch.path("out")])
        #expect(TreeFixtures.snapshot(of: scratch.path("out")) == TreeFixtures.snapshot(of: source))
    }
}
