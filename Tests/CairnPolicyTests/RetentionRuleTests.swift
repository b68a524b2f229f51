import CairnCore
import CairnPolicy
import Foundation
import Testing

/// Small, hand-computed retention cases, including where Cairn differs from restic.
@Suite("Retention rules") struct RetentionRuleTests {
    static func snapshot(_ number: UInt64, _ time: Date, host: String = "db1", tags: [String] = [],
                         paths: [String] = ["/var/lib/redis"]) -> SnapshotSummary {
        SnapshotSummary(id: SnapshotID(Hash256(w0: number, w1: 0, w2: 0, w3: 0)), time: time, hostname: host, tags: tags, paths: paths)
    }

    static func keptNumbers(_ groups: [RetentionGroup]) -> Set<UInt64> {
        Set(groups.flatMap(\.decisions).filter(\.keep).map(\.snapshot.id.hash.w0))
    }

    /// Saturday 21, Sunday 22 and Monday 23 November 2026: ISO week 47 ends on the Sunday.
    static let weekend = [snapshot(1, Berlin.date(2026, 11, 21, 12)), snapshot(2, Berlin.date(2026, 11, 22, 12)),
                          snapshot(3, Berlin.date(2026, 11, 23, 12))]

    @Test func weeklyBucketsAreISOWeeksWithAnISOCalendar() {
        let groups = Retention.evaluate(Self.weekend, policy: RetentionPolicy(keepWeekly: 2), groupBy: [], calendar: Berlin.calendar)
        #expect(Self.keptNumbers(groups) == [3, 2])
        var iso = Calendar(identifier: .iso8601)
        iso.timeZone = Berlin.zone
        #expect(Self.keptNumbers(Retention.evaluate(Self.weekend, policy: RetentionPolicy(keepWeekly: 2), groupBy: [], calendar: iso)) == [3, 2])
    }

    /// Thursday 2026-12-31 and Friday 2027-01-01 are both in ISO week 2026-W53 (yearForWeekOfYear 2026).
    @Test func weeklyBucketSpansTheYearBoundary() {
        let snapshots = [Self.snapshot(1, Berlin.date(2026, 12, 27, 12)), Self.snapshot(2, Berlin.date(2026, 12, 31, 12)),
                         Self.snapshot(3, Berlin.date(2027, 1, 1, 12))]
        let groups = Retention.evaluate(snapshots, policy: RetentionPolicy(keepWeekly: 2, keepYearly: 5), groupBy: [], calendar: Berlin.calendar)
        let reasons = Dictionary(uniqueKeysWithValues: groups[0].decisions.map { ($0.snapshot.id.hash.w0, $0.reasons) })
        #expect(reasons[3] == ["weekly snapshot", "yearly snapshot"])
        #expect(reasons[2] == ["yearly snapshot"])
        #expect(reasons[1] == ["weekly snapshot"])
    }

    /// Regression (was a bug): Retention takes week numbers from whatever calendar it is given; a plain
    /// `Calendar(identifier: .gregorian)` counts weeks from Sunday (firstWeekday 1, minimumDays 1),
    /// so Sunday the 22nd shares a week with Monday the 23rd and Saturday is kept instead.
    /// restic's --keep-weekly uses ISO weeks whatever the locale.
    @Test func weeklyBucketsAreISOWeeksWhateverTheCalendarSays() {
        let groups = Retention.evaluate(Self.weekend, policy: RetentionPolicy(keepWeekly: 2), groupBy: [],
                                        calendar: Berlin.plainGregorian)
        #expect(Self.keptNumbers(groups) == [3, 2])
    }

