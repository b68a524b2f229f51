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

    @Test func byteCountsReadLikeSizes() {
        #expect(ByteCount(512).description == "512 B")
        #expect(ByteCount(1536).description == "1.5 KiB")
        #expect(ByteCount(Int64(3) << 30).description == "3.0 GiB")
    }
}
