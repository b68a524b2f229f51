import CairnCore
import CairnPolicy
import Foundation

/// A deliberately plain re-implementation of each retention rule on its own, written from
/// restic's description rather than from Retention.swift: group by period, take the newest
/// snapshot of each period, keep the N newest periods. Used as the oracle in property tests.
enum ReferenceRetention {
    /// Newest first, ties broken by the larger id (the order Cairn documents for equal times).
    static func newestFirst(_ snapshots: [SnapshotSummary]) -> [SnapshotSummary] {
        snapshots.sorted { $0.time != $1.time ? $0.time > $1.time : $0.id > $1.id }
    }

    /// The group a snapshot belongs to, as "host=…|tags=…|paths=…" with sorted tags and paths.
    static func groupName(_ snapshot: SnapshotSummary, by keys: [GroupingKey]) -> String {
        var parts: [String] = []
        if keys.contains(.host) { parts.append("host=" + snapshot.hostname) }
        if keys.contains(.tags) { parts.append("tags=" + snapshot.tags.sorted().joined(separator: ",")) }
        if keys.contains(.paths) { parts.append("paths=" + snapshot.paths.sorted().joined(separator: ",")) }
        return parts.joined(separator: "|")
    }

    static func keepLast(_ group: [SnapshotSummary], _ count: Int) -> Set<SnapshotID> {
        Set(newestFirst(group).prefix(count).map(\.id))
    }

    /// The newest snapshot of each of the `count` newest periods that hold a snapshot.
    static func keepNewestPerPeriod(_ group: [SnapshotSummary], _ count: Int,
                                    period: (Date) -> [Int]) -> Set<SnapshotID> {
        let byPeriod = Dictionary(grouping: group) { period($0.time) }
        let newestOfEach = byPeriod.values.map { newestFirst($0)[0] }
        return Set(newestFirst(newestOfEach).prefix(count).map(\.id))
    }

    /// Strictly newer than the group's newest snapshot minus the age (restic: `cur.Time.After(t)`).
    static func keepWithin(_ group: [SnapshotSummary], _ age: Age, calendar: Calendar) -> Set<SnapshotID> {
        guard let newest = group.map(\.time).max() else { return [] }
        var back = DateComponents()
        back.year = -age.years
        back.month = -age.months
        back.day = -(age.days + 7 * age.weeks)
        back.hour = -age.hours
        back.minute = -age.minutes
        back.second = -age.seconds
        let limit = calendar.date(byAdding: back, to: newest)!
        return Set(group.filter { $0.time > limit }.map(\.id))
    }

    static func periods(_ zone: Calendar) -> [(name: String, period: (Date) -> [Int])] {
        // restic's weeks are ISO weeks whatever the locale; only the time zone is the caller's.
        var calendar = zone
        calendar.firstWeekday = 2
        calendar.minimumDaysInFirstWeek = 4
        func parts(_ units: [Calendar.Component]) -> (Date) -> [Int] {
            { date in units.map { calendar.component($0, from: date) } }
        }
        return [("hourly snapshot", parts([.year, .month, .day, .hour])),
                ("daily snapshot", parts([.year, .month, .day])),
                ("weekly snapshot", parts([.yearForWeekOfYear, .weekOfYear])),
                ("monthly snapshot", parts([.year, .month])),
                ("yearly snapshot", parts([.year]))]
    }

    /// Every reason each snapshot of one group has to be kept, in Cairn's documented order:
    /// last, hourly, daily, weekly, monthly, yearly, within, then tags in policy order.
    static func reasons(_ group: [SnapshotSummary], policy: RetentionPolicy,
                        calendar: Calendar) -> [SnapshotID: [String]] {
        var rules: [(String, Set<SnapshotID>)] = []
        if let count = policy.keepLast { rules.append(("last snapshot", keepLast(group, count))) }
        let counts = [policy.keepHourly, policy.keepDaily, policy.keepWeekly, policy.keepMonthly, policy.keepYearly]
        for (count, rule) in zip(counts, periods(calendar)) {
            if let count { rules.append((rule.name, keepNewestPerPeriod(group, count, period: rule.period))) }
        }
        if let age = policy.keepWithin {
            rules.append(("within \(age.text)", keepWithin(group, age, calendar: calendar)))
        }
        for tag in policy.keepTags {
            rules.append(("tag \(tag)", Set(group.filter { $0.tags.contains(tag) }.map(\.id))))
        }
        var result: [SnapshotID: [String]] = [:]
        for snapshot in group {
            result[snapshot.id] = rules.filter { $0.1.contains(snapshot.id) }.map(\.0)
        }
        return result
    }
}
