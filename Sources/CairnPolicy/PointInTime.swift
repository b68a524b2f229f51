import Foundation

/// `--at WHEN`: `now`, an age (`3D`), a date or date-time (local time unless a zone is given),
/// or `NB` for the N-th newest backup (`0B` is the newest, as in rdiff-backup).
public enum PointInTime: Sendable, Equatable {
    case now
    case age(Age)
    case instant(Date)
    case nthNewest(Int)

    public static func parse(_ text: String, timeZone: TimeZone) throws -> PointInTime {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed == "now" { return .now }
        if trimmed.hasSuffix("B"), let count = Int(trimmed.dropLast()), count >= 0 { return .nthNewest(count) }
        if let date = parseDate(trimmed, timeZone: timeZone) { return .instant(date) }
        if let age = try? Age(parsing: trimmed) { return .age(age) }
        throw PolicyError(.usage, "\(text) is not a point in time",
                          hint: "use now, an age (90m, 36h, 3D, 2W, 6M, 1Y, 1D12h), a date (2026-11-20, 2026-11-20T00:00, "
                              + "2026-11-20T00:00:00Z, with +02:00 offsets) or NB for the N-th newest backup (0B = newest)")
    }

    /// Dates and date-times; a time without a zone is in `timeZone`.
    static func parseDate(_ text: String, timeZone: TimeZone) -> Date? {
        let normalized = text.replacingOccurrences(of: " ", with: "T")
        let zoned = ["yyyy-MM-dd'T'HH:mm:ssXXXXX", "yyyy-MM-dd'T'HH:mm:ss.SSSXXXXX", "yyyy-MM-dd'T'HH:mmXXXXX"]
        let local = ["yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm:ss.SSS", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd"]
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.calendar = Calendar(identifier: .gregorian)
        formatter.isLenient = false
        for format in zoned {
            formatter.dateFormat = format
            formatter.timeZone = TimeZone(identifier: "UTC")
            if let date = formatter.date(from: normalized) { return date }
        }
        formatter.timeZone = timeZone
        for format in local {
            formatter.dateFormat = format
            if let date = formatter.date(from: normalized) { return date }
        }
        return nil
    }
}

/// Picks the snapshot a point in time names.
public enum SnapshotSelection {
    /// The newest matching snapshot at or before the time (for `.nthNewest`, the N-th newest).
    public static func select(_ at: PointInTime, from snapshots: [SnapshotSummary], filter: SnapshotFilter,
                              now: Date, calendar: Calendar) throws -> SnapshotSummary {
        let matching = snapshots.filter(filter.matches).sorted { ($0.time, $0.id) < ($1.time, $1.id) }
        guard let oldest = matching.first else {
            throw PolicyError(.noMatch, snapshots.isEmpty ? "the repository has no snapshots" : "no snapshot matches the host, tag and path filters",
                              hint: "see `cairn snapshots`")
        }
        let limit: Date
        switch at {
        case .nthNewest(let count):
            guard count < matching.count else {
                throw PolicyError(.noMatch, "there are only \(matching.count) matching snapshots, so \(count)B does not exist",
                                  hint: "the oldest is \(oldest.id.short) from \(format(oldest.time, calendar))")
            }
            return matching[matching.count - 1 - count]
        case .now: limit = now
        case .age(let age): limit = age.before(now, calendar: calendar)
        case .instant(let date): limit = date
        }
        guard let chosen = matching.last(where: { $0.time <= limit }) else {
            throw PolicyError(.noMatch, "no snapshot is at or before \(format(limit, calendar))",
                              hint: "the oldest is \(oldest.id.short) from \(format(oldest.time, calendar))")
        }
        return chosen
    }

    static func format(_ date: Date, _ calendar: Calendar) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = calendar.timeZone
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss ZZZZZ"
        return formatter.string(from: date)
    }
}
