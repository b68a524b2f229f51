import CairnCore
import CairnPolicy
import CairnTestSupport
import Foundation
import Testing

/// Seeded random snapshot sets and policies, checked against ReferenceRetention.
@Suite("Retention properties") struct RetentionPropertyTests {
    struct Case: CustomStringConvertible {
        var seed: UInt64
        var snapshots: [SnapshotSummary]
        var policy: RetentionPolicy
        var groupBy: [GroupingKey]
        var calendar: Calendar
        var description: String { "case seed \(seed): \(snapshots.count) snapshots, \(policy), groupBy \(groupBy), \(calendar.timeZone.identifier)" }
    }

    /// No "0D": a zero age puts the newest snapshot exactly on the limit, where Cairn and
    /// restic differ (see RetentionRuleTests.keepWithinIsStrictlyNewerThanTheLimit).
    static let ages = ["1h", "90m", "36h", "3D", "2W", "1M", "6M", "1Y", "1D12h"]

    static func makeCase(seed: UInt64) throws -> Case {
        var random = SplitMix64(seed: seed)
        let spans = [3 * 86_400, 40 * 86_400, 400 * 86_400, 3 * 365 * 86_400]
        let span = random.pick(spans)
        let base = Berlin.date(2025, 1, 1).addingTimeInterval(Double(random.below(365 * 86_400)))
        var snapshots: [SnapshotSummary] = []
        for _ in 0..<random.within(0...60) {
            var time = base.addingTimeInterval(Double(random.below(span)))
            if let previous = snapshots.last, random.chance(10) { time = previous.time }   // ties
            snapshots.append(SnapshotSummary(
                id: random.snapshotID(), time: time, hostname: random.pick(["db1", "db2"]),
                tags: random.subset(["manual", "nightly", "x"], percent: 30),
                paths: random.pick([["/a"], ["/a", "/b"], ["/b", "/a"], ["/b"]])))
        }
        func count() -> Int? { random.chance(40) ? random.within(0...8) : nil }
        var policy = RetentionPolicy(keepLast: count(), keepHourly: count(), keepDaily: count(), keepWeekly: count(),
                                     keepMonthly: count(), keepYearly: count())
        if random.chance(30) { policy.keepWithin = try Age(parsing: random.pick(ages)) }
        if random.chance(30) { policy.keepTags = random.subset(["manual", "x"]) }
        let groupBy = random.subset(GroupingKey.allCases)
        var utc = Calendar(identifier: .iso8601)
        utc.timeZone = TimeZone(identifier: "UTC")!
        var newYork = Berlin.calendar
        newYork.timeZone = TimeZone(identifier: "America/New_York")!
        let calendar = random.pick([Berlin.calendar, Berlin.plainGregorian, utc, newYork])
        return Case(seed: seed, snapshots: snapshots, policy: policy, groupBy: groupBy, calendar: calendar)
    }

    static let cases: [Case] = (1...200).map { try! makeCase(seed: UInt64($0) &* 0x5851_f42d_4c95_7f2d) }

