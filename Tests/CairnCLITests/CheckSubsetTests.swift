import Foundation
import Testing

@Suite("check --read-data-subset reads a part of the packs")
struct CheckSubsetTests {
    /// Three groups read every pack exactly once between them: a damaged pack is found by the one
    /// group that holds it and by no other, and the counts add up to the whole.
    @Test func theGroupsOfASplitReadEveryPackOnce() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch, initialize: false)
        try cairn.ok(["init", "--pack-size", "1"])
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        try TreeFixtures.write(source + "/dump.bin", TreeFixtures.bytes(count: 12 << 20, seed: 31))
        _ = try cairn.backup([source])
        let packs = try PackFiles.oldestFirst(in: cairn.repository)
        #expect(packs.count >= 6, "enough packs for three groups: \(packs.count)")
        let damaged = packs[packs.count / 2]
        PackFiles.flipByte(damaged, at: 100)
        let name = URL(fileURLWithPath: damaged).lastPathComponent

        var read = 0
        var found: [String] = []
        for group in 1...3 {
            let check = try cairn.run(["check", "--read-data-subset", "\(group)/3", "--json"])
            let report = try #require(check.json as? [String: Any], "\(check.stdout) \(check.stderr)")
            #expect(report["packs_total"] as? Int == packs.count)
            #expect(report["read_data_subset"] as? String == "\(group)/3")
            read += try #require(report["packs_read"] as? Int)
            let damage = try #require(report["damage"] as? [[String: Any]])
            if check.status == 13 {
                found.append("\(group)/3")
                #expect(damage.map { $0["pack"] as? String } == [name])
            } else {
                #expect(check.status == 0, "\(group)/3 exited \(check.status): \(check.stderr)")
                #expect(damage.isEmpty)
            }
        }
        #expect(read == packs.count)
        #expect(found.count == 1, "the damaged pack is in exactly one group: \(found)")

        let whole = try cairn.run(["check", "--read-data-subset", "100%"])
        #expect(whole.status == 13)
        #expect(whole.stdout.contains("read \(packs.count) packs"))
        let share = try cairn.run(["check", "--read-data-subset", "1%", "--json"])
        let report = try #require(share.json as? [String: Any])
        #expect(report["packs_read"] as? Int == 1)
    }

    @Test(arguments: ["0/3", "4/3", "0%", "three"])
    func aSubsetItCannotReadIsAUsageError(_ value: String) throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let check = try cairn.run(["check", "--read-data-subset", value])
        #expect(check.status == 64)
        #expect(check.stderr.contains("--read-data-subset takes N/T"))
        #expect(check.stderr.contains(value))
    }
}
