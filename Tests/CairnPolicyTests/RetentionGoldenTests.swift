import CairnCore
import CairnPolicy
import Foundation
import Testing

/// Retention over a generated year, compared with golden files (Golden/retention-*.txt).
/// Regenerate with `CAIRN_UPDATE_GOLDEN=1 swift test --filter RetentionGoldenTests`, then read
/// the diff: every changed line is a changed keep/remove decision.
@Suite("Retention golden files") struct RetentionGoldenTests {
    static let year = YearOfSnapshots.generate()

    @Test func generatorIsDeterministicAndIrregular() {
        let again = YearOfSnapshots.generate()
        #expect(again.map(\.id) == Self.year.map(\.id))
        #expect(again.map(\.time) == Self.year.map(\.time))
        let calendar = Berlin.calendar
        let nights = Set(Self.year.filter { $0.tags == ["nightly"] }.map { calendar.startOfDay(for: $0.time) })
        let days = calendar.dateComponents([.day], from: Berlin.date(2025, 12, 20), to: Berlin.date(2026, 12, 31)).day! + 1
        #expect(days == 377)
        let missed = days - nights.count
        #expect(missed > days / 20 && missed < days / 6, "about one night in ten is missed, got \(missed)")
        let perDay = Dictionary(grouping: Self.year) { calendar.startOfDay(for: $0.time) }
        #expect(perDay.values.contains { $0.count >= 3 }, "some days have extra daytime backups")
        #expect(Self.year.contains { $0.tags == ["manual"] })
    }

    @Test func dailyWeeklyMonthlyYearly() throws {
        let policy = RetentionPolicy(keepDaily: 7, keepWeekly: 4, keepMonthly: 12, keepYearly: 3)
        let groups = Retention.evaluate(Self.year, policy: policy, groupBy: [.host], calendar: Berlin.calendar)
        try GoldenFile.check(GoldenFile.render(groups), against: "retention-daily-weekly-monthly-yearly")
    }

    @Test func lastAndHourly() throws {
        let policy = RetentionPolicy(keepLast: 5, keepHourly: 24)
        let groups = Retention.evaluate(Self.year, policy: policy, groupBy: [.host], calendar: Berlin.calendar)
        try GoldenFile.check(GoldenFile.render(groups), against: "retention-last-hourly")
    }

    @Test func withinTwoWeeksAndManualTag() throws {
        let policy = RetentionPolicy(keepWithin: try Age(parsing: "2W"), keepTags: ["manual"])
        let groups = Retention.evaluate(Self.year, policy: policy, groupBy: [.host], calendar: Berlin.calendar)
        try GoldenFile.check(GoldenFile.render(groups), against: "retention-within-tags")
    }

    @Test func monthlyByHostAndTags() throws {
        let policy = RetentionPolicy(keepMonthly: 6)
        let snapshots = Self.year + YearOfSnapshots.weekly()
        let groups = Retention.evaluate(snapshots, policy: policy, groupBy: [.host, .tags], calendar: Berlin.calendar)
        try GoldenFile.check(GoldenFile.render(groups), against: "retention-monthly-by-host-and-tags")
    }

