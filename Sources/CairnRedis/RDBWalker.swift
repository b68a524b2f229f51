/// Decodes lengths and strings and skips values of every RDB type.
struct RDBWalker {
    var input: RDBInput
    let version: Int

}

/// Type names of RDB value type bytes.
enum RDBTypes {
    static let names: [UInt8: String] =
        [0: "string", 1: "list", 2: "set", 3: "zset", 4: "hash", 5: "zset", 7: "module",
         9: "hash", 10: "list", 11: "set", 12: "zset", 13: "hash", 14: "list", 15: "stream",
         16: "hash", 17: "zset", 18: "list", 19: "stream", 20: "set", 21: "stream",
         22: "hash", 23: "hash", 24: "hash", 25: "hash"]

    /// Whether a type byte is a value type, indexed by the byte: the reader asks once per key,
    /// and a dictionary lookup there was a visible share of walking a 1 GB dump.
    static let known: [Bool] = (0...255).map { names[UInt8($0)] != nil }
}

extension RDBWalker {

    /// A length; throws on the special (encoded) form.
    mutating func length(_ context: @autoclosure () -> String) throws -> UInt64 {
        let (value, encoded) = try lengthOrEncoding(context())
        if encoded { throw RedisError.invalidRDB("\(input.what): unexpected string encoding at byte \(input.offset) in \(context())") }
        return value
    }

