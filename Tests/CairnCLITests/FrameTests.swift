import Foundation
import Glibc
import Testing

/// Format 2 compresses runs of adjacent new chunks as one frame; format 1 repositories keep one
/// chunk per blob. Both restore byte for byte, also after a prune copied what is left of frames
/// whose other chunks are no longer used.
@Suite("Repository formats: frames of adjacent chunks", .serialized)
struct FrameTests {
    @Test(arguments: [1, 2])
    func backupPruneAndRestoreInFormat(_ version: Int) throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch, encrypted: false, initialize: false)
        try cairn.ok(["init", "--pack-size", "4", "--insecure-no-encryption", "--format-version", String(version)])
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: cairn.repository + "/config"))) as? [String: Any]
        #expect(config?["version"] as? Int == version)

        let redis = try LiveRedis(directory: scratch.path("data"), appendOnly: false)
        defer { redis.stop() }
        var commands = ""
        for index in 0..<20_000 { commands += "SET key:\(index) \(RecordChunkingTests.value(index, night: 0))\n" }
        try redis.cli([], input: commands)
        try redis.cli(["SAVE"])
        let source = scratch.path("night")
        TreeFixtures.makeDirectory(source)
        try FileManager.default.copyItem(atPath: redis.directory + "/dump.rdb", toPath: source + "/dump.rdb")
        _ = try cairn.backup([source])

        // Format 2 packs hold frames (several entries at one blob offset); format 1 ones do not.
        var entries = 0, blobs = 0
        for pack in try PackFiles.oldestFirst(in: cairn.repository) {
            let header = try PackFiles.header(ofUnencryptedPack: pack)
            #expect(header.magic == (version == 1 ? "CPK1" : "CPK2"))
            entries += header.entries.count
            blobs += Set(header.entries.map(\.offset)).count
        }
        if version == 1 {
            #expect(entries == blobs)
        } else {
            #expect(blobs * 2 < entries, "\(entries) chunks in \(blobs) blobs: adjacent new chunks should share frames")
        }

        // Every eighth key changes: most old chunks and some whole frames are no longer used.
        var changes = ""
        for index in stride(from: 0, to: 20_000, by: 8) { changes += "SET key:\(index) \(RecordChunkingTests.value(index, night: 1))\n" }
        try redis.cli([], input: changes)
        try redis.cli(["SAVE"])
        unlink(source + "/dump.rdb")
        try FileManager.default.copyItem(atPath: redis.directory + "/dump.rdb", toPath: source + "/dump.rdb")
        _ = try cairn.backup([source])
        try cairn.ok(["forget", "--keep-last", "1"])
        let prune = try #require(try cairn.ok(["prune", "--max-unused", "0%", "--json"]).json as? [String: Any])
        #expect(prune["packs_repacked"] as? Int ?? 0 > 0, "prune repacked nothing: \(prune)")
        if version == 2 {
            // A repacked frame whose first chunks are gone keeps its place: entries past 0 only.
            var partial = 0
            for pack in try PackFiles.oldestFirst(in: cairn.repository) {
                let header = try PackFiles.header(ofUnencryptedPack: pack)
                let byBlob = Dictionary(grouping: header.entries, by: \.offset)
                partial += byBlob.values.filter { $0.allSatisfy { $0.frameOffset > 0 } }.count
            }
            #expect(partial > 0, "no frame was copied without its first chunk: the test no longer covers that path")
        }

        let target = scratch.path("restored")
        try cairn.ok(["restore", "latest", "--target", target])
        #expect(FileManager.default.contentsEqual(atPath: target + "/dump.rdb", andPath: source + "/dump.rdb"))
        let check = try cairn.ok(["check", "--read-data"]).stdout
        #expect(check.contains("no errors"), "\(check)")
    }

    @Test func unknownFormatVersionIsRefused() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch, initialize: false)
        let result = try cairn.run(["init", "--format-version", "3"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("--format-version must be 1...2"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: cairn.repository + "/config"))
    }
}
