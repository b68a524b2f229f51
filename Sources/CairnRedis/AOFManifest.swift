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
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
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

    /// Splits on spaces, honouring "quoted" tokens with backslash escapes (Redis's sdscatrepr).
    private static func tokens(_ line: String, _ number: Int) throws -> [String] {
        var tokens: [String] = []
        var current = ""
        var quoted = false, escaped = false, inToken = false
        for character in line {
            if quoted {
                if escaped { current.append(character); escaped = false; continue }
                if character == "\\" { escaped = true; continue }
                if character == "\"" { quoted = false; continue }
                current.append(character)
            } else if character == " " {
                if inToken { tokens.append(current); current = ""; inToken = false }
            } else if character == "\"" {
                quoted = true; inToken = true
            } else {
                current.append(character); inToken = true
            }
        }
        guard !quoted else { throw malformed(number, "unterminated quote") }
        if inToken { tokens.append(current) }
        return tokens
    }

    /// The manifest text for `entries`, as Redis writes it.
    public static func render(_ entries: [Entry]) -> String {
        entries.map { "file \($0.name) seq \($0.sequence) type \($0.type.rawValue)\n" }.joined()
    }
}

import Foundation
