import Foundation
import Glibc
import Testing

/// Two hosts sharing one repository, each with its own catalog cache (`--cache-dir`), as several
/// Redis hosts share a Swift or S3 repository. A local repository stands in for the object store:
/// the races are between catalogs, not in the store. Each test holds one process at a chosen
/// point (CAIRN_TEST_PAUSE_AT: it stops itself there) while the other host acts.
@Suite("Shared repository: catalogs of two hosts")
struct SharedRepositoryTests {
    /// Host A's backup opens the repository (its catalog still lists x.bin's packs) and waits for
    /// the lock that host B's `forget --prune` holds; B then deletes those packs. A must look at
    /// the repository again once it holds the lock, or it deduplicates x.bin against packs that
    /// are gone and commits a snapshot that cannot be restored.
    @Test func aBackupThatWaitedForAPruneDoesNotReuseWhatThePruneDeleted() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let cacheA = ["--cache-dir", scratch.path("cache-a")], cacheB = ["--cache-dir", scratch.path("cache-b")]
        let first = scratch.path("first"), second = scratch.path("second")
        TreeFixtures.makeDirectory(first)
        TreeFixtures.makeDirectory(second)
        let shared = TreeFixtures.bytes(count: 4 << 20, seed: 71)
        try TreeFixtures.write(first + "/x.bin", shared)
        try TreeFixtures.write(second + "/x.bin", shared)
        try TreeFixtures.write(second + "/y.bin", TreeFixtures.bytes(count: 1 << 20, seed: 72))
        let firstSnapshot = try #require(try cairn.backup([first], extra: cacheA)["snapshot_id"] as? String)

