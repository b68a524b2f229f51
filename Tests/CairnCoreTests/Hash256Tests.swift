import CairnCore
import Testing

@Suite struct Hash256Tests {
    @Test func hexRoundTripsAndOrdersLikeBytes() throws {
        let bytes = (0..<32).map { UInt8($0 * 7 & 0xff) }
        let hash = Hash256(bytes)
        #expect(hash.bytes == bytes)
        #expect(Hash256(hex: hash.hex) == hash)
        #expect(Hash256(hex: "zz") == nil)
        var larger = bytes
        larger[31] &+= 1
        #expect(hash < Hash256(larger))
        #expect(ChunkID(hash).short == String(hash.hex.prefix(8)))
    }

    @Test func writesAndAppendsItsBytesInPlace() {
        let bytes = (0..<32).map { UInt8(255 - $0 * 5) }
        let hash = Hash256(bytes)
        var buffer = [UInt8](repeating: 0xEE, count: 40)
        hash.write(to: &buffer, at: 4)
        #expect(buffer == [UInt8](repeating: 0xEE, count: 4) + bytes + [UInt8](repeating: 0xEE, count: 4))
        var appended: [UInt8] = [1, 2]
        hash.append(to: &appended)
        #expect(appended == [1, 2] + bytes)
        #expect(hash.withBytes { Array($0) } == bytes)
    }

    /// Dictionaries and sets of ids hash them without `Hasher` (`_rawHashValue(seed:)`): the
    /// typed ids must use the digest's function, not a synthesized one through `Hasher`, and the
    /// result must still spread ids made by hand (which differ in one word) over the buckets.
    @Test func tablesHashIdsByTheirDigestSpreadOverBuckets() {
        let hash = Hash256(w0: 1, w1: 2, w2: 3, w3: 4)
        for seed in [0, 1, -1, 0x5eed] {
            #expect(ChunkID(hash)._rawHashValue(seed: seed) == hash._rawHashValue(seed: seed))
            #expect(PackID(hash)._rawHashValue(seed: seed) == hash._rawHashValue(seed: seed))
        }
        #expect(Set((0..<64).map { hash._rawHashValue(seed: $0) }).count == 64, "the table's seed changes the hash")
        let oneWordApart = [Hash256(w0: 9, w1: 2, w2: 3, w3: 4), Hash256(w0: 1, w1: 9, w2: 3, w3: 4),
                            Hash256(w0: 1, w1: 2, w2: 9, w3: 4), Hash256(w0: 1, w1: 2, w2: 3, w3: 9)]
        #expect(Set(([hash] + oneWordApart).map { $0._rawHashValue(seed: 0) }).count == 5)

        // 2^16 ids counting up in their last word, into 2^16 buckets by the low bits as Dictionary
        // does: random hashes fill 1 - 1/e = 63.2% of them.
        let count = 1 << 16
        let ids = (0..<count).map { ChunkID(Hash256(w0: 0, w1: 0, w2: 0, w3: UInt64($0))) }
        let buckets = Set(ids.map { $0._rawHashValue(seed: 0) & (count - 1) })
        #expect(buckets.count > count * 60 / 100, "\(buckets.count) of \(count) buckets used")
        var table: [ChunkID: Int] = [:]
        for (index, id) in ids.enumerated() { table[id] = index }
        #expect(table.count == count)
        #expect(ids.enumerated().allSatisfy { table[$1] == $0 })
    }

    @Test func byteCountsReadLikeSizes() {
        #expect(ByteCount(512).description == "512 B")
        #expect(ByteCount(1536).description == "1.5 KiB")
        #expect(ByteCount(Int64(3) << 30).description == "3.0 GiB")
    }
}
