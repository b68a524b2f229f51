import Foundation
import Glibc
import Testing

/// RDB files are cut at key-record boundaries: a night in which a few keys changed stores about
/// the chunks holding those keys, not the whole dump.
@Suite("Record chunking of RDB files", .serialized)
struct RecordChunkingTests {
    @Test func twoPercentOfKeysChangedStoresAFractionOfTheDump() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let redis = try LiveRedis(directory: scratch.path("data"), appendOnly: false)
        defer { redis.stop() }
        let source = try Self.savedDump(keys: 20_000, redis: redis, scratch: scratch)
        let first = try cairn.backup([source])
        let firstStored = try #require(first["added_stored_bytes"] as? Int)

        var changes = ""
        for index in stride(from: 0, to: 20_000, by: 50) { changes += "SET key:\(index) \(Self.value(index, night: 1))\n" }
        try redis.cli([], input: changes)
        try redis.cli(["SAVE"])
        unlink(source + "/dump.rdb")
        try FileManager.default.copyItem(atPath: redis.directory + "/dump.rdb", toPath: source + "/dump.rdb")
        let second = try cairn.backup([source])
        let secondStored = try #require(second["added_stored_bytes"] as? Int)
        // Measured: about a quarter; generic 512 KiB chunks store nearly all of it again.
        #expect(secondStored * 100 < firstStored * 40, "2% of keys changed stored \(secondStored) of \(firstStored) bytes")

        let target = scratch.path("restored")
        try cairn.ok(["restore", "latest", "--target", target])
        #expect(FileManager.default.contentsEqual(atPath: target + "/dump.rdb", andPath: source + "/dump.rdb"))
        try cairn.ok(["check", "--read-data"])
    }

    /// A value bigger than the chunker's window (16 MiB) is cut as it streams in; an RDB-looking
    /// file that is not one falls back to generic chunking. Both restore byte for byte.
    @Test func hugeValuesAndFakeRDBsRoundTrip() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let redis = try LiveRedis(directory: scratch.path("data"), appendOnly: false, extra: ["rdbcompression no"])
        defer { redis.stop() }
        try redis.cli(["SET", "small", "1"])
        try redis.cli(["EVAL", "redis.call('SET', 'huge', string.rep('0123456789abcdef', 1500000)) return 1", "0"])
        try redis.cli(["SET", "after", "2"])
        try redis.cli(["SAVE"])
        let source = scratch.path("tree")
        TreeFixtures.makeDirectory(source)
        try FileManager.default.copyItem(atPath: redis.directory + "/dump.rdb", toPath: source + "/dump.rdb")
        #expect(TreeFixtures.diskUsage(source) > 20 << 20)
        var fake = Array("REDIS0011".utf8)
        fake += TreeFixtures.bytes(count: 3 << 20, seed: 77)
        try TreeFixtures.write(source + "/fake.rdb", fake)
        try cairn.ok(["backup", "--skip-rdb-check", source])
        let target = scratch.path("restored")
        try cairn.ok(["restore", "latest", "--target", target])
        #expect(TreeFixtures.contents(of: target) == TreeFixtures.contents(of: source))
        try cairn.ok(["check", "--read-data"])
    }

    /// The backup validates and counts each RDB while chunking it; an RDB unchanged since the
    /// parent snapshot is not read again, and its counts come from the parent.
    @Test func countsComeFromTheRDBsOrFromTheParent() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/redis7-datadir").path
        let source = scratch.path("redis")
        try FileManager.default.copyItem(atPath: fixture, toPath: source)
        _ = try cairn.backup([source])
        let second = try cairn.backup([source])
        #expect(second["bytes_read"] as? Int == 0, "nothing changed, nothing is read")
        let snapshots = try cairn.snapshots()
        for snapshot in snapshots {
            let facts = try #require(snapshot["redis"] as? [String: String])
            #expect(facts["rdb_file"] == "dump.rdb")
            #expect(facts["keys"] == "445")
            #expect(facts["keys_per_db"]?.contains("db3=15") == true)
            #expect(facts["functions"] == "1")
            #expect(facts["aof_base_keys"] != nil)
            #expect(facts["capture"] == "directory")
        }
    }

    /// An unchanged backup right after the first adds no chunk, tree blobs included: a file's
    /// chunk ids serialize to the same bytes whether the file was read (a window of a few MiB at a
    /// time) or its list was copied from the parent snapshot.
    @Test func anUnchangedBackupAfterTheFirstAddsNoChunk() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let redis = try LiveRedis(directory: scratch.path("data"), appendOnly: false)
        defer { redis.stop() }
        let source = try Self.savedDump(keys: 80_000, redis: redis, scratch: scratch)
        let first = try cairn.backup([source])
        // Several read windows, and more ids than one group of the tree stream.
        #expect((first["bytes_read"] as? Int ?? 0) > 8 << 20)
        #expect((first["chunks"] as? Int ?? 0) > 4096)

        let second = try cairn.backup([source])
        #expect(second["bytes_read"] as? Int == 0)
        #expect(second["new_chunks"] as? Int == 0, "an unchanged backup added \(second["added_bytes"] ?? "?") bytes")
    }

    /// Sets `keys` keys to night 0's values, saves, and copies the dump into a new folder
    /// `night` of `scratch`, which it returns.
    static func savedDump(keys: Int, redis: LiveRedis, scratch: Scratch) throws -> String {
        var commands = ""
        for index in 0..<keys {
            commands += "SET key:\(index) \(value(index, night: 0))\n"
        }
        try redis.cli([], input: commands)
        try redis.cli(["SAVE"])
        let source = scratch.path("night")
        TreeFixtures.makeDirectory(source)
        try FileManager.default.copyItem(atPath: redis.directory + "/dump.rdb", toPath: source + "/dump.rdb")
        return source
    }

    /// Values of 60–400 bytes of mildly repetitive text, different each night.
    static func value(_ index: Int, night: Int) -> String {
        var state = UInt64(index * 31 + night * 1_000_003) &+ 0x9E37_79B9_7F4A_7C15
        let words = ["user", "cart", "order", "session", "alpha", "beta", "9f3a", "x1", "payload", "id"]
        var text = ""
        let length = 60 + index % 340
        while text.count < length {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            text += words[Int(state >> 60) % words.count] + String(state >> 44, radix: 36)
        }
        return String(text.prefix(length))
    }
}
