import CairnCore
import CairnPolicy
import CairnTestSupport
import Foundation
import Testing

/// `--at WHEN` against a fixed list and a fixed now (2026-11-25 10:00 in Berlin).
@Suite("Point in time") struct PointInTimeTests {
    static let now = Berlin.date(2026, 11, 25, 10)

    static func snapshot(_ number: UInt64, _ time: Date, host: String = "db1", tags: [String] = ["nightly"],
                         paths: [String] = ["/var/lib/redis"]) -> SnapshotSummary {
        SnapshotSummary(id: SnapshotID(Hash256(w0: number << 32 | 0xabcd, w1: number, w2: 0, w3: 0)), time: time,
                        hostname: host, tags: tags, paths: paths)
    }

    /// Numbered so a failure names the snapshot: 1–6 older anchors, 101–125 the nights of
    /// November (id 100 + day), 30–41 daytime backups, 50 the only one on host db2.
    static let snapshots: [SnapshotSummary] = {
        var list = [snapshot(1, Berlin.date(2025, 11, 20, 0, 30)), snapshot(2, Berlin.date(2026, 1, 15, 0, 30)),
                    snapshot(3, Berlin.date(2026, 5, 20, 0, 30)), snapshot(4, Berlin.date(2026, 5, 26, 0, 30)),
                    snapshot(5, Berlin.date(2026, 8, 1, 0, 30)), snapshot(6, Berlin.date(2026, 10, 20, 0, 30))]
        list += (1...25).map { snapshot(UInt64(100 + $0), Berlin.date(2026, 11, $0, 0, 30)) }
        list += [snapshot(30, Berlin.date(2026, 11, 19, 23, 59, 59), tags: []),
                 snapshot(31, Berlin.date(2026, 11, 20, 12), tags: []),
                 snapshot(32, Berlin.date(2026, 11, 20, 13), tags: []),
                 snapshot(33, Berlin.date(2026, 11, 20, 13, 45), tags: []),
                 snapshot(34, Berlin.date(2026, 11, 20, 14, 30), tags: []),
                 snapshot(35, Berlin.date(2026, 11, 20, 14, 50), tags: []),
                 snapshot(36, Berlin.date(2026, 11, 23, 22, 0, 0), tags: []),
                 snapshot(37, Berlin.date(2026, 11, 23, 22, 0, 1), tags: []),
                 snapshot(38, Berlin.date(2026, 11, 24, 22), tags: []),
                 snapshot(39, Berlin.date(2026, 11, 25, 8), tags: []),
                 snapshot(40, Berlin.date(2026, 11, 25, 9), tags: []),
                 snapshot(41, Berlin.date(2026, 11, 22, 9), tags: ["manual"]),
                 snapshot(50, Berlin.date(2026, 11, 21, 3), host: "db2", tags: ["manual"], paths: ["/srv/redis"])]
        return list.shuffledDeterministically()
    }()

    static func pick(_ text: String, filter: SnapshotFilter = SnapshotFilter(),
                     from list: [SnapshotSummary] = snapshots) throws -> UInt64 {
        let point = try PointInTime.parse(text, timeZone: Berlin.zone)
        return try SnapshotSelection.select(point, from: list, filter: filter, now: now, calendar: Berlin.calendar).id.hash.w1
    }

    @Test(arguments: [
        ("now", 40), ("90m", 39), ("36h", 36), ("1D12h", 36), ("3D", 41), ("2W", 111), ("6M", 3), ("1Y", 1),
        ("2026-11-20", 30), ("2026-11-20T00:00", 30), ("2026-11-20T13:45", 33), ("2026-11-20 13:45", 33),
        ("2026-11-20T13:44:59", 32), ("2026-11-20T13:45:00Z", 34), ("2026-11-20T13:45:00+02:00", 31),
        ("2026-11-20T13:45:00.000Z", 34), ("2026-11-20T00:00:00Z", 120), (" now ", 40), ("0B", 40), ("3B", 38),
    ] as [(String, UInt64)])
    func eachFormPicksTheNewestSnapshotAtOrBeforeIt(_ text: String, _ expected: UInt64) throws {
        #expect(try Self.pick(text) == expected)
    }

