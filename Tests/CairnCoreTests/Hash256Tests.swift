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

    @Test func byteCountsReadLikeSizes() {
        #expect(ByteCount(512).description == "512 B")
        #expect(ByteCount(1536).description == "1.5 KiB")
        #expect(ByteCount(Int64(3) << 30).description == "3.0 GiB")
    }
}
