import CairnRedis

/// How a string is encoded in an RDB.
enum RDBString {
    case raw([UInt8])
    case int8(Int8)
    case int16(Int16)
    case int32(Int32)
    /// LZF-compressed (the builder compresses).
    case lzf([UInt8])

    static func text(_ text: String) -> RDBString { .raw(Array(text.utf8)) }
}

/// Which length prefix to write: the shortest, or a forced (still valid) wider one.
enum LengthForm { case shortest, sixBit, fourteenBit, thirtyTwoBit, sixtyFourBit }

/// Writes valid RDB bytes, opcode by opcode, as `rdbSaveRio` lays them out; `finish()` appends
/// EOF and the CRC64-Jones trailer (from versions 5 on).
struct RDBBuilder {
    private(set) var bytes: [UInt8]
    let version: Int

    init(version: Int = 11) {
        self.version = version
        let digits = String(version)
        bytes = Array(("REDIS" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits).utf8)
    }

    static func length(_ value: UInt64, _ form: LengthForm = .shortest) -> [UInt8] {
        var form = form
        if form == .shortest { form = value < 64 ? .sixBit : value < 16_384 ? .fourteenBit : value <= UInt64(UInt32.max) ? .thirtyTwoBit : .sixtyFourBit }
        switch form {
        case .sixBit: precondition(value < 64); return [UInt8(value)]
        case .fourteenBit: precondition(value < 16_384); return [0x40 | UInt8(value >> 8), UInt8(value & 0xff)]
        case .thirtyTwoBit: return [0x80] + (0..<4).reversed().map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
        case .sixtyFourBit: return [0x81] + (0..<8).reversed().map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
        case .shortest: fatalError("resolved above")
        }
    }

    static func string(_ value: RDBString, _ form: LengthForm = .shortest) -> [UInt8] {
        switch value {
        case .raw(let bytes): return length(UInt64(bytes.count), form) + bytes
        case .int8(let number): return [0xc0, UInt8(bitPattern: number)]
        case .int16(let number): return [0xc1] + littleEndian(UInt64(UInt16(bitPattern: number)), 2)
        case .int32(let number): return [0xc2] + littleEndian(UInt64(UInt32(bitPattern: number)), 4)
        case .lzf(let plain):
            let compressed = LZFCompressor.compress(plain)
            return [0xc3] + length(UInt64(compressed.count)) + length(UInt64(plain.count)) + compressed
        }
    }

    static func littleEndian(_ value: UInt64, _ width: Int) -> [UInt8] {
        (0..<width).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
    }

    mutating func raw(_ more: [UInt8]) { bytes += more }

    mutating func aux(_ key: String, _ value: RDBString) { bytes += [0xfa] + Self.string(.text(key)) + Self.string(value) }
    mutating func function(_ code: String) { bytes += [0xf5] + Self.string(.text(code)) }
    mutating func selectDB(_ index: UInt64, _ form: LengthForm = .shortest) { bytes += [0xfe] + Self.length(index, form) }
    mutating func resizeDB(keys: UInt64, expires: UInt64) { bytes += [0xfb] + Self.length(keys) + Self.length(expires) }
    mutating func expireMilliseconds(_ milliseconds: UInt64) { bytes += [0xfc] + Self.littleEndian(milliseconds, 8) }
    mutating func expireSeconds(_ seconds: UInt32) { bytes += [0xfd] + Self.littleEndian(UInt64(seconds), 4) }
    mutating func idle(_ seconds: UInt64) { bytes += [0xf8] + Self.length(seconds) }
    mutating func frequency(_ value: UInt8) { bytes += [0xf9, value] }

    /// Module aux data ("before/after RDB"), a module value of one integer and one string.
    mutating func moduleAux(moduleID: UInt64) {
        bytes += [0xf7] + Self.length(moduleID, .sixtyFourBit) + Self.length(2) + Self.length(1) + Self.moduleValue()
    }

    static func moduleValue() -> [UInt8] {
        length(2) + length(77) + length(5) + string(.text("module-state")) + length(4) + littleEndian(0x4009_21fb_5444_2d18, 8) + length(0)
    }

    // Keys, one per value type Cairn must skip.
    mutating func string(_ key: String, _ value: RDBString, _ form: LengthForm = .shortest) {
        bytes += [0] + Self.string(.text(key)) + Self.string(value, form)
    }

