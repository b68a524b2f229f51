@testable import CairnRepository
import CairnBackends
import CairnCore
import Foundation
import Logging
import Testing

@Suite("TreeReader")
struct TreeReaderTests {
    /// A chunk-list group count past Int.max (a damaged or hostile tree blob) trapped converting
    /// it to Int; it is an error that names the count.
    @Test func aChunkListGroupTooLargeToCountIsAnError() throws {
        let root = FileManager.default.temporaryDirectory.path + "/cairn-treereader-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = LocalStore(root: root + "/repository")
        try store.create()
        try Repository.initialize(store: store, config: .new(encrypted: false, now: Date()), password: nil,
                                  identity: Identity(hostname: "test", username: "test", now: Date()))
        let repository = try Repository.open(store: store, password: { "" }, cacheDirectory: root + "/cache",
                                             logger: Logger(label: "test"))
        var stream = ByteWriter()
        TreeNode(kind: .file, path: Array("dump.rdb".utf8), size: 1).encode(into: &stream)
        stream.varint(UInt64.max)
        let blobs = BlobWriter(repository: repository, workers: 1)
        let tree = try stream.bytes.withUnsafeBytes { try blobs.store($0, lengths: [stream.bytes.count], kind: .tree) }
        try blobs.flush()
        blobs.close()

        let reader = TreeReader(reader: BlobReader(repository: repository, workers: 1), tree: tree)
        #expect(try reader.next()?.pathString == "dump.rdb")
        let error = #expect(throws: RepositoryError.self) { try reader.nextChunks() }
        #expect(error?.category == .integrity)
        #expect(error?.message.contains("announces a group of \(UInt64.max) ids") == true, "\(error?.message ?? "")")
    }
}
