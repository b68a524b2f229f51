import CairnPolicy
import Foundation
import Testing

@Suite("Age") struct AgeTests {
    @Test func unitsAndCombinations() throws {
        let mixed = try Age(parsing: "1Y2M3W4D5h6m7s")
        #expect([mixed.years, mixed.months, mixed.weeks, mixed.days, mixed.hours, mixed.minutes, mixed.seconds] as [Int] == [1, 2, 3, 4, 5, 6, 7])
        #expect(mixed.description == "1Y2M3W4D5h6m7s")
        let lower = try Age(parsing: "2y3w4d5H")
        #expect([lower.years, lower.weeks, lower.days, lower.hours] as [Int] == [2, 3, 4, 5])
        #expect(try Age(parsing: "90m").minutes == 90)
        #expect(try Age(parsing: "6M").months == 6)
        #expect(try Age(parsing: "1D12h").days == 1)
        #expect(try Age(parsing: "1D12h").hours == 12)
        #expect(try Age(parsing: "2D3D").days == 5, "repeated units add up")
        #expect(try Age(parsing: "0D").days == 0)
    }

    @Test(arguments: ["", "3", "D", "3X", "3S", "1.5h", "1D-2h", " 3D", "3D ", "\u{FF13}D", "h12"])
    func invalidAgesAreUsageErrors(_ text: String) throws {
        let error = try #require(throws: PolicyError.self) { try Age(parsing: text) }
        #expect(error.category == .usage)
        #expect(error.message == "\(text) is not an age")
    }

    /// Calendar units in Berlin: months clamp to the month's end, days follow the wall clock
    /// across DST (23 or 25 hours), hours are exact durations.
    @Test func beforeUsesCalendarArithmetic() throws {
        let calendar = Berlin.calendar
        func before(_ age: String, _ date: Date) throws -> String { Berlin.rfc3339(try Age(parsing: age).before(date, calendar: calendar)) }
        #expect(try before("6M", Berlin.date(2026, 8, 31, 12)) == "2026-02-28T12:00:00+01:00")
        #expect(try before("1M", Berlin.date(2026, 3, 31, 0, 30)) == "2026-02-28T00:30:00+01:00")
        #expect(try before("1Y", Berlin.date(2028, 2, 29, 12)) == "2027-02-28T12:00:00+01:00")
        #expect(try before("1D", Berlin.date(2026, 3, 30, 2, 30)) == "2026-03-29T03:30:00+02:00")
        #expect(try before("24h", Berlin.date(2026, 3, 30, 2, 30)) == "2026-03-29T01:30:00+01:00")
        #expect(try before("1D", Berlin.date(2026, 3, 29, 12)) == "2026-03-28T12:00:00+01:00")
        #expect(try before("24h", Berlin.date(2026, 3, 29, 12)) == "2026-03-28T11:00:00+01:00")
        #expect(try before("1D", Berlin.date(2026, 10, 25, 12)) == "2026-10-24T12:00:00+02:00")
        #expect(try before("24h", Berlin.date(2026, 10, 25, 12)) == "2026-10-24T13:00:00+02:00")
        #expect(try before("36h", Berlin.date(2026, 11, 25, 10)) == "2026-11-23T22:00:00+01:00")
        #expect(try before("2W", Berlin.date(2026, 11, 25, 10)) == "2026-11-11T10:00:00+01:00")
        #expect(try before("90m", Berlin.date(2026, 11, 25, 0, 30)) == "2026-11-24T23:00:00+01:00")
        #expect(try before("0D", Berlin.date(2026, 11, 25, 0, 30)) == "2026-11-25T00:30:00+01:00")
    }
}