    /// Regression (was a bug, vs restic and the doc comment "newer than … minus the age"): a snapshot exactly
    /// at newest − age is kept (`>=` in Retention.swift); restic keeps only `cur.Time.After(t)`.
    @Test func keepWithinIsStrictlyNewerThanTheLimit() throws {
        let newest = Berlin.date(2026, 12, 31, 12)
        let snapshots = [Self.snapshot(1, newest), Self.snapshot(2, Berlin.date(2026, 12, 17, 12)),
                         Self.snapshot(3, Berlin.date(2026, 12, 17, 12, 0, 1)), Self.snapshot(4, Berlin.date(2026, 12, 17, 11, 59, 59))]
        let groups = Retention.evaluate(snapshots, policy: RetentionPolicy(keepWithin: try Age(parsing: "2W")), groupBy: [],
                                        calendar: Berlin.calendar)
        let kept = Self.keptNumbers(groups)
        #expect(kept.isSuperset(of: [1, 3]))
        #expect(!kept.contains(4))
        #expect(!kept.contains(2))
        // The same boundary makes `--keep-within 0D` keep the newest snapshot (and any tied with it);
        // restic treats a zero duration as "no keep-within rule" and keeps nothing for it.
        let zero = Retention.evaluate(snapshots, policy: RetentionPolicy(keepWithin: try Age(parsing: "0D")), groupBy: [],
                                      calendar: Berlin.calendar)
        #expect(Self.keptNumbers(zero).isEmpty)
    }

    /// Months are calendar months, clamped: 1M before 31 March is 28 February (Go's AddDate,
    /// used by restic, would normalise 31 February to 3 March and keep less).
    @Test func keepWithinCountsCalendarMonthsFromTheNewest() throws {
        let snapshots = [Self.snapshot(1, Berlin.date(2026, 3, 31, 12)), Self.snapshot(2, Berlin.date(2026, 3, 1, 12)),
                         Self.snapshot(3, Berlin.date(2026, 2, 28, 12, 0, 1)), Self.snapshot(4, Berlin.date(2026, 2, 27, 12))]
        let groups = Retention.evaluate(snapshots, policy: RetentionPolicy(keepWithin: try Age(parsing: "1M")), groupBy: [],
                                        calendar: Berlin.calendar)
        #expect(Self.keptNumbers(groups) == [1, 2, 3])
    }

    /// The limit is measured from the group's newest snapshot, not from now: a backup job that
    /// stopped a year ago still has its last two weeks kept.
    @Test func keepWithinIgnoresHowOldTheNewestSnapshotIs() throws {
        let snapshots = (0..<30).map { Self.snapshot(UInt64($0), Berlin.date(2024, 1, 1 + $0, 0, 30)) }
        let groups = Retention.evaluate(snapshots, policy: RetentionPolicy(keepWithin: try Age(parsing: "6D12h")), groupBy: [],
                                        calendar: Berlin.calendar)
        #expect(Self.keptNumbers(groups) == Set(23..<30))
    }

