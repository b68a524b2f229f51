@testable import CairnRepository
import CairnBackends
import CairnCodec
import CairnCore
import Foundation
import Testing

/// A pack written with direct I/O (whole blocks from a staging buffer, the last one padded and
/// the file truncated) must be byte for byte the pack written through the page cache.
@Suite("PackWriter")
struct PackWriterTests {
    @Test(arguments: [false, true])
    func packBytesDoNotDependOnHowTheyAreWritten(_ directIO: Bool) throws {
        let directory = FileManager.default.temporaryDirectory.path + "/cairn-packwriter-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Blobs smaller than a block, across block and staging-buffer boundaries, and larger than
        // the staging buffer.
        let sizes = [1, 4095, 4096, 4097, 100_000, PackWriter.stagingBytes - 3, 7, 2 * PackWriter.stagingBytes + 5, 33]
        var expected: [UInt8] = []
        // The MD5 for remote stores is asked for on one of the two writes.
        let writer = try PackWriter(spoolDirectory: directory, layout: .v2, directIO: directIO, md5: !directIO)
        for (index, size) in sizes.enumerated() {
            let blob = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) }
            expected += blob
            let id = ChunkID(Hash256(w0: UInt64(index), w1: 1, w2: 2, w3: 3))
            try writer.append(blob, chunks: [(id, size, 0)], kind: .data, compression: .none)
        }
        let (record, path, digests) = try writer.seal(envelope: Envelope(encryptionKey: nil))
        let written = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(written.count == Int(record.size))
        #expect(Array(written.prefix(expected.count)) == expected)
        #expect(record.id.hash == SHA256Digest.hash(written))
        #expect(record.entries.map(\.offset) == sizes.indices.map { Int64(sizes.prefix($0).reduce(0, +)) })
        #expect(written.count % 4096 != 0, "the test should end on a partial block")
        if directIO {
            #expect(digests == nil)
        } else {
            // What the upload sends as Swift's ETag and S3's Content-MD5 and payload hash: the
            // digests of the file's bytes, computed while writing.
            var md5 = StreamingMD5()
            written.withUnsafeBytes { md5.update($0) }
            #expect(digests == ContentDigests(md5: md5.finalize(), sha256: record.id.hash.bytes, size: Int64(written.count)))
        }
    }
}