    @Test func parsedFormsAreTheRightKind() throws {
        #expect(try PointInTime.parse("now", timeZone: Berlin.zone) == .now)
        #expect(try PointInTime.parse("0B", timeZone: Berlin.zone) == .nthNewest(0))
        #expect(try PointInTime.parse("12B", timeZone: Berlin.zone) == .nthNewest(12))
        #expect(try PointInTime.parse("1D12h", timeZone: Berlin.zone) == .age(try Age(parsing: "1D12h")))
        #expect(try PointInTime.parse("2026-11-20", timeZone: Berlin.zone) == .instant(Berlin.utc("2026-11-19T23:00:00Z")))
        #expect(try PointInTime.parse("2026-07-01", timeZone: Berlin.zone) == .instant(Berlin.utc("2026-06-30T22:00:00Z")))
        #expect(try PointInTime.parse("2026-11-20T13:45:00+02:00", timeZone: Berlin.zone) == .instant(Berlin.utc("2026-11-20T11:45:00Z")))
        #expect(try PointInTime.parse("2026-11-20T13:45:00Z", timeZone: TimeZone(identifier: "Asia/Tokyo")!)
                == .instant(Berlin.utc("2026-11-20T13:45:00Z")))
    }

    /// 02:30 happens twice on 2026-10-25 in Berlin; Foundation picks the second (CET) one.
    /// 02:30 on 2026-03-29 never happens; the parser refuses it as not a point in time.
    @Test func localTimesAtTheDaylightSavingSwitches() throws {
        #expect(try PointInTime.parse("2026-10-25T02:30", timeZone: Berlin.zone) == .instant(Berlin.utc("2026-10-25T01:30:00Z")))
        let error = try #require(throws: PolicyError.self) { try PointInTime.parse("2026-03-29T02:30", timeZone: Berlin.zone) }
        #expect(error.category == .usage)
    }

    @Test func aTimeBeforeTheOldestSnapshotNamesTheOldest() throws {
        let oldest = try #require(Self.snapshots.first { $0.id.hash.w1 == 1 })
        for text in ["2025-01-01", "2Y", "2025-11-20T00:29:59"] {
            let error = try #require(throws: PolicyError.self) { try Self.pick(text) }
            #expect(error.category == .noMatch)
            #expect(error.hint?.contains(oldest.id.short) == true, "\(error)")
            #expect(error.hint?.contains("2025-11-20 00:30:00 +01:00") == true, "\(error)")
        }
        #expect(try Self.pick("2025-11-20T00:30") == 1)
    }

    @Test func nthNewestBeyondTheCountThrows() throws {
        let count = Self.snapshots.count
        #expect(try Self.pick("\(count - 1)B") == 1)
        for text in ["\(count)B", "99B"] {
            let error = try #require(throws: PolicyError.self) { try Self.pick(text) }
            #expect(error.category == .noMatch)
            #expect(error.message.contains(text), "\(error)")
            #expect(error.message.contains("only \(count) matching snapshots"), "\(error)")
        }
    }

    @Test(arguments: ["3X", "yesterday", "2026-13-01", "", "B", "-1B", "1.5h", "3", "2026-02-30", "2026-11-20T25:00", "now!"])
    func invalidTextIsAUsageError(_ text: String) throws {
        let error = try #require(throws: PolicyError.self) { try PointInTime.parse(text, timeZone: Berlin.zone) }
        #expect(error.category == .usage)
        #expect(error.message.contains("is not a point in time"))
        #expect(error.hint?.contains("0B = newest") == true)
    }

    @Test func filtersNarrowTheChoice() throws {
        #expect(try Self.pick("now", filter: SnapshotFilter(hosts: ["db2"])) == 50)
        #expect(try Self.pick("now", filter: SnapshotFilter(hosts: ["db1", "db2"])) == 40)
        #expect(try Self.pick("now", filter: SnapshotFilter(tags: ["manual"])) == 41)
        #expect(try Self.pick("3D", filter: SnapshotFilter(tags: ["manual"])) == 41)
        #expect(try Self.pick("3D12h", filter: SnapshotFilter(tags: ["manual"])) == 50)
        #expect(try Self.pick("now", filter: SnapshotFilter(tags: ["nightly"])) == 125)
        #expect(try Self.pick("0B", filter: SnapshotFilter(paths: ["/srv/redis"])) == 50)
        #expect(try Self.pick("1B", filter: SnapshotFilter(hosts: ["db1"], tags: ["nightly"])) == 124)
        let none = try #require(throws: PolicyError.self) {
            try Self.pick("now", filter: SnapshotFilter(hosts: ["db2"], tags: ["nightly"]))
        }
        #expect(none.category == .noMatch)
        #expect(none.message == "no snapshot matches the host, tag and path filters")
        let empty = try #require(throws: PolicyError.self) { try Self.pick("now", from: []) }
        #expect(empty.message == "the repository has no snapshots")
    }

    /// Equal times: the larger id counts as newer, for `--at` and for `NB` alike, whatever the input order.
    @Test func tiesAreDeterministic() throws {
        let time = Berlin.date(2026, 11, 25, 9, 30)
        let tied = [Self.snapshot(70, time), Self.snapshot(72, time), Self.snapshot(71, time)]
        for list in [tied, tied.reversed(), [tied[2], tied[0], tied[1]]] {
            let all = Self.snapshots + list
            #expect(try Self.pick("now", from: all) == 72)
            #expect(try Self.pick("0B", from: all) == 72)
            #expect(try Self.pick("1B", from: all) == 71)
            #expect(try Self.pick("2B", from: all) == 70)
        }
    }

    /// A snapshot stamped after `now` (clock skew): `now` and ages skip it, `0B` still names it.
    @Test func aSnapshotInTheFutureIsOnlyReachableByCount() throws {
        let all = Self.snapshots + [Self.snapshot(99, Berlin.date(2026, 11, 25, 11))]
        #expect(try Self.pick("now", from: all) == 40)
        #expect(try Self.pick("0B", from: all) == 99)
    }
}

extension Array {
    /// A fixed permutation, so selection never depends on input order.
    func shuffledDeterministically() -> [Element] {
        var random = SplitMix64(seed: 42)
        var result = self
        for index in result.indices.reversed() where index > 0 {
            result.swapAt(index, random.below(index + 1))
        }
        return result
    }
}
