import CairnCore

/// Minimum, average and maximum chunk sizes of the content-defined chunker.
public struct ChunkerParameters: Sendable, Codable, Equatable {
    public var minimumSize: Int
    public var averageSize: Int
    public var maximumSize: Int

    public init(minimumSize: Int, averageSize: Int, maximumSize: Int) {
        precondition(minimumSize > 0 && minimumSize < averageSize && averageSize < maximumSize, "chunker sizes must grow")
        precondition(averageSize & (averageSize - 1) == 0, "the average chunk size must be a power of two")
        self.minimumSize = minimumSize
        self.averageSize = averageSize
        self.maximumSize = maximumSize
    }

    /// 128 KiB / 512 KiB / 2 MiB: small enough that a day's AOF tail or a changed region of a
    /// dump costs a few chunks, large enough that per-chunk costs stay far below the data.
    public static let standard = ChunkerParameters(minimumSize: 128 << 10, averageSize: 512 << 10, maximumSize: 2 << 20)
}

/// FastCDC (Xia et al., 2016): a gear rolling hash with normalized chunking (level 2). The gear
/// table is derived from a secret seed, so cut points do not reveal content fingerprints.
/// Immutable and `Sendable`; one instance serves every thread.
public struct ContentDefinedChunker: Sendable {
    public let parameters: ChunkerParameters
    private let gear: [UInt64]
    /// Stricter mask (more one bits) before the average size, looser after it.
    private let strictMask: UInt64
    private let looseMask: UInt64

    public init(parameters: ChunkerParameters, seed: [UInt8]) {
        precondition(seed.count == 32, "the chunker seed is 32 bytes")
        self.parameters = parameters
        // 256 pseudo-random words from the seed (SplitMix64 over the seed's four words).
        let words = seed.withUnsafeBytes { raw in (0..<4).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self) } }
        var state = words[0] ^ words[1].rotated(13) ^ words[2].rotated(29) ^ words[3].rotated(47)
        var table = [UInt64](repeating: 0, count: 256)
        for index in 0..<256 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var mixed = state
            mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
            mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
            table[index] = mixed ^ (mixed >> 31) ^ words[index % 4]
        }
        gear = table
        let bits = parameters.averageSize.trailingZeroBitCount
        // The hash's top bits are the best mixed; masks select them.
        strictMask = Self.topBits(bits + 2)
        looseMask = Self.topBits(max(1, bits - 2))
    }

    private static func topBits(_ count: Int) -> UInt64 {
        count >= 64 ? ~0 : ~(UInt64.max >> UInt64(count))
    }

    /// Length of the next chunk at the start of `data`. The caller passes at least `maximumSize`
    /// bytes unless it is at the end of the input. Returns a value in 1...min(data.count, maximumSize);
    /// data.count when data.count <= minimumSize.
    public func nextChunkLength(in data: UnsafeRawBufferPointer) -> Int {
        precondition(data.count > 0, "no data to chunk")
        let count = data.count
        if count <= parameters.minimumSize { return count }
        let end = min(count, parameters.maximumSize)
        let normal = min(end, parameters.averageSize)
        var hash: UInt64 = 0
        var index = parameters.minimumSize
        let bytes = data.baseAddress!.assumingMemoryBound(to: UInt8.self)
        return gear.withUnsafeBufferPointer { table -> Int in
            let gearTable = table.baseAddress!
            while index < normal {
                hash = (hash << 1) &+ gearTable[Int(bytes[index])]
                if hash & strictMask == 0 { return index + 1 }
                index += 1
            }
            while index < end {
                hash = (hash << 1) &+ gearTable[Int(bytes[index])]
                if hash & looseMask == 0 { return index + 1 }
                index += 1
            }
            return end
        }
    }
}

extension ContentDefinedChunker {
    /// A keyed 64-bit fingerprint of a few bytes (the gear table, then a final mix): record
    /// chunking decides its cut points with it, so they depend on content yet reveal nothing
    /// without the repository's key.
    public func fingerprint(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var hash: UInt64 = 0x243F_6A88_85A3_08D3
        gear.withUnsafeBufferPointer { table in
            for byte in bytes { hash = hash.rotated(7) ^ table[Int(byte)] }
        }
        hash = (hash ^ (hash >> 33)) &* 0xFF51_AFD7_ED55_8CCD
        hash = (hash ^ (hash >> 33)) &* 0xC4CE_B9FE_1A85_EC53
        return hash ^ (hash >> 33)
    }
}

extension UInt64 {
    fileprivate func rotated(_ count: UInt64) -> UInt64 { (self << count) | (self >> (64 - count)) }
}