    mutating func list(_ key: String, _ items: [String]) {
        bytes += [1] + Self.string(.text(key)) + Self.length(UInt64(items.count)) + items.flatMap { Self.string(.text($0)) }
    }

    mutating func set(_ key: String, _ members: [String]) {
        bytes += [2] + Self.string(.text(key)) + Self.length(UInt64(members.count)) + members.flatMap { Self.string(.text($0)) }
    }

    /// Type 3: scores as text with a one-byte length, or 253 (NaN), 254 (+inf), 255 (-inf).
    mutating func sortedSetWithTextScores(_ key: String, _ members: [(String, String)]) {
        bytes += [3] + Self.string(.text(key)) + Self.length(UInt64(members.count))
        for (member, score) in members {
            bytes += Self.string(.text(member))
            switch score {
            case "nan": bytes.append(253)
            case "inf": bytes.append(254)
            case "-inf": bytes.append(255)
            default: bytes += [UInt8(score.utf8.count)] + Array(score.utf8)
            }
        }
    }

    mutating func hash(_ key: String, _ fields: [(String, String)]) {
        bytes += [4] + Self.string(.text(key)) + Self.length(UInt64(fields.count))
        for (field, value) in fields { bytes += Self.string(.text(field)) + Self.string(.text(value)) }
    }

    /// Type 5: binary double scores.
    mutating func sortedSet(_ key: String, _ members: [(String, Double)]) {
        bytes += [5] + Self.string(.text(key)) + Self.length(UInt64(members.count))
        for (member, score) in members { bytes += Self.string(.text(member)) + Self.littleEndian(score.bitPattern, 8) }
    }

    /// Types whose value is one opaque string (ziplist, intset, listpack encodings: 9–13, 16, 17, 20).
    mutating func blob(type: UInt8, _ key: String, _ payload: [UInt8]) {
        bytes += [type] + Self.string(.text(key)) + Self.string(.raw(payload))
    }

    /// Type 18: quicklist of listpack nodes (container 2 = packed, 1 = plain).
    mutating func quicklist(_ key: String, _ nodes: [[UInt8]]) {
        bytes += [18] + Self.string(.text(key)) + Self.length(UInt64(nodes.count))
        for (index, node) in nodes.enumerated() { bytes += Self.length(index % 2 == 0 ? 2 : 1) + Self.string(.raw(node)) }
    }

    /// Type 21 (7.2 streams) with one listpack node, one group with one pending entry and one consumer.
    mutating func stream(_ key: String) {
        bytes += [21] + Self.string(.text(key))
        bytes += Self.length(1) + Self.string(.raw([UInt8](repeating: 1, count: 16))) + Self.string(.raw(Array("listpack".utf8)))
        bytes += Self.length(3) + Self.length(1_700_000_000_000) + Self.length(2)             // length, last id
        bytes += Self.length(1_700_000_000_000) + Self.length(0) + Self.length(0) + Self.length(0) + Self.length(3)
        bytes += Self.length(1) + Self.string(.text("group")) + Self.length(1_700_000_000_000) + Self.length(1) + Self.length(2)
        bytes += Self.length(1) + [UInt8](repeating: 7, count: 16) + Self.littleEndian(1_700_000_000_500, 8) + Self.length(1)
        bytes += Self.length(1) + Self.string(.text("worker")) + Self.littleEndian(1, 8) + Self.littleEndian(2, 8)
        bytes += Self.length(1) + [UInt8](repeating: 7, count: 16)
    }

    /// Type 7: a module value.
    mutating func module(_ key: String) {
        bytes += [7] + Self.string(.text(key)) + Self.length(0x1234_5678_9abc, .sixtyFourBit) + Self.moduleValue()
    }

    enum Trailer { case checksum, zero, none }

    /// EOF, then the CRC64 trailer (versions ≥ 5) over every byte before it.
    func finish(_ trailer: Trailer? = nil) -> [UInt8] {
        var out = bytes + [0xff]
        switch trailer ?? (version >= 5 ? .checksum : .none) {
        case .checksum: out += Self.littleEndian(CRC64Jones.checksum(out), 8)
        case .zero: out += [UInt8](repeating: 0, count: 8)
        case .none: break
        }
        return out
    }
}
