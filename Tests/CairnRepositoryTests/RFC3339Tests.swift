import CairnRepository
import CairnTestSupport
import Foundation
import Testing

/// RFC 3339 dates are written and read in arithmetic; Foundation's `ISO8601DateFormatter` (ICU),
/// which Cairn used before, is the oracle the arithmetic must agree with.
@Suite("RFC 3339 dates") struct RFC3339Tests {
    static func oracle(fractional: Bool) -> ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = fractional ? [.withInternetDateTime, .withFractionalSeconds] : [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")!
        return formatter
    }

    @Test func knownInstantsAreWrittenInUTCWithMilliseconds() {
        #expect(RFC3339.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(RFC3339.format(Date(timeIntervalSince1970: 951_782_400.5)) == "2000-02-29T00:00:00.500Z")
        #expect(RFC3339.format(Date(timeIntervalSince1970: 1_796_319_600.123)) == "2026-12-03T17:40:00.123Z")
        #expect(RFC3339.format(Date(timeIntervalSince1970: -1)) == "1969-12-31T23:59:59.000Z")
        #expect(RFC3339.format(Date(timeIntervalSince1970: 1e15)) == "9999-12-31T23:59:59.999Z")
        #expect(RFC3339.format(Date(timeIntervalSince1970: -1e15)) == "0000-01-01T00:00:00.000Z")
        #expect(RFC3339.format(Date(timeIntervalSince1970: .nan)) == "1970-01-01T00:00:00.000Z")
    }

    /// Dates from 1900 to 2200 at random milliseconds: the same text as ICU's, and read back to the
    /// same instant.
    @Test func writesWhatISO8601DateFormatterWritesAndReadsItBack() throws {
        let oracle = Self.oracle(fractional: true)
        var random = SplitMix64(seed: 3339)
        for _ in 0..<20_000 {
            let milliseconds = Int64(random.next() % 9_467_280_000_000) - 2_208_988_800_000  // 1900...2200
            let date = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
            let text = RFC3339.format(date)
            #expect(text == oracle.string(from: date), "\(milliseconds) ms")
            let read = try #require(RFC3339.parse(text), "\(text)")
            #expect(RFC3339.format(read) == text)
            #expect(abs(read.timeIntervalSince(date)) < 0.000_001, "\(text)")
        }
    }

    /// Texts with offsets, with and without fractions of 1 to 9 digits: the instant ICU reads, to
    /// ICU's precision (it keeps milliseconds).
    @Test func readsWhatISO8601DateFormatterReads() throws {
        let fractional = Self.oracle(fractional: true), whole = Self.oracle(fractional: false)
        var random = SplitMix64(seed: 2026)
        for _ in 0..<5_000 {
            let seconds = Int64(random.next() % 9_467_280_000) - 2_208_988_800
            let base = whole.string(from: Date(timeIntervalSince1970: Double(seconds))).dropLast()  // no "Z"
            let digits = Int(random.next() % 10)
            let fraction = digits == 0 ? "" : "." + String((0..<digits).map { _ in Character(String(random.next() % 10)) })
            let offsetMinutes = Int(random.next() % (2 * 14 * 60 + 1)) - 14 * 60
            let zone = random.next() % 4 == 0 ? "Z"
                : (offsetMinutes < 0 ? "-" : "+") + twoDigits(abs(offsetMinutes) / 60) + ":" + twoDigits(abs(offsetMinutes) % 60)
            let text = String(base) + fraction + zone
            let ours = try #require(RFC3339.parse(text), "\(text)")
            let theirs = try #require((digits == 0 ? whole : fractional).date(from: text), "\(text)")
            #expect(abs(ours.timeIntervalSince(theirs)) < 0.001, "\(text)")
        }
    }

    private func twoDigits(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }

    @Test func offsetsCaseAndSeparatorsNameTheSameInstant() {
        let instant = RFC3339.parse("2026-12-03T17:40:00Z")
        #expect(instant == Date(timeIntervalSince1970: 1_796_319_600))
        #expect(RFC3339.parse("2026-12-03T18:40:00+01:00") == instant)
        #expect(RFC3339.parse("2026-12-03T12:10:00-05:30") == instant)
        #expect(RFC3339.parse("2026-12-03t17:40:00z") == instant)
        #expect(RFC3339.parse("2026-12-03 17:40:00Z") == instant)
        #expect(RFC3339.parse("2026-12-03T17:40:00.000000000Z") == instant)
        #expect(RFC3339.parse("2026-12-03T17:39:60Z") == instant, "a leap second is the next minute's first")
        #expect(RFC3339.parse("2024-02-29T00:00:00Z") != nil)
        #expect(RFC3339.parse("2000-02-29T00:00:00Z") != nil)
    }

    @Test(arguments: [
        "", "2026-12-03", "2026-12-03T17:40:00", "2026-12-03T17:40Z", "2026-12-03T17:40:00ZZ",
        "2026-12-03T17:40:00Z ", " 2026-12-03T17:40:00Z", "2026-13-03T17:40:00Z", "2026-00-03T17:40:00Z",
        "2026-12-32T17:40:00Z", "2026-11-31T00:00:00Z", "2026-02-29T00:00:00Z", "1900-02-29T00:00:00Z",
        "2026-12-03T24:00:00Z", "2026-12-03T17:60:00Z", "2026-12-03T17:40:61Z", "2026-12-03T17:40:00.Z",
        "2026-12-03T17:40:00.1234567890Z", "2026-12-03T17:40:00+01", "2026-12-03T17:40:00+1:00",
        "2026-12-03T17:40:00+24:00", "2026-12-03T17:40:00+01:60", "2026-12-03X17:40:00Z",
        "26-12-03T17:40:00Z", "2026-1-03T17:40:00Z", "2026-12-03T17:40:0aZ", "+2026-12-03T17:40:00Z",
        "2026-12-03T17:40:00,5Z", "２０２６-12-03T17:40:00Z",
    ])
    func whatIsNotAnRFC3339DateTimeIsRefused(text: String) {
        #expect(RFC3339.parse(text) == nil, "\(text)")
    }
}
