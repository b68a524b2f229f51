import Foundation

/// `cairn forget` rules, with restic's semantics.
public struct RetentionPolicy: Sendable, Equatable, Codable {
    public var keepLast: Int?
    public var keepHourly: Int?
    public var keepDaily: Int?
    public var keepWeekly: Int?
    public var keepMonthly: Int?
    public var keepYearly: Int?
    public var keepWithin: Age?
    public var keepTags: [String]

    public init(keepLast: Int? = nil, keepHourly: Int? = nil, keepDaily: Int? = nil, keepWeekly: Int? = nil,
                keepMonthly: Int? = nil, keepYearly: Int? = nil, keepWithin: Age? = nil, keepTags: [String] = []) {
        self.keepLast = keepLast; self.keepHourly = keepHourly; self.keepDaily = keepDaily; self.keepWeekly = keepWeekly
        self.keepMonthly = keepMonthly; self.keepYearly = keepYearly; self.keepWithin = keepWithin; self.keepTags = keepTags
    }

    public var isEmpty: Bool {
        [keepLast, keepHourly, keepDaily, keepWeekly, keepMonthly, keepYearly].allSatisfy { $0 == nil }
            && keepWithin == nil && keepTags.isEmpty
    }
}

public enum GroupingKey: String, Sendable, CaseIterable {
    case host, tags, paths
}

/// Keep or remove, and every reason to keep.
public struct RetentionDecision: Sendable, Equatable {
    public var snapshot: SnapshotSummary
    public var keep: Bool
    public var reasons: [String]
}

/// The decisions for one group of snapshots (same host/tags/paths as `groupBy` says), newest first.
public struct RetentionGroup: Sendable, Equatable {
    public var key: [String: String]
    public var decisions: [RetentionDecision]
}

public enum Retention {
    /// Evaluates `policy` for every group. Within a group, snapshots are walked newest first; a
    /// bucket rule (hourly … yearly) keeps a snapshot when its calendar period (local time of
    /// `calendar`) differs from the last one that rule kept, until it has kept N; `keepLast`
    /// keeps the N newest; `keepWithin` keeps those newer than the group's newest snapshot minus
    /// the age (as restic does, so a backup job that stopped running does not let retention eat
    /// the last good snapshots); `keepTags`
    /// keeps those with any of the tags. Nothing else is kept.
    public static func evaluate(_ snapshots: [SnapshotSummary], policy: RetentionPolicy, groupBy: [GroupingKey],
                                calendar: Calendar) -> [RetentionGroup] {
        var groups: [[String: String]: [SnapshotSummary]] = [:]
        for snapshot in snapshots {
            groups[groupKey(snapshot, groupBy), default: []].append(snapshot)
        }
        // A fixed order: host, then tags, then paths (a Dictionary's own order changes per process).
        func sortKey(_ key: [String: String]) -> [String] { GroupingKey.allCases.map { key[$0.rawValue] ?? "" } }
        return groups.keys.sorted { sortKey($0).lexicographicallyPrecedes(sortKey($1)) }.map { key in
            RetentionGroup(key: key, decisions: decide(groups[key]!, policy: policy, calendar: calendar))
        }
    }

    /// True when the policy would remove every snapshot of some group (the CLI then wants --force).
    public static func wouldRemoveEverything(_ groups: [RetentionGroup]) -> Bool {
        groups.contains { group in !group.decisions.isEmpty && group.decisions.allSatisfy { !$0.keep } }
    }

    static func groupKey(_ snapshot: SnapshotSummary, _ keys: [GroupingKey]) -> [String: String] {
        var key: [String: String] = [:]
        for part in keys {
            switch part {
            case .host: key["host"] = snapshot.hostname
            case .tags: key["tags"] = snapshot.tags.sorted().joined(separator: ",")
            case .paths: key["paths"] = snapshot.paths.sorted().joined(separator: ",")
            }
        }
        return key
    }

    private struct BucketRule {
        var name: String
        var limit: Int
        var period: (Date) -> [Int]
        var kept = 0
        var lastPeriod: [Int]?
    }

    static func decide(_ snapshots: [SnapshotSummary], policy: RetentionPolicy, calendar: Calendar) -> [RetentionDecision] {
        let newestFirst = snapshots.sorted { ($0.time, $0.id) > ($1.time, $1.id) }
        // Weeks are ISO 8601 weeks (Monday first, week 1 holds January 4th) whatever the locale,
        // as restic counts them; only the time zone comes from the caller.
        var calendar = calendar
        calendar.firstWeekday = 2
        calendar.minimumDaysInFirstWeek = 4
        func components(_ units: Set<Calendar.Component>) -> (Date) -> [Int] {
            { date in
                let parts = calendar.dateComponents(units, from: date)
                return [parts.yearForWeekOfYear ?? parts.year ?? 0, parts.year ?? 0, parts.month ?? 0, parts.weekOfYear ?? 0,
                        parts.day ?? 0, parts.hour ?? 0]
            }
        }
        var rules: [BucketRule] = []
        if let count = policy.keepHourly { rules.append(BucketRule(name: "hourly snapshot", limit: count, period: components([.year, .month, .day, .hour]))) }
        if let count = policy.keepDaily { rules.append(BucketRule(name: "daily snapshot", limit: count, period: components([.year, .month, .day]))) }
        if let count = policy.keepWeekly { rules.append(BucketRule(name: "weekly snapshot", limit: count, period: components([.yearForWeekOfYear, .weekOfYear]))) }
        if let count = policy.keepMonthly { rules.append(BucketRule(name: "monthly snapshot", limit: count, period: components([.year, .month]))) }
        if let count = policy.keepYearly { rules.append(BucketRule(name: "yearly snapshot", limit: count, period: components([.year]))) }
        let withinLimit = newestFirst.first.flatMap { newest in policy.keepWithin.map { $0.before(newest.time, calendar: calendar) } }

        var decisions: [RetentionDecision] = []
        for (position, snapshot) in newestFirst.enumerated() {
            var reasons: [String] = []
            if let last = policy.keepLast, position < last { reasons.append("last snapshot") }
            for index in rules.indices where rules[index].kept < rules[index].limit {
                let period = rules[index].period(snapshot.time)
                if period != rules[index].lastPeriod {
                    rules[index].lastPeriod = period
                    rules[index].kept += 1
                    reasons.append(rules[index].name)
                }
            }
            // Strictly newer than the limit, as restic: `--keep-within 0D` keeps nothing by itself.
            if let withinLimit, snapshot.time > withinLimit, let age = policy.keepWithin { reasons.append("within \(age)") }
            for tag in policy.keepTags where snapshot.tags.contains(tag) { reasons.append("tag \(tag)") }
            decisions.append(RetentionDecision(snapshot: snapshot, keep: !reasons.isEmpty, reasons: reasons))
        }
        return decisions
    }
}
