@testable import CairnRepository
import CairnBackends
import CairnCore
import Foundation
import Logging
import Testing

@Suite("TreeReader")
struct TreeReaderTests {
    /// An unencrypted repository in a temporary directory, removed with the value.
    final class ScratchRepository {
        let root = FileManager.default.temporaryDirectory.path + "/cairn-treereader-" + UUID().uuidString
        let repository: Repository

        init() throws {
            let store = LocalStore(root: root + "/repository")
            try store.create()
            try Repository.initialize(store: store, config: .new(encrypted: false, now: Date()), password: nil,
                                      identity: Identity(hostname: "test", username: "test", now: Date()))
            repository = try Repository.open(store: store, password: { "" }, cacheDirectory: root + "/cache",
                                             logger: Logger(label: "test"))
        }

        deinit { try? FileManager.default.removeItem(atPath: root) }

        /// Stores `stream` as tree blobs of the given lengths and returns their ids.
        func storeTree(_ stream: [UInt8], lengths: [Int]) throws -> [ChunkID] {
            let blobs = BlobWriter(repository: repository, workers: 1)
            let tree = try stream.withUnsafeBytes { try blobs.store($0, lengths: lengths, kind: .tree) }
            try blobs.flush()
            blobs.close()
            return tree
        }

        func reader(_ tree: [ChunkID]) -> TreeReader {
            TreeReader(reader: BlobReader(repository: repository, workers: 1), tree: tree)
        }
    }

    /// A chunk-list group count past Int.max (a damaged or hostile tree blob) trapped converting
    /// it to Int; it is an error that names the count.
    @Test func aChunkListGroupTooLargeToCountIsAnError() throws {
        let scratch = try ScratchRepository()
        var stream = ByteWriter()
        TreeNode(kind: .file, path: Array("dump.rdb".utf8), size: 1).encode(into: &stream)
        stream.varint(UInt64.max)
        let tree = try scratch.storeTree(stream.bytes, lengths: [stream.bytes.count])

        let reader = scratch.reader(tree)
        #expect(try reader.next()?.pathString == "dump.rdb")
        let error = #expect(throws: RepositoryError.self) { try reader.nextChunks() }
        #expect(error?.category == .integrity)
        #expect(error?.message.contains("announces a group of \(UInt64.max) ids") == true, "\(error?.message ?? "")")
    }

    /// A malformed record in the first tree blob made `next` load every later blob before failing
    /// (all of a snapshot's tree in memory), and report whatever was wrong with those instead:
    /// here, blobs the index does not have. It fails at the record, reading no other blob.
    @Test func aMalformedRecordFailsBeforeLaterBlobsAreRead() throws {
        let scratch = try ScratchRepository()
        var hugePath = ByteWriter()
        hugePath.u8(TreeNode.recordMarker)
        hugePath.u8(TreeNode.Kind.file.rawValue)
        hugePath.varint(1 << 40)   // a path of a TiB
        hugePath.raw(Array("dump.rdb".utf8))
        let missing = (1...3).map { ChunkID(Hash256(w0: $0, w1: 2, w2: 3, w3: 4)) }
        for (first, expected) in [([0x00] + Array("not a record".utf8), "expected a node record at byte 0"),
                                  ([TreeNode.recordMarker, 9, 0, 0], "unknown node kind"),
                                  (hugePath.bytes, "a node record would be longer than 1 MiB")] {
            let tree = try scratch.storeTree(first, lengths: [first.count]) + missing
            let error = #expect(throws: RepositoryError.self) { try scratch.reader(tree).next() }
            #expect(error?.category == .integrity)
            #expect(error?.message.contains(expected) == true, "\(error?.message ?? "")")
        }
    }

    /// A record cut by the end of a blob is read on from the next one, however the cut falls.
    @Test func aRecordSplitAcrossBlobsIsRead() throws {
        let scratch = try ScratchRepository()
        let node = TreeNode(kind: .symlink, path: Array(String(repeating: "d/", count: 1500).utf8) + Array("link".utf8),
                            mode: 0o777, linkTarget: Array(String(repeating: "t", count: 4000).utf8))
        var stream = ByteWriter()
        node.encode(into: &stream)
        TreeNode(kind: .directory, path: Array("z".utf8)).encode(into: &stream)
        for cut in [1, 2, 3, 1000, 3500, stream.bytes.count - 1] {
            let tree = try scratch.storeTree(stream.bytes, lengths: [cut, stream.bytes.count - cut])
            let reader = scratch.reader(tree)
            #expect(try reader.next() == node, "cut at \(cut)")
            #expect(try reader.next()?.pathString == "z")
            #expect(try reader.next() == nil)
        }
    }
}
