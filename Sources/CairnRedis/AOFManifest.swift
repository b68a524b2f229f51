import Foundation

/// A Redis 7 multi-part AOF manifest (`appendonly.aof.manifest`): one line per file,
/// `file <name> seq <n> type <b|h|i>`; `#` comments; names may be quoted.
public struct AOFManifest: Sendable, Equatable {
    public enum FileType: String, Sendable { case base = "b", history = "h", increment = "i" }

    public struct Entry: Sendable, Equatable {
        public var name: String
        public var sequence: Int
        public var type: FileType

        public init(name: String, sequence: Int, type: FileType) {
            self.name = name; self.sequence = sequence; self.type = type
        }
    }

    public var entries: [Entry]

    public var base: Entry? { entries.first { $0.type == .base } }
    public var increments: [Entry] { entries.filter { $0.type == .increment } }
    /// The files a loader reads: the base, then increments (history files are not loaded).
    public var liveFiles: [Entry] { entries.filter { $0.type != .history } }

    public init(parsing text: String) throws {
        var entries: [Entry] = []
        for (number, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated() {
            // Redis trims " \t\r\n" (so CRLF manifests load).
            let line = rawLine.trimmingCharacters(in: CharacterSet(charactersIn: " \t\r\n"))
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard line.utf8.count <= 1024 else { throw Self.malformed(number, "line is longer than 1024 bytes") }
            let tokens = try Self.tokens(line, number)
            guard tokens.count >= 6, tokens.count % 2 == 0 else { throw Self.malformed(number, "expected key/value pairs") }
            var fields: [String: String] = [:]
            for pair in stride(from: 0, to: tokens.count, by: 2) { fields[tokens[pair]] = tokens[pair + 1] }
            guard let name = fields["file"], let sequenceText = fields["seq"], let sequence = Int(sequenceText),
                  let typeText = fields["type"], let type = FileType(rawValue: typeText) else {
                throw Self.malformed(number, "needs file, seq and type")
            }
            guard !name.contains("/"), name != ".", name != ".." else { throw Self.malformed(number, "file name must be a basename") }
            entries.append(Entry(name: name, sequence: sequence, type: type))
        }
        guard entries.filter({ $0.type == .base }).count <= 1 else {
            throw RedisError(.integrity, "the AOF manifest names more than one base file")
        }
        guard !entries.isEmpty else { throw RedisError(.integrity, "the AOF manifest lists no files") }
        self.entries = entries
    }

    private static func malformed(_ line: Int, _ why: String) -> RedisError {
        RedisError(.integrity, "the AOF manifest is malformed at line \(line + 1): \(why)")
    }

    /// Splits on spaces, honouring "quoted" tokens with the escapes Redis's sdscatrepr writes:
    /// `\\`, `\"`, `\n`, `\r`, `\t`, `\a`, `\b` and `\xHH` (a raw byte; names are UTF-8).
    private static func tokens(_ line: String, _ number: Int) throws -> [String] {
        var tokens: [String] = []
        var current: [UInt8] = []
        var quoted = false, inToken = false
        let bytes = Array(line.utf8)
        var index = 0
        func hexValue(_ byte: UInt8) -> UInt8? {
            switch byte {
            case 48...57: return byte - 48
            case 65...70: return byte - 55
            case 97...102: return byte - 87
            default: return nil
            }
        }
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if quoted {
                if byte == UInt8(ascii: "\\"), index < bytes.count {
                    let escape = bytes[index]
                    index += 1
                    switch escape {
                    case UInt8(ascii: "n"): current.append(10)
                    case UInt8(ascii: "r"): current.append(13)
                    case UInt8(ascii: "t"): current.append(9)
                    case UInt8(ascii: "a"): current.append(7)
                    case UInt8(ascii: "b"): current.append(8)
                    case UInt8(ascii: "x"):
                        guard index + 1 < bytes.count, let high = hexValue(bytes[index]), let low = hexValue(bytes[index + 1]) else {
                            throw malformed(number, "bad \\x escape")
                        }
                        current.append(high << 4 | low)
                        index += 2
                    default: current.append(escape)
                    }
                } else if byte == UInt8(ascii: "\"") {
                    quoted = false
                } else {
                    current.append(byte)
                }
            } else if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") {
                if inToken { tokens.append(String(decoding: current, as: UTF8.self)); current = []; inToken = false }
            } else if byte == UInt8(ascii: "\"") {
                quoted = true; inToken = true
            } else {
                current.append(byte); inToken = true
            }
        }
        guard !quoted else { throw malformed(number, "unterminated quote") }
        if inToken { tokens.append(String(decoding: current, as: UTF8.self)) }
        return tokens
    }

    /// The manifest text for `entries`, as Redis writes it (names quoted like sdscatrepr when
    /// they hold spaces, quotes, backslashes or bytes outside printable ASCII).
    public static func render(_ entries: [Entry]) -> String {
        entries.map { "file \(quote($0.name)) seq \($0.sequence) type \($0.type.rawValue)\n" }.joined()
    }

    static func quote(_ name: String) -> String {
        let bytes = Array(name.utf8)
        let plain = !bytes.isEmpty && bytes.allSatisfy { $0 > 32 && $0 < 127 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
        if plain { return name }
        var out = "\""
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\\"): out += "\\\\"
            case UInt8(ascii: "\""): out += "\\\""
            case 10: out += "\\n"
            case 13: out += "\\r"
            case 9: out += "\\t"
            case 7: out += "\\a"
            case 8: out += "\\b"
            case 32...126: out.append(Character(UnicodeScalar(byte)))
            default: out += String(format: "\\x%02x", byte)
            }
        }
        return out + "\""
    }
}
