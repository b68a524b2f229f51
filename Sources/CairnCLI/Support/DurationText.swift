/// Durations on the command line: `90s`, `30m`, `2h`, `1h30m`, or plain seconds.
enum DurationText {
    static func seconds(_ text: String) throws -> Double {
        if let plain = Double(text) { return plain }
        var total = 0.0
        var number = ""
        for character in text {
            if character.isNumber || character == "." {
                number.append(character)
                continue
            }
            guard let value = Double(number) else { throw invalid(text) }
            switch character {
            case "s": total += value
            case "m": total += value * 60
            case "h": total += value * 3600
            case "d", "D": total += value * 86400
            default: throw invalid(text)
            }
            number = ""
        }
        guard number.isEmpty else { throw invalid(text) }
        return total
    }

    private static func invalid(_ text: String) -> CLIError {
        CLIError(.usage, "\(text) is not a duration", hint: "use forms like 30s, 10m, 1h30m")
    }
}