    /// Decisions checked by hand against restic's rules; they hold whatever the golden says, so
    /// regenerating the golden files cannot quietly accept a regression here.
    @Test func handCheckedDecisions() {
        let policy = RetentionPolicy(keepDaily: 7, keepWeekly: 4, keepMonthly: 12, keepYearly: 3)
        let decisions = Retention.evaluate(Self.year, policy: policy, groupBy: [.host], calendar: Berlin.calendar)[0].decisions
        func reasons(_ localTime: String) -> [String]? {
            decisions.first { Berlin.rfc3339($0.snapshot.time) == localTime }?.reasons
        }
        // The newest snapshot is the newest of its day, ISO week 2026-W53, month and year.
        #expect(reasons("2026-12-31T23:59:59+01:00") == ["daily snapshot", "weekly snapshot", "monthly snapshot", "yearly snapshot"])
        #expect(reasons("2026-12-31T00:29:05+01:00") == [])
        // The night of the 29th was missed, so the seventh daily snapshot is the 24th, not the 25th.
        #expect(!decisions.contains { Berlin.rfc3339($0.snapshot.time).hasPrefix("2026-12-29") })
        #expect(reasons("2026-12-24T00:31:29+01:00") == ["daily snapshot"])
        #expect(reasons("2026-12-23T00:32:45+01:00") == [])
        // ISO weeks end on Sunday: 27 Dec closes 2026-W52, 20 Dec W51, 13 Dec W50.
        #expect(reasons("2026-12-27T00:30:17+01:00") == ["daily snapshot", "weekly snapshot"])
        #expect(reasons("2026-12-20T00:25:39+01:00") == ["weekly snapshot"])
        #expect(reasons("2026-12-13T00:31:58+01:00") == ["weekly snapshot"])
        // No backup on 30 November: November's monthly snapshot is the 29th.
        #expect(!decisions.contains { Berlin.rfc3339($0.snapshot.time).hasPrefix("2026-11-30") })
        #expect(reasons("2026-11-29T00:26:19+01:00") == ["monthly snapshot"])
        // The last second of February and of May are their months' newest.
        #expect(reasons("2026-02-28T23:59:59+01:00") == ["monthly snapshot"])
        #expect(reasons("2026-05-31T23:59:59+02:00") == ["monthly snapshot"])
        // March's monthly snapshot is the 31st, after the switch to CEST.
        #expect(reasons("2026-03-31T00:29:34+02:00") == ["monthly snapshot"])
        // Twelve months reach back to January 2026; December 2025 gets only the yearly rule,
        // and with two calendar years of data keep-yearly 3 keeps two.
        #expect(reasons("2026-01-31T00:26:58+01:00") == ["monthly snapshot"])
        #expect(reasons("2025-12-31T15:06:49+01:00") == ["yearly snapshot"])
        #expect(decisions.filter { $0.reasons.contains("yearly snapshot") }.count == 2)
        #expect(decisions.filter { $0.reasons.contains("monthly snapshot") }.count == 12)
        #expect(decisions.filter { $0.reasons.contains("weekly snapshot") }.count == 4)
        #expect(decisions.filter { $0.reasons.contains("daily snapshot") }.count == 7)
        #expect(decisions.filter(\.keep).count == 21)
    }

    /// Every hour that has a snapshot keeps its newest, around both DST switches.
    @Test func hourlyAcrossDaylightSavingSwitches() throws {
        let windows = [Berlin.date(2026, 3, 28, 12)...Berlin.date(2026, 3, 29, 12),
                       Berlin.date(2026, 10, 24, 12)...Berlin.date(2026, 10, 25, 12)]
        let snapshots = Self.year.filter { snapshot in windows.contains { $0.contains(snapshot.time) } }
        let groups = Retention.evaluate(snapshots, policy: RetentionPolicy(keepHourly: 100), groupBy: [],
                                        calendar: Berlin.calendar)
        try GoldenFile.check(GoldenFile.render(groups), against: "retention-dst-hourly")
        let reasons = Dictionary(uniqueKeysWithValues: groups[0].decisions.map { (Berlin.rfc3339($0.snapshot.time), $0.reasons) })
        // 02:00–02:59 happens twice on 25 October; restic buckets by local hour, so both passes are
        // one hourly period and only its newest (02:30 CET) is kept.
        #expect(reasons["2026-10-25T02:30:00+01:00"] == ["hourly snapshot"])
        #expect(reasons["2026-10-25T02:00:00+01:00"] == [])
        #expect(reasons["2026-10-25T02:59:59+02:00"] == [])
        #expect(reasons["2026-10-25T02:30:00+02:00"] == [])
        // On 29 March local hour 2 does not exist: 01:59:59 CET and 03:00 CEST are different hours.
        #expect(reasons["2026-03-29T01:59:59+01:00"] == ["hourly snapshot"])
        #expect(reasons["2026-03-29T03:30:00+02:00"] == ["hourly snapshot"])
        #expect(reasons["2026-03-29T03:00:00+02:00"] == [])
    }
}