    mutating func lengthOrEncoding(_ context: @autoclosure () -> String) throws -> (UInt64, Bool) {
        let first = try input.byte(context())
        switch first >> 6 {
        case 0: return (UInt64(first & 0x3f), false)
        case 1: return (UInt64(first & 0x3f) << 8 | UInt64(try input.byte(context())), false)
        case 2:
            let width: Int
            switch first {
            case 0x80: width = 4
            case 0x81: width = 8
            default: throw RedisError.invalidRDB("\(input.what): unknown length prefix 0x\(String(first, radix: 16)) at byte \(input.offset - 1)")
            }
            let bytes = try input.bytes(width, context())
            return (bytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }, false)
        default:
            return (UInt64(first & 0x3f), true)
        }
    }

    /// A length used as a byte count. The encoding holds any 64-bit number (streams store ids and
    /// counters with it), but no string comes near 2^48 bytes: a bigger byte count is damage, and
    /// converting it to Int64 or Int would trap instead of throwing.
    func byteCount(_ value: UInt64, _ context: @autoclosure () -> String) throws -> Int64 {
        guard value < 1 << 48 else {
            throw RedisError.invalidRDB("\(input.what): implausible length \(value) before byte \(input.offset) in \(context())")
        }
        return Int64(value)
    }

    mutating func skipString(_ context: @autoclosure () -> String) throws {
        let (value, encoded) = try lengthOrEncoding(context())
        guard encoded else {
            try input.skip(try byteCount(value, context()), context())
            return
        }
        switch value {
        case 0: try input.skip(1, context())
        case 1: try input.skip(2, context())
        case 2: try input.skip(4, context())
        case 3:
            let compressed = try byteCount(try length(context()), context())
            _ = try length(context())
            try input.skip(compressed, context())
        default: throw RedisError.invalidRDB("\(input.what): unknown string encoding \(value) at byte \(input.offset)")
        }
    }

    /// Reads a (small) string, decoding integer and LZF encodings.
    mutating func readString(limit: Int, _ context: @autoclosure () -> String) throws -> [UInt8] {
        let (value, encoded) = try lengthOrEncoding(context())
        if !encoded {
            guard value <= UInt64(limit) else {
                try input.skip(try byteCount(value, context()), context())
                return Array("<\(value) bytes>".utf8)
            }
            return try input.bytes(Int(value), context())
        }
        switch value {
        case 0: return Array(String(Int8(bitPattern: try input.byte(context()))).utf8)
        case 1:
            let bytes = try input.bytes(2, context())
            return Array(String(Int16(bitPattern: UInt16(bytes[0]) | UInt16(bytes[1]) << 8)).utf8)
        case 2:
            let bytes = try input.bytes(4, context())
            let raw = bytes.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
            return Array(String(Int32(bitPattern: raw)).utf8)
        case 3:
            let compressedLength = Int(try byteCount(try length(context()), context()))
            let plainLength = Int(try byteCount(try length(context()), context()))
            guard compressedLength <= limit, plainLength <= limit else {
                try input.skip(Int64(compressedLength), context())
                return Array("<\(plainLength) bytes>".utf8)
            }
            return try LZF.decompress(try input.bytes(compressedLength, context()), expectedLength: plainLength)
        default: throw RedisError.invalidRDB("\(input.what): unknown string encoding \(value) at byte \(input.offset)")
        }
    }

    /// Skips a value of the given type.
    mutating func skipValue(type: UInt8) throws {
        // Only an error message uses it: built when one is thrown, not once per key.
        func context() -> String { "a \(RDBTypes.names[type] ?? "type \(type)") value" }
        switch type {
        case 0, 9, 10, 11, 12, 13, 16, 17, 20, 23:
            try skipString(context())
        case 1, 2:
            for _ in 0..<(try length(context())) { try skipString(context()) }
        case 3:
            for _ in 0..<(try length(context())) {
                try skipString(context())
                let scoreLength = try input.byte(context())
                if scoreLength < 253 { try input.skip(Int64(scoreLength), context()) }
            }
        case 4:
            for _ in 0..<(try length(context())) {
                try skipString(context())
                try skipString(context())
            }
        case 5:
            for _ in 0..<(try length(context())) {
                try skipString(context())
                try input.skip(8, context())
            }
        case 7:
            _ = try length("a module id")
            try skipModuleValue()
        case 14:
            for _ in 0..<(try length(context())) { try skipString(context()) }
        case 18:
            for _ in 0..<(try length(context())) {
                _ = try length(context())  // container: 1 plain, 2 packed
                try skipString(context())
            }
        case 15, 19, 21:
            try skipStream(type: type)
        case 22:
            for _ in 0..<(try length(context())) {
                _ = try length(context())
                try skipString(context())
                try skipString(context())
            }
        case 24:
            try input.skip(8, context())
            for _ in 0..<(try length(context())) {
                _ = try length(context())
                try skipString(context())
                try skipString(context())
            }
        case 25:
            try input.skip(8, context())
            try skipString(context())
        default:
            throw RedisError.invalidRDB("\(input.what): value type \(type) is not supported")
        }
    }

    /// Module values: a sequence of typed opcodes ending with 0 (EOF).
    mutating func skipModuleValue() throws {
        while true {
            switch try length("a module opcode") {
            case 0: return
            case 1, 2: _ = try length("a module integer")
            case 3: try input.skip(4, "a module float")
            case 4: try input.skip(8, "a module double")
            case 5: try skipString("a module string")
            case let other: throw RedisError.invalidRDB("\(input.what): unknown module opcode \(other) at byte \(input.offset)")
            }
        }
    }

    mutating func skipStream(type: UInt8) throws {
        let context = "a stream"
        for _ in 0..<(try length(context)) {
            try skipString(context)   // node key (master id)
            try skipString(context)   // listpack
        }
        _ = try length(context)       // length
        _ = try length(context)       // last id ms
        _ = try length(context)       // last id seq
        if type >= 19 {
            for _ in 0..<5 { _ = try length(context) }  // first id, max deleted id, entries added
        }
        for _ in 0..<(try length("stream consumer groups")) {
            try skipString(context)
            _ = try length(context)
            _ = try length(context)
            if type >= 19 { _ = try length(context) }   // entries read
            for _ in 0..<(try length("a consumer group PEL")) {
                try input.skip(16, context)   // stream id
                try input.skip(8, context)    // delivery time
                _ = try length(context)       // delivery count
            }
            for _ in 0..<(try length("stream consumers")) {
                try skipString(context)
                try input.skip(8, context)    // seen time
                if type >= 21 { try input.skip(8, context) }  // active time
                for _ in 0..<(try length("a consumer PEL")) { try input.skip(16, context) }
            }
        }
    }
}
