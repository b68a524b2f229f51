import Foundation

/// A calendar-aware age such as `1D12h` or `6M`: months and years are calendar units.
public struct Age: Sendable, Equatable, Codable, CustomStringConvertible {
    public var years = 0, months = 0, weeks = 0, days = 0, hours = 0, minutes = 0, seconds = 0
    public let text: String

    /// Units: `s`, `m` (minutes), `h`, `D`/`d`, `W`/`w`, `M` (months), `Y`/`y`. Combinations like `1D12h`.
    public init(parsing text: String) throws {
        self.text = text
        var number = ""
        var sawUnit = false
        for character in text {
            if character.isASCII && character.isNumber {
                number.append(character)
                continue
            }
            guard let value = Int(number) else { throw Self.invalid(text) }
            switch character {
            case "s": seconds += value
            case "m": minutes += value
            case "h", "H": hours += value
            case "D", "d": days += value
            case "W", "w": weeks += value
            case "M": months += value
            case "Y", "y": years += value
            default: throw Self.invalid(text)
            }
            number = ""
            sawUnit = true
        }
        guard sawUnit, number.isEmpty else { throw Self.invalid(text) }
    }

    static func invalid(_ text: String) -> PolicyError {
        PolicyError(.usage, "\(text) is not an age", hint: "use forms like 90m, 36h, 3D, 2W, 6M, 1Y or 1D12h")
    }

    /// `date` minus this age, in `calendar`'s time zone.
    public func before(_ date: Date, calendar: Calendar) -> Date {
        var components = DateComponents()
        components.year = -years
        components.month = -months
        components.day = -(days + 7 * weeks)
        components.hour = -hours
        components.minute = -minutes
        components.second = -seconds
        return calendar.date(byAdding: components, to: date) ?? date
    }

    public var description: String { text }
}
