import Foundation
import Glibc
import Testing

/// A repository with nightly backups whose data changes: `nightly.bin` is new every night, and
/// `stable.bin` never changes. Night N's content is reproducible from N.
private struct NightlyRepository {
    let scratch: Scratch
    let cairn: CairnRunner
    let source: String
    /// Snapshot id (hex) → night number.
    var nights: [String: Int] = [:]

    init(nights count: Int, spreadOverDays days: Int) throws {
        scratch = try Scratch()
        cairn = try CairnRunner(scratch)
        source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        try TreeFixtures.write(source + "/stable.bin", TreeFixtures.bytes(count: 1 << 20, seed: 999))
        let start = Date(timeIntervalSince1970: 1_788_220_800) // 2026-09-01T00:00:00Z
        for night in 0..<count {
            try Self.writeNight(night, into: source)
            let offset = Double(night * days) / Double(count) * 86_400 + 3_600
            let time = RFC3339Text.format(start.addingTimeInterval(offset))
            let summary = try cairn.backup([source], extra: ["--time", time])
            nights[try #require(summary["snapshot_id"] as? String)] = night
        }
    }

    static func writeNight(_ night: Int, into directory: String) throws {
        try TreeFixtures.write(directory + "/nightly.bin", TreeFixtures.bytes(count: 600_000, seed: UInt64(1_000 + night)))
        try "night \(night)\n".write(toFile: directory + "/night.txt", atomically: false, encoding: .utf8)
    }

    func repositoryBytes() -> Int64 { TreeFixtures.diskUsage(cairn.repository + "/data") }

    /// Restores `id` and compares it with night N regenerated.
    func restoresByteForByte(_ id: String) throws -> Bool {
        let night = try #require(nights[id])
        let expected = scratch.path("expected-\(night)")
        TreeFixtures.makeDirectory(expected)
        try TreeFixtures.write(expected + "/stable.bin", TreeFixtures.bytes(count: 1 << 20, seed: 999))
        try Self.writeNight(night, into: expected)
        let target = scratch.path("restore-\(id.prefix(8))-\(UUID().uuidString.prefix(8))")
        try cairn.ok(["restore", id, "--target", target, "--no-owner"])
        return TreeFixtures.contents(of: target) == TreeFixtures.contents(of: expected)
    }
}

@Suite("Retention: forget and prune")
struct RetentionTests {
    @Test func thirtyNightsThenForgetWithPrune() throws {
        let repo = try NightlyRepository(nights: 30, spreadOverDays: 60)
        let before = repo.repositoryBytes()
        let policy = ["--keep-daily", "7", "--keep-weekly", "4", "--keep-monthly", "3"]

        let plan = try #require(try repo.cairn.ok(["forget", "--dry-run", "--json"] + policy).json as? [String: Any])
        let planned = Set(try #require(plan["remove"] as? [String]))
        #expect(try repo.cairn.snapshots().count == 30, "--dry-run removed something")

        let result = try repo.cairn.run(["forget", "--prune", "--json"] + policy)
        #expect(result.status == 0, "\(result.stderr)")
        let done = try #require(result.json as? [String: Any])
        #expect(Set(try #require(done["remove"] as? [String])) == planned, "--dry-run and the real run disagree")
        let prune = try #require(done["prune"] as? [String: Any])
        #expect((prune["packs_deleted"] as? Int ?? 0) + (prune["packs_repacked"] as? Int ?? 0) > 0)

        let kept = try repo.cairn.snapshots().compactMap { $0["id"] as? String }
        #expect(Set(kept).isDisjoint(with: planned))
        #expect(kept.count == 30 - planned.count)
        // 30 nights over 60 days: 7 daily + 4 weekly + 3 monthly overlap; at least 7, at most 14 stay.
        #expect((7...14).contains(kept.count), "kept \(kept.count)")
        try repo.cairn.ok(["check", "--read-data"])
        for id in kept { #expect(try repo.restoresByteForByte(id), "snapshot \(id.prefix(8)) did not restore byte for byte") }
        let after = repo.repositoryBytes()
        #expect(after < before * 6 / 10, "repository went from \(before) to \(after) bytes")
    }

    @Test func policyThatRemovesEverythingNeedsForce() throws {
        let repo = try NightlyRepository(nights: 3, spreadOverDays: 3)
        let refused = try repo.cairn.run(["forget", "--keep-tag", "no-such-tag"])
        #expect(refused.status == 64)
        #expect(refused.stderr.contains("--force"))
        #expect(try repo.cairn.snapshots().count == 3)
        try repo.cairn.ok(["forget", "--keep-tag", "no-such-tag", "--force"])
        #expect(try repo.cairn.snapshots().isEmpty)
        // Nothing left to remove: exit 7 ("nothing to do"), not 0 and not a failure.
        try repo.cairn.ok(["prune"])
        #expect(try repo.cairn.run(["prune"]).status == 7)
        #expect(try repo.cairn.run(["forget", "--keep-last", "1"]).status == 7)
    }

    @Test func forgetByIdAndExplainedDecisions() throws {
        let repo = try NightlyRepository(nights: 4, spreadOverDays: 4)
        let all = try repo.cairn.snapshots().compactMap { $0["id"] as? String }
        let text = try repo.cairn.ok(["forget", "--keep-last", "1", "--keep-daily", "2", "--dry-run"]).stdout
        // The newest is kept for two reasons, and both are listed.
        #expect(text.contains("last snapshot, daily snapshot"))
        #expect(text.contains("would remove 2 snapshot(s)"))
        try repo.cairn.ok(["forget", String(all[0].prefix(8))])
        #expect(try repo.cairn.snapshots().compactMap { $0["id"] as? String } == Array(all.dropFirst()))
    }

    @Test(arguments: ["prune-after-repack", "prune-after-index", "prune-after-catalog", "prune-during-delete"])
    func killedPruneLosesNothing(point: String) throws {
        let repo = try NightlyRepository(nights: 8, spreadOverDays: 8)
        try repo.cairn.ok(["forget", "--keep-last", "3"])
        let kept = try repo.cairn.snapshots().compactMap { $0["id"] as? String }
        let killed = try repo.cairn.run(["prune", "--max-unused", "0%"], environment: ["CAIRN_TEST_CRASH_AT": point])
        #expect(killed.signaled && killed.status == SIGKILL, "expected SIGKILL at \(point): \(killed.status) \(killed.stderr)")

        try repo.cairn.ok(["check", "--read-data"])
        for id in kept { #expect(try repo.restoresByteForByte(id), "\(point): \(id.prefix(8)) did not restore") }
        // The next prune takes over the dead process's lock and finishes the work.
        let again = try repo.cairn.run(["prune", "--max-unused", "0%"])
        #expect(again.status == 0 || again.status == 7, "\(again.stderr)")
        try repo.cairn.ok(["check", "--read-data"])
        for id in kept { #expect(try repo.restoresByteForByte(id)) }
        let check = try repo.cairn.ok(["check"]).stdout
        #expect(!check.contains("not in any index"), "prune left unreferenced packs: \(check)")
        _ = try repo.cairn.backup([repo.source])
        try repo.cairn.ok(["check", "--read-data"])
    }
}

/// RFC 3339 in UTC for `--time`.
enum RFC3339Text {
    static func format(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
