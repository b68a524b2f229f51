import Foundation
import Testing

@Suite("--at picks the snapshot a point in time names")
struct PointInTimeCLITests {
    @Test func everyFormPicksTheRightSnapshot() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        // Snapshots at fixed offsets before now; each form's answer is clear by a wide margin.
        let now = Date()
        let ages: [(label: String, seconds: Double)] = [("400d", 400 * 86_400), ("40d", 40 * 86_400), ("10d", 10 * 86_400),
                                                        ("2d", 2 * 86_400), ("5h", 5 * 3_600), ("10m", 600)]
        var ids: [String: String] = [:]
        for (index, age) in ages.enumerated() {
            try "version \(index)\n".write(toFile: source + "/value.txt", atomically: false, encoding: .utf8)
            let time = RFC3339Text.format(now.addingTimeInterval(-age.seconds))
            ids[age.label] = try #require(try cairn.backup([source], extra: ["--time", time])["snapshot_id"] as? String)
        }
        let expectations: [(String, String)] = [
            ("now", "10m"), ("0B", "10m"), ("1B", "5h"), ("5B", "400d"), ("90m", "5h"), ("36h", "2d"), ("3D", "10d"),
            ("2W", "40d"), ("1D12h", "2d"), ("6M", "400d"), ("1Y", "400d"),
            (Self.localDate(now.addingTimeInterval(-5 * 86_400)), "10d"),
            (RFC3339Text.format(now.addingTimeInterval(-3 * 3_600)), "5h"),
        ]
        for (when, expected) in expectations {
            let result = try cairn.run(["ls", "--at", when])
            #expect(result.status == 0, "--at \(when): \(result.stderr)")
            let picked = ids[expected]!.prefix(8)
            #expect(result.stderr.contains("snapshot \(picked)"), "--at \(when) should pick the \(expected)-old snapshot: \(result.stderr)")
        }
        // Restore with --at restores that snapshot's content.
        try cairn.ok(["restore", "--at", "3D", "--target", scratch.path("r")])
        #expect(try String(contentsOfFile: scratch.path("r/value.txt"), encoding: .utf8) == "version 2\n")

        let tooOld = try cairn.run(["ls", "--at", "2Y"])
        #expect(tooOld.status == 15)
        #expect(tooOld.stderr.contains(ids["400d"]!.prefix(8)), "the error names the oldest snapshot: \(tooOld.stderr)")
        #expect(try cairn.run(["ls", "--at", "6B"]).status == 15)
        #expect(try cairn.run(["ls", "--at", "yesterday"]).status == 64)
    }

    static func localDate(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone.current
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.string(from: date)
    }
}
