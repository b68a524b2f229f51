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
        let packs = try FileManager.default.subpathsOfDirectory(atPath: cairn.repository + "/data")
            .filter { $0.count > 10 }
            .map { cairn.repository + "/data/" + $0 }
            .sorted { (try? FileManager.default.attributesOfItem(atPath: $0)[.modificationDate] as? Date ?? .distantPast)! <
                      (try? FileManager.default.attributesOfItem(atPath: $1)[.modificationDate] as? Date ?? .distantPast)! }
        let damaged = try #require(packs.first)
        let fd = open(damaged, O_RDWR)
        var byte: UInt8 = 0
        pread(fd, &byte, 1, 1000)
        byte ^= 0x40
        pwrite(fd, &byte, 1, 1000)
        close(fd)

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