    @Test func everyRuleKeepsWhatTheReferenceSelectsWithExactlyItsReasons() {
        for testCase in Self.cases {
            let groups = Retention.evaluate(testCase.snapshots, policy: testCase.policy, groupBy: testCase.groupBy,
                                            calendar: testCase.calendar)
            let decided = groups.flatMap(\.decisions)
            #expect(decided.count == testCase.snapshots.count, "\(testCase)")
            #expect(Set(decided.map(\.snapshot.id)) == Set(testCase.snapshots.map(\.id)), "\(testCase)")
            for group in groups {
                let members = group.decisions.map(\.snapshot)
                let names = Set(members.map { ReferenceRetention.groupName($0, by: testCase.groupBy) })
                #expect(names.count == 1, "a group mixes keys: \(names) in \(testCase)")
                #expect(members.map(\.id) == ReferenceRetention.newestFirst(members).map(\.id), "not newest first: \(testCase)")
                let expected = ReferenceRetention.reasons(members, policy: testCase.policy, calendar: testCase.calendar)
                for decision in group.decisions {
                    let want = expected[decision.snapshot.id] ?? []
                    #expect(decision.reasons == want,
                            "\(Berlin.rfc3339(decision.snapshot.time)) \(decision.snapshot.id.short) in \(testCase)")
                    #expect(decision.keep == !decision.reasons.isEmpty, "\(testCase)")
                }
            }
            let allNames = Set(testCase.snapshots.map { ReferenceRetention.groupName($0, by: testCase.groupBy) })
            #expect(groups.count == allNames.count, "\(testCase)")
        }
    }

    @Test func keepLastKeepsExactlyTheNewestPerGroup() {
        for testCase in Self.cases {
            let count = testCase.policy.keepLast ?? Int(testCase.seed % 7)
            let groups = Retention.evaluate(testCase.snapshots, policy: RetentionPolicy(keepLast: count),
                                            groupBy: testCase.groupBy, calendar: testCase.calendar)
            for group in groups {
                let kept = group.decisions.filter(\.keep)
                #expect(kept.count == min(count, group.decisions.count), "\(testCase)")
                let newest = ReferenceRetention.keepLast(group.decisions.map(\.snapshot), count)
                #expect(Set(kept.map(\.snapshot.id)) == newest, "\(testCase)")
                #expect(kept.allSatisfy { $0.reasons == ["last snapshot"] }, "\(testCase)")
            }
        }
    }

    /// Holds for every rule: the kept set still contains, for each of the N newest periods,
    /// that period's newest snapshot, so the same periods (and the same N newest, and the same
    /// newest snapshot for keep-within) are found again.
    @Test func evaluatingTheKeptSetAgainKeepsAllOfIt() {
        for testCase in Self.cases {
            let first = Retention.evaluate(testCase.snapshots, policy: testCase.policy, groupBy: testCase.groupBy,
                                           calendar: testCase.calendar)
            let kept = first.flatMap(\.decisions).filter(\.keep)
            let second = Retention.evaluate(kept.map(\.snapshot), policy: testCase.policy, groupBy: testCase.groupBy,
                                            calendar: testCase.calendar)
            let again = second.flatMap(\.decisions)
            #expect(again.allSatisfy { $0.keep }, "\(testCase)")
            let reasonsBefore = Dictionary(uniqueKeysWithValues: kept.map { ($0.snapshot.id, $0.reasons) })
            for decision in again {
                #expect(decision.reasons == reasonsBefore[decision.snapshot.id], "\(testCase)")
            }
        }
    }

    @Test func wouldRemoveEverythingExactlyWhenSomeGroupKeepsNothing() {
        var seenTrue = 0, seenFalse = 0
        // The random policies rarely empty a group; a tags-only policy often does.
        for testCase in Self.cases {
            for policy in [testCase.policy, RetentionPolicy(keepTags: ["manual"])] {
                let groups = Retention.evaluate(testCase.snapshots, policy: policy, groupBy: testCase.groupBy,
                                                calendar: testCase.calendar)
                let keptIDs = Set(groups.flatMap(\.decisions).filter(\.keep).map(\.snapshot.id))
                let byGroup = Dictionary(grouping: testCase.snapshots) { ReferenceRetention.groupName($0, by: testCase.groupBy) }
                let expected = byGroup.values.contains { members in !members.contains { keptIDs.contains($0.id) } }
                #expect(Retention.wouldRemoveEverything(groups) == expected, "\(testCase)")
                if expected { seenTrue += 1 } else { seenFalse += 1 }
            }
        }
        #expect(seenTrue > 50 && seenFalse > 50, "the cases cover both answers (\(seenTrue) true, \(seenFalse) false)")
        #expect(Retention.wouldRemoveEverything([]) == false)
    }

    @Test func theCasesExerciseEveryRule() {
        let policies = Self.cases.map(\.policy)
        #expect(policies.filter { $0.keepLast != nil }.count > 30)
        #expect(policies.filter { $0.keepHourly != nil }.count > 30)
        #expect(policies.filter { $0.keepWeekly != nil }.count > 30)
        #expect(policies.filter { $0.keepYearly != nil }.count > 30)
        #expect(policies.filter { $0.keepWithin != nil }.count > 30)
        #expect(policies.filter { !$0.keepTags.isEmpty }.count > 20)
        #expect(Self.cases.filter { $0.snapshots.isEmpty }.count >= 1)
        let ties = Self.cases.filter { Set($0.snapshots.map(\.time)).count < $0.snapshots.count }
        #expect(ties.count > 50)
    }
}
