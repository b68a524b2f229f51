import Foundation

/// RFC 3339 timestamps (`2026-12-03T17:40:00.123Z`), the form of every date in the repository's
/// JSON objects (config, keys, locks, snapshots) and in `--json` output.
///
/// Written by hand, in arithmetic, rather than through `ISO8601DateFormatter`: that class goes
/// through ICU, which loads time zone files on first use (~40 ms on a cold cache, on every command,
/// since opening a repository reads its config's date), builds a formatter per call, and died of
/// SIGFPE on a fraction of some 40 digits in a date read from the store.
public enum RFC3339 {
    /// `date` in UTC, to the nearest millisecond (so that formatting what `parse` read from a
    /// text with milliseconds gives that text back). Years outside 0000–9999 cannot be written in
    /// this form and are clamped to them.
    public static func format(_ date: Date) -> String {
        // From the reference date (2001), which is what a Date holds, to keep the arithmetic exact.
        var milliseconds = (date.timeIntervalSinceReferenceDate * 1000).rounded() + referenceDateMilliseconds
        if milliseconds.isNaN { milliseconds = 0 }  // no date is NaN but a constructed one; 1970 rather than a trap
        let clamped = Int64(min(max(milliseconds, -62_167_219_200_000), 253_402_300_799_999))  // 0000-01-01 to 9999-12-31T23:59:59.999
        let (seconds, millisecond) = floorDivision(clamped, 1000)
        let (days, secondOfDay) = floorDivision(seconds, 86_400)
        let (year, month, day) = civil(fromDays: days)
        var text = ""
        text.reserveCapacity(24)
        append(year, digits: 4, to: &text)
        text.append("-"); append(month, digits: 2, to: &text)
        text.append("-"); append(day, digits: 2, to: &text)
        text.append("T"); append(secondOfDay / 3600, digits: 2, to: &text)
        text.append(":"); append(secondOfDay / 60 % 60, digits: 2, to: &text)
        text.append(":"); append(secondOfDay % 60, digits: 2, to: &text)
        text.append("."); append(millisecond, digits: 3, to: &text)
        text.append("Z")
        return text
    }

    /// The instant `text` names, or nil when it is not an RFC 3339 date-time:
    /// `YYYY-MM-DD`, `T` (or `t`, or a space, as RFC 3339's note allows), `hh:mm:ss`, an optional
    /// fraction of 1 to 9 digits (nanoseconds; more is not a time anyone wrote), then `Z`, `z` or
    /// an offset `±hh:mm`. A leap second (`:60`) counts as the first second of the next minute.
    public static func parse(_ text: String) -> Date? {
        var scanner = Scanner(Array(text.utf8))
        guard let year = scanner.number(digits: 4), scanner.skip("-"),
              let month = scanner.number(digits: 2), scanner.skip("-"),
              let day = scanner.number(digits: 2), scanner.skip(anyOf: "Tt "),
              let hour = scanner.number(digits: 2), scanner.skip(":"),
              let minute = scanner.number(digits: 2), scanner.skip(":"),
              let second = scanner.number(digits: 2)
        else { return nil }
        guard (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day),
              hour <= 23, minute <= 59, second <= 60
        else { return nil }
        var fraction = 0.0
        if scanner.skip(".") {
            let digits = scanner.digits()
            guard (1...9).contains(digits.count) else { return nil }
            let value = digits.reduce(Int64(0)) { $0 * 10 + Int64($1 - UInt8(ascii: "0")) }
            fraction = Double(value) / powersOfTen[digits.count]
        }
        var offsetSeconds: Int64 = 0
        if !scanner.skip(anyOf: "Zz") {
            guard let sign = scanner.next(), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-"),
                  let offsetHour = scanner.number(digits: 2), scanner.skip(":"),
                  let offsetMinute = scanner.number(digits: 2), offsetHour <= 23, offsetMinute <= 59
            else { return nil }
            offsetSeconds = (offsetHour * 3600 + offsetMinute * 60) * (sign == UInt8(ascii: "-") ? -1 : 1)
        }
        guard scanner.atEnd else { return nil }
        let seconds = days(fromCivil: year, month: month, day: day) * 86_400
            + hour * 3600 + minute * 60 + second - offsetSeconds
        return Date(timeIntervalSinceReferenceDate: Double(seconds - referenceDateSeconds) + fraction)
    }

    /// 2001-01-01T00:00:00Z, Foundation's reference date, in seconds and milliseconds since 1970.
    private static let referenceDateSeconds: Int64 = 978_307_200
    private static let referenceDateMilliseconds = 978_307_200_000.0
    /// 10^0 to 10^9, each exact in a Double: one division per fraction, rounded once.
    private static let powersOfTen: [Double] = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9]

    // MARK: - Calendar arithmetic (proleptic Gregorian, as RFC 3339 specifies)

    /// Days from 1970-01-01 to the given date (Howard Hinnant's `days_from_civil`).
    static func days(fromCivil year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = floorDivision(y, 400).quotient
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
    static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let shifted = days + 719_468
        let era = floorDivision(shifted, 146_097).quotient
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    private static func floorDivision(_ value: Int64, _ divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        let quotient = value >= 0 ? value / divisor : -((-value + divisor - 1) / divisor)
        return (quotient, value - quotient * divisor)
    }

    private static func append(_ value: Int64, digits: Int, to text: inout String) {
        let decimal = String(value)
        if decimal.count < digits { text.append(String(repeating: "0", count: digits - decimal.count)) }
        text.append(decimal)
    }

    /// A cursor over the text's bytes.
    private struct Scanner {
        let bytes: [UInt8]
        var position = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var atEnd: Bool { position == bytes.count }

        mutating func next() -> UInt8? {
            guard position < bytes.count else { return nil }
            defer { position += 1 }
            return bytes[position]
        }

        mutating func skip(_ character: Unicode.Scalar) -> Bool { skip(anyOf: String(character)) }

        mutating func skip(anyOf characters: String) -> Bool {
            guard position < bytes.count, characters.utf8.contains(bytes[position]) else { return false }
            position += 1
            return true
        }

        /// Exactly `digits` ASCII digits, as a number.
        mutating func number(digits: Int) -> Int64? {
            guard position + digits <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[position..<position + digits] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            position += digits
            return value
        }

        /// The run of ASCII digits here (possibly empty).
        mutating func digits() -> ArraySlice<UInt8> {
            let start = position
            while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) { position += 1 }
            return bytes[start..<position]
        }
    }
}