    @Test func aSnapshotKeptForSeveralReasonsListsThemAllInOrder() throws {
        let newest = Self.snapshot(9, Berlin.date(2026, 6, 1, 8), tags: ["manual", "x"])
        let older = Self.snapshot(8, Berlin.date(2026, 6, 1, 7), tags: ["x"])
        let policy = RetentionPolicy(keepLast: 1, keepHourly: 1, keepDaily: 1, keepWeekly: 1, keepMonthly: 1, keepYearly: 1,
                                     keepWithin: try Age(parsing: "1D"), keepTags: ["x", "manual"])
        let decisions = Retention.evaluate([older, newest], policy: policy, groupBy: [.host], calendar: Berlin.calendar)[0].decisions
        #expect(decisions.map(\.snapshot.id.hash.w0) == [9, 8])
        #expect(decisions[0].reasons == ["last snapshot", "hourly snapshot", "daily snapshot", "weekly snapshot",
                                         "monthly snapshot", "yearly snapshot", "within 1D", "tag x", "tag manual"])
        #expect(decisions[1].reasons == ["within 1D", "tag x"])
    }

    @Test func aBucketRuleCountsOnlyPeriodsThatHaveSnapshots() {
        // Nights of 1, 2, 5 and 9 June; keep-daily 3 reaches back to the 2nd, skipping the empty days.
        let snapshots = [1, 2, 5, 9].map { Self.snapshot(UInt64($0), Berlin.date(2026, 6, $0, 0, 30)) }
            + [Self.snapshot(90, Berlin.date(2026, 6, 9, 14))]
        let groups = Retention.evaluate(snapshots, policy: RetentionPolicy(keepDaily: 3), groupBy: [], calendar: Berlin.calendar)
        #expect(Self.keptNumbers(groups) == [90, 5, 2])
    }

    @Test func zeroCountsAndAnEmptyPolicyKeepNothing() {
        let snapshots = [Self.snapshot(1, Berlin.date(2026, 6, 1)), Self.snapshot(2, Berlin.date(2026, 6, 2))]
        #expect(RetentionPolicy().isEmpty)
        #expect(!RetentionPolicy(keepDaily: 0).isEmpty)
        for policy in [RetentionPolicy(), RetentionPolicy(keepLast: 0, keepDaily: 0)] {
            let groups = Retention.evaluate(snapshots, policy: policy, groupBy: [.host], calendar: Berlin.calendar)
            #expect(Self.keptNumbers(groups).isEmpty)
            #expect(Retention.wouldRemoveEverything(groups))
        }
        #expect(Retention.evaluate([], policy: RetentionPolicy(keepLast: 1), groupBy: [.host], calendar: Berlin.calendar).isEmpty)
    }

    @Test func groupsUseSortedTagsAndPaths() {
        let snapshots = [Self.snapshot(1, Berlin.date(2026, 6, 1), tags: ["b", "a"], paths: ["/y", "/x"]),
                         Self.snapshot(2, Berlin.date(2026, 6, 2), tags: ["a", "b"], paths: ["/x", "/y"]),
                         Self.snapshot(3, Berlin.date(2026, 6, 3), host: "db2", tags: ["a"], paths: ["/x"])]
        let groups = Retention.evaluate(snapshots, policy: RetentionPolicy(keepLast: 1), groupBy: [.host, .tags, .paths],
                                        calendar: Berlin.calendar)
        let keys = Set(groups.map(\.key))
        #expect(keys == [["host": "db1", "tags": "a,b", "paths": "/x,/y"], ["host": "db2", "tags": "a", "paths": "/x"]])
        #expect(Self.keptNumbers(groups) == [2, 3])
        let one = Retention.evaluate(snapshots, policy: RetentionPolicy(keepLast: 1), groupBy: [], calendar: Berlin.calendar)
        #expect(one.map(\.key) == [[:]])
        #expect(Self.keptNumbers(one) == [3])
    }

    /// Equal times are ordered by id, larger id first — the same order `NB` uses in SnapshotSelection.
    @Test func tiesAreBrokenByTheLargerID() throws {
        let time = Berlin.date(2026, 7, 1, 12)
        let snapshots = [Self.snapshot(5, time), Self.snapshot(7, time), Self.snapshot(6, time)]
        let groups = Retention.evaluate(snapshots, policy: RetentionPolicy(keepLast: 1), groupBy: [], calendar: Berlin.calendar)
        #expect(groups[0].decisions.map(\.snapshot.id.hash.w0) == [7, 6, 5])
        #expect(Self.keptNumbers(groups) == [7])
        let chosen = try SnapshotSelection.select(.nthNewest(0), from: snapshots, filter: SnapshotFilter(),
                                                  now: time, calendar: Berlin.calendar)
        #expect(chosen.id.hash.w0 == 7)
    }

    /// Regression (was a bug): `Retention.evaluate` orders groups by `Dictionary.description`, whose key order
    /// changes from process to process (seeded hashing), so `cairn forget` lists groups keyed
    /// by host and tags in a different order on each run.
    @Test func groupsComeOutInAStableOrder() {
        let snapshots = ["db1", "db2"].flatMap { host in
            [[], ["manual"], ["nightly"]].enumerated().map { index, tags in
                Self.snapshot(UInt64(index) + (host == "db1" ? 0 : 10), Berlin.date(2026, 6, 1 + index), host: host, tags: tags)
            }
        }
        let groups = Retention.evaluate(snapshots, policy: RetentionPolicy(keepLast: 1), groupBy: [.host, .tags],
                                        calendar: Berlin.calendar)
        let order = groups.map { "\($0.key["host"]!)/\($0.key["tags"]!)" }
        #expect(order == ["db1/", "db1/manual", "db1/nightly", "db2/", "db2/manual", "db2/nightly"])
    }
}
