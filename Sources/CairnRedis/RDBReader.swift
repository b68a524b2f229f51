/// A key record or other section of an RDB, by byte range; a Redis-aware splitter can cut the
/// file at these boundaries so each key deduplicates on its own.
public struct RDBRecord: Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case header, aux, function, database, key, moduleAux, trailer }
    public var kind: Kind
    public var offset: Int64
    public var length: Int64
}

/// Streams an RDB file from end to end: checks the magic and version, walks every record and
/// value encoding of Redis 2.6 … 7.4 (RDB 1–12) to the EOF opcode, and verifies the CRC64
/// trailer. Values are skipped, never held, so memory is one buffer whatever the file's size.
public enum RDBReader {
    public static let newestVersion = 12

    enum Opcode {
        static let slotInfo: UInt8 = 244, function2: UInt8 = 245, functionPreGA: UInt8 = 246, moduleAux: UInt8 = 247
        static let idle: UInt8 = 248, frequency: UInt8 = 249, aux: UInt8 = 250, resizeDB: UInt8 = 251
        static let expireMilliseconds: UInt8 = 252, expireSeconds: UInt8 = 253, selectDB: UInt8 = 254, eof: UInt8 = 255
    }

    /// Reads the whole source. `allowTrailingData` accepts bytes after the checksum (an AOF with
    /// an RDB preamble continues with commands). `onRecord` receives every section's byte range.
    public static func read(_ source: any RDBByteSource, name: String = "the RDB file",
                            allowTrailingData: Bool = false,
                            onRecord: ((RDBRecord) -> Void)? = nil) throws -> RDBSummary {
        let walkerInput = RDBInput(source: source, what: name)
        var summary = RDBSummary()
        let magic = try walkerInput.bytes(9, "the header")
        let text = String(decoding: magic, as: UTF8.self)
        if text.hasPrefix("VALKEY") {
            throw RedisError.invalidRDB("\(name) was written by Valkey (\(text)); this Cairn reads Redis RDB versions 1–\(newestVersion)")
        }
        guard text.hasPrefix("REDIS"), let version = Int(text.dropFirst(5)) else {
            throw RedisError.invalidRDB("\(name) is not an RDB file (it starts with \(magic.prefix(9).map { String(format: "%02x", $0) }.joined()))")
        }
        guard (1...newestVersion).contains(version) else {
            throw RedisError.invalidRDB("\(name) has RDB version \(version), which this Cairn does not read (it reads 1–\(newestVersion))")
        }
        summary.version = version
        onRecord?(RDBRecord(kind: .header, offset: 0, length: 9))
        var walker = RDBWalker(input: walkerInput, version: version)
        var database: Int?
        /// The index in `summary.databases` of `database`, and keys counted by type byte per
        /// database (folded into the summary's names at the end, not hashed per key).
        var slot = 0
        var typeCounts: [[Int]] = []
        func select(_ index: Int) {
            database = index
            if let existing = summary.databases.firstIndex(where: { $0.index == index }) {
                slot = existing
            } else {
                slot = summary.databases.count
                summary.databases.append(RDBSummary.Database(index: index))
                typeCounts.append([Int](repeating: 0, count: 256))
            }
        }
        var recordStart: Int64?
        var hasExpire = false
        while true {
            let start = walker.input.offset
            let opcode = try walker.input.byte("an opcode")
            switch opcode {
            case Opcode.eof:
                for (index, counts) in typeCounts.enumerated() {
                    for (type, count) in counts.enumerated() where count > 0 {
                        summary.databases[index].types[RDBTypes.names[UInt8(type)]!, default: 0] += count
                    }
                }
                let computed = walker.input.checksum()
                if version >= 5 {
                    let trailer = try walker.input.bytes(8, "the checksum")
                    let stored = trailer.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
                    if stored == 0 {
                        summary.checksum = .disabled
                    } else if stored == computed {
                        summary.checksum = .valid(stored)
                    } else {
                        throw RedisError.invalidRDB("\(name): CRC64 mismatch: stored \(hex(stored)), computed \(hex(computed))")
                    }
                }
                onRecord?(RDBRecord(kind: .trailer, offset: start, length: walker.input.offset - start))
                summary.bytes = walker.input.offset
                if !allowTrailingData, try !walker.input.atEnd() {
                    throw RedisError.invalidRDB("\(name) has bytes after its checksum at offset \(walker.input.offset)")
                }
                return summary
            case Opcode.aux:
                let key = try walker.readString(limit: 1 << 16, "an aux field name")
                let value = try walker.readString(limit: 1 << 16, "the aux field \(String(decoding: key, as: UTF8.self))")
                summary.aux[String(decoding: key, as: UTF8.self)] = printable(value)
                onRecord?(RDBRecord(kind: .aux, offset: start, length: walker.input.offset - start))
            case Opcode.selectDB:
                let number = try walker.length("a database number")
                guard number < 1 << 31 else { throw RedisError.invalidRDB("\(name): database number \(number) at byte \(start) is not plausible") }
                select(Int(number))
                onRecord?(RDBRecord(kind: .database, offset: start, length: walker.input.offset - start))
            case Opcode.resizeDB:
                _ = try walker.length("a database size")
                _ = try walker.length("a database expires size")
                onRecord?(RDBRecord(kind: .database, offset: start, length: walker.input.offset - start))
            case Opcode.slotInfo:
                for _ in 0..<3 { _ = try walker.length("slot info") }
                onRecord?(RDBRecord(kind: .database, offset: start, length: walker.input.offset - start))
            case Opcode.function2:
                try walker.skipString("a function library")
                summary.functions += 1
                onRecord?(RDBRecord(kind: .function, offset: start, length: walker.input.offset - start))
            case Opcode.functionPreGA:
                throw RedisError.invalidRDB("\(name) holds functions in the format of a Redis 7.0 release candidate, which this Cairn does not read")
            case Opcode.moduleAux:
                _ = try walker.length("a module id")
                let whenOpcode = try walker.length("a module aux when-opcode")
                guard whenOpcode == 2 else { throw RedisError.invalidRDB("\(name): malformed module aux data at byte \(start)") }
                _ = try walker.length("a module aux when")
                try walker.skipModuleValue()
                summary.moduleAux += 1
                onRecord?(RDBRecord(kind: .moduleAux, offset: start, length: walker.input.offset - start))
            case Opcode.expireMilliseconds:
                try walker.input.skip(8, "an expire time")
                recordStart = recordStart ?? start
                hasExpire = true
            case Opcode.expireSeconds:
                try walker.input.skip(4, "an expire time")
                recordStart = recordStart ?? start
                hasExpire = true
            case Opcode.idle:
                _ = try walker.length("an idle time")
                recordStart = recordStart ?? start
            case Opcode.frequency:
                try walker.input.skip(1, "an LFU frequency")
                recordStart = recordStart ?? start
            default:
                guard RDBTypes.known[Int(opcode)] else {
                    throw RedisError.invalidRDB("\(name) has an unknown record type \(opcode) at byte \(start)")
                }
                try walker.skipString("a key")
                try walker.skipValue(type: opcode)
                if database == nil { select(0) }   // keys before any SELECTDB are in database 0
                summary.databases[slot].keys += 1
                if hasExpire { summary.databases[slot].expires += 1 }
                typeCounts[slot][Int(opcode)] += 1
                let keyStart = recordStart ?? start
                onRecord?(RDBRecord(kind: .key, offset: keyStart, length: walker.input.offset - keyStart))
                recordStart = nil
                hasExpire = false
            }
        }
    }

    static func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }

    static func printable(_ bytes: [UInt8]) -> String {
        if !bytes.contains(0), let text = String(validating: bytes, as: UTF8.self) { return text }
        return bytes.map { String(format: "\\x%02x", $0) }.joined()
    }
}

import Foundation
