import Foundation

/// Dates and calendars in Europe/Berlin, the zone every policy test reasons in (it has both DST
/// switches: 2026-03-29 02:00 CET → 03:00 CEST and 2026-10-25 03:00 CEST → 02:00 CET).
enum Berlin {
    static let zone = TimeZone(identifier: "Europe/Berlin")!

    /// Gregorian in Berlin with ISO-8601 week rules (weeks start on Monday, week 1 holds the
    /// first Thursday), which is what restic's `--keep-weekly` counts (Go's `ISOWeek`).
    static var calendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        calendar.firstWeekday = 2
        calendar.minimumDaysInFirstWeek = 4
        return calendar
    }

    /// `Calendar(identifier: .gregorian)` as it comes, in Berlin: weeks start on Sunday and
    /// week 1 is the week of January 1st.
    static var plainGregorian: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        return calendar
    }

    /// A local wall-clock time that exists (do not pass times inside the spring-forward gap).
    static func date(_ year: Int, _ month: Int, _ day: Int, _ hour: Int = 0, _ minute: Int = 0, _ second: Int = 0) -> Date {
        let components = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        let date = calendar.date(from: components)!
        precondition(calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date) == components,
                     "\(components) does not exist in Berlin")
        return date
    }

    /// An instant given in UTC as `yyyy-MM-ddTHH:mm:ssZ`.
    static func utc(_ text: String) -> Date {
        try! Date(text, strategy: .iso8601)
    }

    /// RFC 3339 in Berlin local time with its offset, e.g. `2026-10-25T02:30:00+01:00`.
    static func rfc3339(_ date: Date) -> String {
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let offset = zone.secondsFromGMT(for: date)
        let sign = offset < 0 ? "-" : "+"
        let magnitude = abs(offset)
        let local = String(format: "%04d-%02d-%02dT%02d:%02d:%02d", parts.year!, parts.month!, parts.day!,
                           parts.hour!, parts.minute!, parts.second!)
        return local + sign + String(format: "%02d:%02d", magnitude / 3600, magnitude % 3600 / 60)
    }
}
