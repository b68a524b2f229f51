import CCRC64Fold

/// CRC-64 with the "Jones" coefficients, reflected, init 0, no final xor: Redis's RDB and DUMP
/// checksum. `CRC64Jones.checksum("123456789") == 0xe9c6d914c4b8d9ca`.
///
/// Runs of 64 bytes or more are folded with carry-less multiplication where the CPU has it
/// (CCRC64Fold: 15 GiB/s on one core of the benchmark machine against 2.2 GiB/s for slice-by-8,
/// which was 8% of a first backup's CPU); slice-by-8 tables do the rest and every other CPU.
public struct CRC64Jones: Sendable {
    /// Eight 256-entry tables for slice-by-8, back to back in one allocation that lives for the
    /// process: read through a raw pointer, the inner loop has no bounds checks and no array
    /// retains (as nested arrays it ran at ~0.9 GiB/s and showed up in nightly-backup profiles).
    nonisolated(unsafe) private static let tables: UnsafePointer<UInt64> = {
        let polynomial: UInt64 = 0x95ac_9329_ac4b_c9b5
        let tables = UnsafeMutablePointer<UInt64>.allocate(capacity: 8 * 256)
        for index in 0..<256 {
            var crc = UInt64(index)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ polynomial : crc >> 1 }
            tables[index] = crc
        }
        for level in 1..<8 {
            for index in 0..<256 {
                let previous = tables[(level - 1) * 256 + index]
                tables[level * 256 + index] = tables[Int(previous & 0xff)] ^ (previous >> 8)
            }
        }
        return UnsafePointer(tables)
    }()

    /// Whether `update` folds long runs with PCLMULQDQ (x86-64 with PCLMULQDQ and SSE4.1).
    public static let folds = cairn_crc64_fold_available() != 0

    public private(set) var value: UInt64 = 0

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress else { return }
        if bytes.count >= 64 && Self.folds {
            let blocks = bytes.count / 16
            var state: (UInt64, UInt64) = (0, 0)
            withUnsafeMutableBytes(of: &state) { out in
                cairn_crc64_fold(value, base.assumingMemoryBound(to: UInt8.self), blocks,
                                 out.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
            value = withUnsafeBytes(of: &state) { Self.tableUpdate(0, $0.baseAddress!, count: 16) }
            value = Self.tableUpdate(value, base + blocks * 16, count: bytes.count - blocks * 16)
        } else {
            value = Self.tableUpdate(value, base, count: bytes.count)
        }
    }

    /// The CRC without folding (slice-by-8), for every CPU; `update` uses it for short runs.
    public mutating func updateWithTables(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress else { return }
        value = Self.tableUpdate(value, base, count: bytes.count)
    }

    private static func tableUpdate(_ start: UInt64, _ base: UnsafeRawPointer, count: Int) -> UInt64 {
        var crc = start
        var index = 0
        let t0 = Self.tables, t1 = t0 + 256, t2 = t0 + 512, t3 = t0 + 768
        let t4 = t0 + 1024, t5 = t0 + 1280, t6 = t0 + 1536, t7 = t0 + 1792
        while index + 8 <= count {
            let word = crc ^ UInt64(littleEndian: base.loadUnaligned(fromByteOffset: index, as: UInt64.self))
            crc = t7[Int(word & 0xff)] ^ t6[Int((word >> 8) & 0xff)] ^ t5[Int((word >> 16) & 0xff)]
                ^ t4[Int((word >> 24) & 0xff)] ^ t3[Int((word >> 32) & 0xff)] ^ t2[Int((word >> 40) & 0xff)]
                ^ t1[Int((word >> 48) & 0xff)] ^ t0[Int(word >> 56)]
            index += 8
        }
        while index < count {
            crc = t0[Int((crc ^ UInt64(base.load(fromByteOffset: index, as: UInt8.self))) & 0xff)] ^ (crc >> 8)
            index += 1
        }
        return crc
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt64 {
        var crc = CRC64Jones()
        bytes.withUnsafeBytes { crc.update($0) }
        return crc.value
    }

    public static func checksum(_ text: String) -> UInt64 { checksum(Array(text.utf8)) }
}
