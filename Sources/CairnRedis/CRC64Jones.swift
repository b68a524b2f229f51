/// CRC-64 with the "Jones" coefficients, reflected, init 0, no final xor: Redis's RDB and DUMP
/// checksum. `CRC64Jones.checksum("123456789") == 0xe9c6d914c4b8d9ca`.
public struct CRC64Jones: Sendable {
    /// Eight 256-entry tables for slice-by-8.
    private static let tables: [[UInt64]] = {
        let polynomial: UInt64 = 0x95ac_9329_ac4b_c9b5
        var first = [UInt64](repeating: 0, count: 256)
        for index in 0..<256 {
            var crc = UInt64(index)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ polynomial : crc >> 1 }
            first[index] = crc
        }
        var tables = [first]
        for level in 1..<8 {
            tables.append((0..<256).map { index in
                let previous = tables[level - 1][index]
                return first[Int(previous & 0xff)] ^ (previous >> 8)
            })
        }
        return tables
    }()

    public private(set) var value: UInt64 = 0

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var crc = value
        var index = 0
        let count = bytes.count
        Self.tables.withUnsafeBufferPointer { tables in
            let t0 = tables[0], t1 = tables[1], t2 = tables[2], t3 = tables[3]
            let t4 = tables[4], t5 = tables[5], t6 = tables[6], t7 = tables[7]
            while index + 8 <= count {
                let word = crc ^ UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self))
                crc = t7[Int(word & 0xff)] ^ t6[Int((word >> 8) & 0xff)] ^ t5[Int((word >> 16) & 0xff)]
                    ^ t4[Int((word >> 24) & 0xff)] ^ t3[Int((word >> 32) & 0xff)] ^ t2[Int((word >> 40) & 0xff)]
                    ^ t1[Int((word >> 48) & 0xff)] ^ t0[Int(word >> 56)]
                index += 8
            }
            while index < count {
                crc = t0[Int((crc ^ UInt64(bytes[index])) & 0xff)] ^ (crc >> 8)
                index += 1
            }
        }
        value = crc
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt64 {
        var crc = CRC64Jones()
        bytes.withUnsafeBytes { crc.update($0) }
        return crc.value
    }

    public static func checksum(_ text: String) -> UInt64 { checksum(Array(text.utf8)) }
}
