import Foundation
import Glibc
import Testing

@Suite("Deduplication")
struct DeduplicationTests {
    /// Maximum chunk size of the repository's chunker, from its config.
    func maximumChunkSize(_ cairn: CairnRunner) throws -> Int {
        let data = try Data(contentsOf: URL(fileURLWithPath: cairn.repository + "/config"))
        let config = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let chunker = try #require(config["chunker"] as? [String: Any])
        return try #require(chunker["maximum_size"] as? Int)
    }

    /// A repository's first backup asks the catalog only about chunks it stored itself (the
    /// catalog was empty). A copy of a file met after the first copy's packs were indexed, and so
    /// are no longer in flight, must still be found there and stored once.
    @Test func aFirstBackupStoresAFileAndItsLaterCopyOnce() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        let bytes = TreeFixtures.bytes(count: 64 << 20, seed: 11)
        // Backed up in path order: 16 packs of 4 MiB (two index objects) before the copy.
        try TreeFixtures.write(source + "/a.aof", bytes)
        try TreeFixtures.write(source + "/b.aof", bytes)
        let first = try cairn.backup([source])
        let added = try #require(first["added_bytes"] as? Int)
        #expect(added >= 64 << 20 && added < (64 << 20) + (1 << 20), "a file and its copy added \(added) bytes")
        _ = try cairn.ok(["check", "--read-data"])
    }

    @Test func appendingOneMegabyteStoresAboutOneMegabyte() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        let file = source + "/appendonly.aof"
        try TreeFixtures.write(file, TreeFixtures.bytes(count: 200 << 20, seed: 7))
        _ = try cairn.backup([source])

        let fd = open(file, O_WRONLY | O_APPEND)
        _ = TreeFixtures.bytes(count: 1 << 20, seed: 8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        let second = try cairn.backup([source])
        let added = try #require(second["added_bytes"] as? Int)
        let limit = (1 << 20) + 2 * (try maximumChunkSize(cairn))
        #expect(added <= limit, "appending 1 MiB added \(added) bytes (limit \(limit))")

        let third = try cairn.backup([source])
        let unchanged = try #require(third["added_bytes"] as? Int)
        #expect(unchanged < 64 << 10, "an unchanged tree added \(unchanged) bytes")
        #expect(third["bytes_read"] as? Int == 0, "unchanged files should not be re-read")

        let forced = try cairn.backup([source], extra: ["--force-reread"])
        #expect((forced["bytes_read"] as? Int ?? 0) > 200 << 20)
        #expect((forced["added_bytes"] as? Int ?? Int.max) < 64 << 10)
    }
}