        let prune = try cairn.start(["forget", firstSnapshot, "--prune"] + cacheB, environment: ["CAIRN_TEST_PAUSE_AT": "after-lock"])
        defer { kill(prune.pid, SIGCONT) }
        try #require(eventually(timeout: 30) { prune.isStopped || prune.hasEnded } && !prune.hasEnded,
                     "forget --prune did not stop after taking its lock")
        let backup = try cairn.start(["backup", "--json", "--lock-wait", "2m", second] + cacheA)
        try #require(eventually(timeout: 30) { backup.stderrSoFar.contains("waiting") || backup.hasEnded },
                     "the backup did not wait for the lock")
        let pruned = prune.resumeToEnd()
        #expect(pruned.status == 0, "forget --prune: \(pruned.stderr)")
        let backedUp = backup.wait()
        #expect(backedUp.status == 0, "backup: \(backedUp.stderr)")

        let checked = try cairn.run(["check", "--read-data", "--cache-dir", scratch.path("fresh-cache")])
        #expect(checked.status == 0, "check after the backup: \(checked.stdout) \(checked.stderr)")
        try cairn.ok(["restore", "latest", "--target", scratch.path("restored")] + cacheA)
        #expect(FileManager.default.contents(atPath: scratch.path("restored") + "/x.bin") == Data(shared))
    }

    /// Hosts A and B store the same new file at the same time (A is held after its pack is
    /// stored, before its index is written, while B backs up the file whole), so each catalog
    /// locates its chunks in its own pack. B's prune then deletes A's copy, which B's catalog does
    /// not use. A's catalog must find the chunks in B's pack afterwards: check, restore and prune
    /// on host A work, with nothing lost.
    @Test func aChunkStoredTwiceSurvivesTheOtherHostPruningOneCopy() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let cacheA = ["--cache-dir", scratch.path("cache-a")], cacheB = ["--cache-dir", scratch.path("cache-b")]
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        let bytes = TreeFixtures.bytes(count: 4 << 20, seed: 73)
        try TreeFixtures.write(source + "/x.bin", bytes)

        let hostA = try cairn.start(["backup", "--json", "--host", "host-a", source] + cacheA,
                                    environment: ["CAIRN_TEST_PAUSE_AT": "after-pack-upload"])
        defer { kill(hostA.pid, SIGCONT) }
        try #require(eventually(timeout: 60) { hostA.isStopped || hostA.hasEnded } && !hostA.hasEnded,
                     "host A's backup did not stop after storing a pack")
        let hostB = try cairn.backup(["--host", "host-b", source], extra: cacheB)
        #expect(hostB["added_bytes"] as? Int ?? 0 > 3 << 20, "host B should store its own copy: \(hostB)")
        let backedUp = hostA.resumeToEnd()
        #expect(backedUp.status == 0, "host A's backup: \(backedUp.stderr)")
        try cairn.ok(["snapshots"] + cacheA)   // host A's catalog learns B's index; its chunks stay in A's pack

        try cairn.ok(["prune"] + cacheB)
        let checked = try cairn.run(["check"] + cacheA)
        #expect(checked.status == 0, "check with host A's catalog: \(checked.stdout) \(checked.stderr)")
        let restored = try cairn.run(["restore", "latest", "--target", scratch.path("restored")] + cacheA)
        #expect(restored.status == 0, "restore with host A's catalog: \(restored.stderr)")
        #expect(FileManager.default.contents(atPath: scratch.path("restored") + "/x.bin") == Data(bytes))
        let prunedByA = try cairn.run(["prune"] + cacheA)
        #expect(prunedByA.status == 0 || prunedByA.status == 7, "prune with host A's catalog: \(prunedByA.stderr)")
        try cairn.ok(["check", "--read-data", "--cache-dir", scratch.path("fresh-cache")])
    }

    /// A command that takes the lock brings its catalog up to date once, after the lock is held:
    /// synchronizing on open as well listed the store twice for nothing (round trips on a remote
    /// repository). A restore that cannot write its lock (read-only media) still brings an empty
    /// catalog up to date before it looks for a snapshot.
    @Test func aCommandThatLocksBringsItsCatalogUpToDateOnce() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let cacheA = ["--cache-dir", scratch.path("cache-a")], cacheB = ["--cache-dir", scratch.path("cache-b")]
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        try TreeFixtures.write(source + "/dump.bin", TreeFixtures.bytes(count: 1 << 20, seed: 74))
        _ = try cairn.backup([source], extra: cacheA)
        _ = try cairn.backup(["--host", "host-b", source], extra: cacheB)   // new to host A's catalog

        func synchronizations(_ result: CairnRunner.Result) -> [Substring] {
            result.stderr.split(separator: "\n").filter { $0.contains("catalog synchronized") }
        }
        let backup = try cairn.ok(["backup", "--verbose", source] + cacheA)
        let once = synchronizations(backup)
        #expect(once.count == 1, "\(once)")
        #expect(once.first?.contains("1 new snapshots") == true, "host B's snapshot is read once: \(once)")
        for command in [["restore", "latest", "--target", scratch.path("restored")], ["check"],
                        ["forget", "--keep-last", "3"], ["prune"], ["repair", "index"]] {
            let result = try cairn.run(command + ["--verbose"] + cacheA)
            #expect(result.status == 0 || result.status == 7, "\(command): \(result.stderr)")
            #expect(synchronizations(result).count == 1 + (command == ["prune"] ? 1 : 0),
                    "\(command): \(synchronizations(result))")
        }

        let locks = cairn.repository + "/locks"
        try FileManager.default.removeItem(atPath: locks)
        try "not a directory".write(toFile: locks, atomically: true, encoding: .utf8)
        let unlocked = try cairn.run(["restore", "latest", "--verbose", "--target", scratch.path("unlocked"),
                                      "--cache-dir", scratch.path("cache-c")])
        #expect(unlocked.status == 0 && unlocked.stderr.contains("without a lock"), "\(unlocked.status) \(unlocked.stderr)")
        #expect(synchronizations(unlocked).count == 1, "\(synchronizations(unlocked))")
        #expect(TreeFixtures.contents(of: source) == TreeFixtures.contents(of: scratch.path("unlocked")))
    }
}
