@testable import CairnRepository
import CairnCodec
import CairnCore
import Testing

/// Pack headers and index objects come from the store, which may hold damaged or hostile bytes:
/// a field no writer produces is refused with an error, never trusted into a trap later.
@Suite("Pack headers and index objects")
struct PackFormatTests {
    static let pack = PackID(Hash256(w0: 9, w1: 9, w2: 9, w3: 9))
    static let index = IndexID(Hash256(w0: 8, w1: 8, w2: 8, w3: 8))

    /// One format-2 entry, field by field as `PackFormat.encodeEntry` writes it.
    static func entry(compression: CompressionAlgorithm = .none, offset: UInt64 = 0, stored: UInt32 = 40, raw: UInt32 = 11,
                      frameOffset: UInt32 = 0) -> [UInt8] {
        var writer = ByteWriter()
        writer.u8(BlobKind.data.rawValue)
        writer.u8(compression.rawValue)
        writer.hash(Hash256(w0: 1, w1: 2, w2: 3, w3: 4))
        writer.u64(offset)
        writer.u32(stored)
        writer.u32(raw)
        writer.u32(frameOffset)
        return writer.bytes
    }

    static func header(_ entry: [UInt8]) -> [UInt8] {
        var writer = ByteWriter()
        writer.raw(Array("CPK2".utf8))
        writer.u32(1)
        writer.raw(entry)
        return writer.bytes
    }

    static func indexObject(packSize: UInt64 = 4096, _ entry: [UInt8]) -> [UInt8] {
        var writer = ByteWriter()
        writer.raw(Array("CIX2".utf8))
        writer.u32(1)
        writer.hash(pack.hash)
        writer.u64(packSize)
        writer.u32(1)
        writer.raw(entry)
        return writer.bytes
    }

    @Test func anEntryAsWrittenDecodes() throws {
        let entries = try PackFormat.decodeHeader(Self.header(Self.entry(offset: 7)), pack: Self.pack)
        #expect(entries.map(\.offset) == [7])
        #expect(entries.map(\.storedLength) == [40])
        let packs = try IndexObject.decode(Self.indexObject(Self.entry(offset: 7)), id: Self.index)
        #expect(packs.map(\.size) == [4096])
        #expect(packs.first?.entries == entries)
        // Compressed, a frame may decode to far more than it stores.
        let framed = try PackFormat.decodeHeader(Self.header(Self.entry(compression: .zstd, stored: 40, raw: 1 << 20, frameOffset: 3 << 20)),
                                                 pack: Self.pack)
        #expect(framed.map(\.rawLength) == [1 << 20])
    }

    /// An offset past Int64 trapped while decoding; a stored length past Int32 came out negative
    /// and trapped where a reader sliced the blob.
    @Test(arguments: [(UInt64(1) << 63, 40), (UInt64.max, 40), (0, UInt32(1) << 31), (0, UInt32.max)] as [(UInt64, UInt32)])
    func anOffsetOrStoredLengthWithTheTopBitSetIsRefused(offset: UInt64, stored: UInt32) {
        let entry = Self.entry(offset: offset, stored: stored)
        for decode in [{ _ = try PackFormat.decodeHeader(Self.header(entry), pack: Self.pack) },
                       { _ = try IndexObject.decode(Self.indexObject(entry), id: Self.index) }] {
            let error = #expect(throws: RepositoryError.self) { try decode() }
            #expect(error?.category == .integrity)
            #expect(error?.message.contains("impossible length or place") == true, "\(error?.message ?? "")")
        }
    }

    /// Any key holder of a shared repository writes index objects: an entry near Int64.max made a
    /// restore trap where it added the offset and the length. Every blob lies inside its pack.
    @Test(arguments: [(UInt64(Int64.max) - 10, 4096), (4057, 4096), (0, 39)] as [(UInt64, UInt64)])
    func anIndexEntryPastItsPackIsRefused(offset: UInt64, packSize: UInt64) {
        let error = #expect(throws: RepositoryError.self) {
            _ = try IndexObject.decode(Self.indexObject(packSize: packSize, Self.entry(offset: offset, stored: 40)), id: Self.index)
        }
        #expect(error?.category == .integrity)
        #expect(error?.message.contains("past the end of pack") == true, "\(error?.message ?? "")")
        #expect(throws: Never.self) {
            _ = try IndexObject.decode(Self.indexObject(packSize: 4096, Self.entry(offset: 4056, stored: 40)), id: Self.index)
        }
    }

    /// A raw length of 2 GiB made a restore allocate and zero 2 GiB for the chunk before it found
    /// that the chunk does not fit its blob. An uncompressed chunk lies inside its stored blob, and
    /// a compressed one inside a frame readers decode (at most `BlobReader.maximumFrameBytes`).
    @Test(arguments: [(.none, 41, 0), (.none, 30, 20), (.zstd, UInt32(Int32.max), 0), (.zstd, 256 << 20, 1)]
          as [(CompressionAlgorithm, UInt32, UInt32)])
    func aRawLengthNoBlobCanHoldIsRefused(compression: CompressionAlgorithm, raw: UInt32, frameOffset: UInt32) {
        let entry = Self.entry(compression: compression, stored: 40, raw: raw, frameOffset: frameOffset)
        for decode in [{ _ = try PackFormat.decodeHeader(Self.header(entry), pack: Self.pack) },
                       { _ = try IndexObject.decode(Self.indexObject(entry), id: Self.index) }] {
            let error = #expect(throws: RepositoryError.self) { try decode() }
            #expect(error?.category == .integrity)
            #expect(error?.message.contains("\(raw) bytes at \(frameOffset)") == true, "\(error?.message ?? "")")
        }
    }
}
