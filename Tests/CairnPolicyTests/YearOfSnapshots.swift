import CairnCore
import CairnPolicy
import CairnTestSupport
import Foundation

/// A generated, irregular year of backups in Europe/Berlin (2025-12-20 … 2026-12-31): a nightly
/// run around 00:30 local that misses about one night in ten, days with 2–4 extra daytime
/// backups (some tagged "manual"), and hand-placed snapshots at 00:00:00, 23:59:59, at both DST
/// switches, on both sides of an ISO week boundary, and two at the very same instant.
enum YearOfSnapshots {
    static let paths = ["/var/lib/redis"]

    /// Nights that always run, so hand-checked decisions do not depend on the generator.
    static let nightsThatRun: Set<String> = [
        "2026-03-28", "2026-03-29", "2026-10-24", "2026-10-25",
        "2026-12-24", "2026-12-25", "2026-12-26", "2026-12-27", "2026-12-28", "2026-12-30", "2026-12-31",
    ]
    /// Nights that never run.
    static let nightsMissed: Set<String> = ["2026-12-29"]

    static func generate(host: String = "db1", seed: UInt64 = 2026) -> [SnapshotSummary] {
        var random = SplitMix64(seed: seed)
        var snapshots: [SnapshotSummary] = []
        func add(_ time: Date, _ tags: [String]) {
            snapshots.append(SnapshotSummary(id: random.snapshotID(), time: time, hostname: host, tags: tags, paths: paths))
        }
        let calendar = Berlin.calendar
        let first = Berlin.date(2025, 12, 20)
        let last = Berlin.date(2026, 12, 31)
        var day = first
        while day <= last {
            let parts = calendar.dateComponents([.year, .month, .day], from: day)
            let (year, month, dayOfMonth) = (parts.year!, parts.month!, parts.day!)
            let key = String(format: "%04d-%02d-%02d", year, month, dayOfMonth)
            let roll = random.below(100)
            let jitter = random.below(600)
            let runs = nightsThatRun.contains(key) || (!nightsMissed.contains(key) && roll >= 10)
            if runs {
                add(Berlin.date(year, month, dayOfMonth, 0, 25).addingTimeInterval(Double(jitter)), ["nightly"])
            }
            if random.chance(12) {
                for _ in 0..<(2 + random.below(3)) {
                    let offset = random.below(12 * 3600)
                    let tags = random.chance(40) ? ["manual"] : []
                    add(Berlin.date(year, month, dayOfMonth, 8).addingTimeInterval(Double(offset)), tags)
                }
            }
            day = calendar.date(byAdding: .day, value: 1, to: day)!
        }
        for (time, tags) in handPlaced { add(time, tags) }
        return snapshots
    }

    /// The hand-placed snapshots, each with the reason it is there.
    static var handPlaced: [(Date, [String])] {
        [
            (Berlin.date(2026, 2, 1, 0, 0, 0), []),                    // first second of a month
            (Berlin.date(2026, 6, 15, 0, 0, 0), ["manual"]),
            (Berlin.date(2026, 2, 28, 23, 59, 59), []),                // last second of a month
            (Berlin.date(2026, 5, 31, 23, 59, 59), ["manual"]),
            (Berlin.date(2026, 12, 31, 23, 59, 59), []),               // last second of the year
            (Berlin.utc("2026-03-29T00:59:59Z"), []),                  // 01:59:59 CET, just before spring-forward
            (Berlin.utc("2026-03-29T01:00:00Z"), []),                  // 03:00:00 CEST, just after
            (Berlin.utc("2026-03-29T01:30:00Z"), ["manual"]),          // 03:30 CEST: wall clock 02:30 does not exist
            (Berlin.utc("2026-10-25T00:30:00Z"), []),                  // 02:30 CEST, first pass through 02:xx
            (Berlin.utc("2026-10-25T00:59:59Z"), []),                  // 02:59:59 CEST
            (Berlin.utc("2026-10-25T01:00:00Z"), []),                  // 02:00:00 CET, the hour repeats
            (Berlin.utc("2026-10-25T01:30:00Z"), ["manual"]),          // 02:30 CET, second pass
            (Berlin.date(2026, 11, 22, 23, 59, 59), []),               // Sunday, end of ISO week 47
            (Berlin.date(2026, 11, 23, 0, 0, 0), []),                  // Monday, start of ISO week 48
            (Berlin.date(2026, 7, 1, 12, 0, 0), []),                   // two snapshots at the same instant
            (Berlin.date(2026, 7, 1, 12, 0, 0), []),
            (Berlin.date(2026, 12, 17, 23, 59, 58), []),               // just outside 2W of the newest
            (Berlin.date(2026, 12, 18, 0, 0, 0), []),                  // just inside 2W of the newest
        ]
    }

    /// A second host: a weekly backup on Sundays at 03:00 through 2026, one in five tagged "manual".
    static func weekly(host: String = "db2", seed: UInt64 = 7) -> [SnapshotSummary] {
        var random = SplitMix64(seed: seed)
        var snapshots: [SnapshotSummary] = []
        var day = Berlin.date(2026, 1, 4, 3)
        while day <= Berlin.date(2026, 12, 31) {
            let tags = random.chance(20) ? ["manual"] : ["nightly"]
            snapshots.append(SnapshotSummary(id: random.snapshotID(), time: day, hostname: host, tags: tags, paths: paths))
            day = Berlin.calendar.date(byAdding: .day, value: 7, to: day)!
        }
        return snapshots
    }
}
