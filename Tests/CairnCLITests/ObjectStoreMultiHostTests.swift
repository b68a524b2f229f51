import Foundation
import Glibc
import Testing

/// Two hosts — two catalog caches ($XDG_CACHE_HOME), one `swift://` repository on the live Swift
/// All-In-One — as when several Redis servers back up into one shared repository.
@Suite("Two hosts sharing one Swift repository (live Swift All-In-One)", .liveSwiftAllInOne,
       .disabled(if: LiveSwiftAllInOne.skipped, "CAIRN_SKIP_OBJECTSTORE=1"))
struct ObjectStoreMultiHostTests {
    @Test func hostsSeeEachOthersSnapshotsDeduplicateAgainstThemAndRestoreThem() throws {
        let scratch = try Scratch()
        let hostA = try CairnRunner(scratch, on: .swift)
        var hostB = hostA
        hostB.environment["XDG_CACHE_HOME"] = scratch.path("xdg-b")

        // Both hosts run on this machine: --host gives each snapshot its host's name.
        let dataA = scratch.path("host-a")
        try TreeFixtures.makeAwkwardTree(at: dataA, largeFileSize: 8 << 20)
        let dataB = scratch.path("host-b")
        try FileManager.default.copyItem(atPath: Self.redisFixture, toPath: dataB)
        let backupA = try hostA.backup([dataA], extra: ["--host", "redis-a"])
        _ = try hostB.backup([dataB], extra: ["--host", "redis-b"])
        let idA = try #require(backupA["snapshot_id"] as? String)

        for (name, host) in [("A", hostA), ("B", hostB)] {
            let listed = try host.snapshots()
            #expect(listed.count == 2, "host \(name) lists \(listed.count) snapshots")
            #expect(Set(listed.compactMap { $0["hostname"] as? String }) == ["redis-a", "redis-b"], "host \(name): \(listed)")
            #expect(Set(listed.flatMap { $0["paths"] as? [String] ?? [] }).count == 2, "host \(name): \(listed)")
            let onlyB = try #require(try host.ok(["snapshots", "--json", "--host", "redis-b"]).json as? [[String: Any]])
            #expect(onlyB.count == 1, "host \(name): --host redis-b lists \(onlyB)")
        }
        // Each host has a cache of its own.
        for cache in ["xdg", "xdg-b"] {
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: scratch.path(cache + "/cairn"))) ?? []).count == 1)
        }

        // Host B backs up a copy of A's data: A's chunks are already in the repository.
        let copyOnB = scratch.path("host-b-copy-of-a")
        let copied = try Spawn.output("/bin/cp", ["-a", dataA, copyOnB])
        #expect(copied.0.status == 0)
        let sizeA = TreeFixtures.diskUsage(dataA)
        let backupCopy = try hostB.backup([copyOnB], extra: ["--host", "redis-b"])
        let added = try #require(backupCopy["added_bytes"] as? Int)
        #expect(Int64(added) * 100 < sizeA, "a copy of \(sizeA) bytes already in the repository added \(added) bytes")
        #expect(try hostA.snapshots().count == 3)

        // Host B restores A's snapshot, identical in bytes and metadata.
        let target = scratch.path("a-restored-on-b")
        try hostB.ok(["restore", idA, "--target", target])
        #expect(TreeFixtures.snapshot(of: dataA) == TreeFixtures.snapshot(of: target))
        let checked = try hostB.ok(["check", "--read-data"])
        #expect(checked.stdout.contains("no errors"), "\(checked.stdout)")
    }

    static var redisFixture: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/redis7-datadir").path
    }
}
