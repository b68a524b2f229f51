import CairnCore

/// Appends little-endian integers, varints and byte strings to a growing buffer.
struct ByteWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    mutating func u8(_ value: UInt8) { bytes.append(value) }

    mutating func u32(_ value: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    mutating func u64(_ value: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    mutating func varint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    /// Zig-zag encoded signed varint.
    mutating func svarint(_ value: Int64) {
        varint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    mutating func bytes(_ value: [UInt8]) {
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    mutating func hash(_ value: Hash256) { value.append(to: &bytes) }

    mutating func raw(_ value: [UInt8]) { bytes.append(contentsOf: value) }
}

/// Reads what `ByteWriter` wrote; every read checks bounds and throws on truncation.
struct ByteReader {
    let bytes: [UInt8]
    var position: Int
    let what: String
    /// Set when a read failed because the bytes ended: at least how many more it needed (a
    /// varint may need more still). Nil when a read failed because what was there is malformed.
    /// A reader of a stream cut into blobs (`TreeReader`) loads another blob only in the first case.
    private(set) var shortfall: Int?

    init(_ bytes: [UInt8], what: String, position: Int = 0) {
        self.bytes = bytes
        self.position = position
        self.what = what
    }

    var remaining: Int { bytes.count - position }
    var isAtEnd: Bool { position >= bytes.count }

    private mutating func truncated(needing count: Int) -> RepositoryError {
        shortfall = count - remaining
        return RepositoryError(.integrity, "\(what) is truncated or malformed at byte \(position)")
    }

    private func malformed() -> RepositoryError {
        RepositoryError(.integrity, "\(what) is malformed at byte \(position)")
    }

    mutating func u8() throws -> UInt8 {
        guard position < bytes.count else { throw truncated(needing: 1) }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func u32() throws -> UInt32 {
        guard remaining >= 4 else { throw truncated(needing: 4) }
        var value: UInt32 = 0
        for index in 0..<4 { value |= UInt32(bytes[position + index]) << UInt32(8 * index) }
        position += 4
        return value
    }

    mutating func u64() throws -> UInt64 {
        guard remaining >= 8 else { throw truncated(needing: 8) }
        var value: UInt64 = 0
        for index in 0..<8 { value |= UInt64(bytes[position + index]) << UInt64(8 * index) }
        position += 8
        return value
    }

    mutating func varint() throws -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try u8()
            guard shift < 64 else { throw malformed() }
            value |= UInt64(byte & 0x7f) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
    }

    mutating func svarint() throws -> Int64 {
        let raw = try varint()
        return Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
    }

    mutating func lengthPrefixedBytes() throws -> [UInt8] {
        let count = try varint()
        guard count <= UInt64(remaining) else { throw truncated(needing: Int(clamping: count)) }
        return try raw(Int(count))
    }

    mutating func raw(_ count: Int) throws -> [UInt8] {
        guard count <= remaining else { throw truncated(needing: count) }
        defer { position += count }
        return Array(bytes[position..<(position + count)])
    }

    mutating func hash() throws -> Hash256 {
        guard remaining >= 32 else { throw truncated(needing: 32) }
        defer { position += 32 }
        return bytes.withUnsafeBytes { Hash256(bytes: UnsafeRawBufferPointer(rebasing: $0[position..<(position + 32)])) }
    }
}
