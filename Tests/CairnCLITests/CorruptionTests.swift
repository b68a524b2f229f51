import Foundation
import Glibc
import Testing

@Suite("Damaged packs are found and contained")
struct CorruptionTests {
    @Test func flippedByteIsTracedToSnapshotsAndFiles() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        // Two files, each larger than a pack (4 MiB), so they live in different packs.
        try TreeFixtures.write(source + "/dump.bin", TreeFixtures.bytes(count: 6 << 20, seed: 21))
        try TreeFixtures.write(source + "/zz-other.aof", TreeFixtures.bytes(count: 6 << 20, seed: 22))
        let summary = try cairn.backup([source])
        let short = try #require(summary["short_id"] as? String)

        // Find the pack holding the first bytes of dump.bin: the oldest data pack written.
        let damaged = try #require(try PackFiles.oldestFirst(in: cairn.repository).first)
        PackFiles.flipByte(damaged, at: 1000)

        let check = try cairn.run(["check", "--read-data"])
        #expect(check.status == 13)
        let packName = URL(fileURLWithPath: damaged).lastPathComponent
        #expect(check.stdout.contains(packName))
        #expect(check.stdout.contains("\(short): dump.bin"))
        #expect(!check.stdout.contains("zz-other.aof"))

        let whole = try cairn.run(["restore", "latest", "--target", scratch.path("all")])
        #expect(whole.status == 13)
        #expect(whole.stderr.contains("dump.bin"))
        #expect(!FileManager.default.fileExists(atPath: scratch.path("all/dump.bin")))

        try cairn.ok(["restore", "latest", "--target", scratch.path("other"), "--include", "zz-other.aof"])
        let restored = try Data(contentsOf: URL(fileURLWithPath: scratch.path("other/zz-other.aof")))
        #expect(restored == Data(TreeFixtures.bytes(count: 6 << 20, seed: 22)))
    }
}

@Suite("check --read-data reads packs in windows")
struct WindowedCheckTests {
    /// Packs of 16 MiB are read in windows of at most 4 MiB: a byte flipped deep inside one (in a
    /// later window) is found, named, and traced to its file; the other packs stay clean.
    @Test func aFlipInALaterWindowOfALargePackIsFound() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch, initialize: false)
        try cairn.ok(["init", "--pack-size", "16"])
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        try TreeFixtures.write(source + "/dump.bin", TreeFixtures.bytes(count: 40 << 20, seed: 23))
        _ = try cairn.backup([source])
        try cairn.ok(["check", "--read-data"])

        let packs = try PackFiles.oldestFirst(in: cairn.repository)
        let sizes = packs.map { (try? FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int) ?? 0 }
        let largest = try #require(zip(packs, sizes).max { $0.1 < $1.1 })
        #expect(largest.1 > 12 << 20, "a pack near 16 MiB is needed, the largest is \(largest.1) bytes")
        PackFiles.flipByte(largest.0, at: Int64(largest.1 / 2 + 12345), mask: 0x10)

        let check = try cairn.run(["check", "--read-data"])
        #expect(check.status == 13)
        #expect(check.stdout.contains(URL(fileURLWithPath: largest.0).lastPathComponent))
        #expect(check.stdout.contains("content does not match its name"))
        #expect(check.stdout.contains("1 of "), "exactly one blob is damaged: \(check.stdout)")
        #expect(check.stdout.contains("dump.bin"))
    }
}

@Suite("Keys: several passwords, one master key")
struct KeyTests {
    @Test func addListRemoveAndChangePasswords() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let newPassword = scratch.path("new-password")
        try "second password\n".write(toFile: newPassword, atomically: true, encoding: .utf8)
        try cairn.ok(["key", "add"], environment: ["CAIRN_NEW_PASSWORD_FILE": newPassword])
        let keys = try #require(try cairn.ok(["key", "list", "--json"]).json as? [[String: Any]])
        #expect(keys.count == 2)
        #expect(keys.filter { $0["current"] as? Bool == true }.count == 1)

        let asSecond = ["CAIRN_PASSWORD_FILE": newPassword]
        try cairn.ok(["snapshots"], environment: asSecond)
        let original = try #require(keys.first { $0["current"] as? Bool == true }?["id"] as? String)
        #expect(try cairn.run(["key", "remove", String(original.prefix(8))]).status == 64)
        try cairn.ok(["key", "remove", String(original.prefix(8))], environment: asSecond)
        #expect(try cairn.run(["snapshots"]).status == 12)

        let third = scratch.path("third")
        try "third password\n".write(toFile: third, atomically: true, encoding: .utf8)
        try cairn.ok(["key", "passwd"], environment: ["CAIRN_PASSWORD_FILE": newPassword, "CAIRN_NEW_PASSWORD_FILE": third])
        #expect(try cairn.run(["snapshots"], environment: asSecond).status == 12)
        try cairn.ok(["snapshots"], environment: ["CAIRN_PASSWORD_FILE": third])
    }
}
