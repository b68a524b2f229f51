@testable import CairnEngine
import CairnBackends
import CairnCodec
import CairnCore
import CairnRepository
import CairnTestSupport
import Foundation
import Glibc
import Logging
import Testing

/// The restore writer's batch layout, below the CLI: with batches far smaller than the default
/// 8 MiB and chunks of a few KiB, every file crosses many batch boundaries at every offset modulo
/// the 4 KiB direct-I/O block, so the writer's carried tails, its zero-block holes, the padded
/// last block, chunks larger than a batch, and chunks copied back from an earlier file are all
/// exercised, with direct I/O and through the page cache.
@Suite("Restore batches")
struct RestoreBatchTests {
    /// Batch sizes: one block; a size that is no multiple of the block; a size below the largest
    /// chunk (4 KiB), so some batches hold a single chunk larger than the batch; a prime.
    static let batchSizes = [4096, 5000, 3000, 12_289]

    @Test(arguments: [true, false], batchSizes)
    func everyFileComesBackByteForByte(directIO: Bool, batchBytes: Int) throws {
        let fixture = try RestoreFixture()
        let originals = try fixture.writeSources()
        let restored = try fixture.restoreFileByFile(directIO: directIO, batchBytes: batchBytes)
        for (name, bytes) in originals {
            let back = try #require(readFile(restored.target + "/" + name), "\(name) was not restored")
            #expect(back.count == bytes.count, "\(name): \(back.count) bytes, expected \(bytes.count)")
            let same = back == bytes
            #expect(same, "\(name) differs from the original from byte \(firstDifference(back, bytes))")
        }
        // The copy of `a-mixed` comes after it and holds nothing else: all of it is copied back
        // from the restored `a-mixed` rather than decoded (kernel copies without direct I/O, reads
        // through the read-back window with it), whatever the batches.
        #expect(restored.result.copiedBytes >= Int64(originals["b-mixed-copy"]!.count))
        if directIO {
            #expect(restored.result.directIOFiles == originals.count)
        }
    }

    @Test(arguments: [true, false])
    func zeroBlocksBecomeHoles(directIO: Bool) throws {
        let fixture = try RestoreFixture()
        let originals = try fixture.writeSources()
        let restored = try fixture.restoreFileByFile(directIO: directIO, batchBytes: 5000)
        let path = restored.target + "/zeros-inside"
        var info = Glibc.stat()
        try #require(lstat(path, &info) == 0)
        let size = originals["zeros-inside"]!.count
        #expect(Int(info.st_size) == size)
        // 160 KiB of the file are zeros; at least 128 KiB of them must be left unallocated.
        #expect(Int(info.st_blocks) * 512 <= size - (128 << 10), "\(info.st_blocks * 512) bytes allocated of \(size)")
    }

    /// Every file of at least one byte is restored side by side with the next (the way a dump.rdb
    /// and an AOF base are), sharing decoded chunks through the cache: `a-mixed` with its copy,
    /// and so on. The seventh, `zeros-inside`, is still waiting for a partner when the hard link
    /// to it comes, and must be written before the link is made.
    @Test(arguments: [true, false])
    func sideBySideRestoresMatchTheOriginals(directIO: Bool) throws {
        let fixture = try RestoreFixture()
        let originals = try fixture.writeSources()
        try fixture.link("zeros-inside", as: "zz-link")
        let snapshot = try fixture.backUp()
        var request = RestoreRequest(target: fixture.root + "/side-by-side")
        request.restoreOwnership = false
        request.directIO = directIO
        request.sideBySideMinimumBytes = 1
        let result = try RestoreJob(repository: fixture.repository, snapshot: snapshot, request: request,
                                    logger: Logger(label: "test")).run()
        #expect(result.failures.isEmpty)
        for (name, bytes) in originals {
            let same = readFile(request.target + "/" + name) == bytes
            #expect(same, "\(name) differs")
        }
        let linked = readFile(request.target + "/zz-link") == originals["zeros-inside"]
        #expect(linked, "the hard link's content differs from zeros-inside")
        #expect(result.links == 1)
        // Each chunk of `a-mixed` and its copy is decoded by one of the two and copied by the other.
        #expect(result.sharedBytes >= Int64(originals["a-mixed"]!.count))
    }
}

/// A repository with small chunks (256 B to 4 KiB) in a scratch directory, and the files to back up.
final class RestoreFixture {
    let root: String
    let repository: Repository
    private var sources: String { root + "/source" }

    init() throws {
        var template = Array((FileManager.default.temporaryDirectory.path + "/cairn-engine-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw EngineError(.failure, "mkdtemp failed") }
        root = String(cString: made)
        let store = LocalStore(root: root + "/repository")
        try store.create()
        let identity = Identity(hostname: "test", username: "test", now: Date())
        let chunker = ChunkerParameters(minimumSize: 256, averageSize: 1024, maximumSize: 4096)
        try Repository.initialize(store: store, config: .new(encrypted: true, chunker: chunker, now: Date()), password: "pw",
                                  scrypt: ScryptParameters(logN: 10, r: 8, p: 1), identity: identity)
        repository = try Repository.open(store: store, password: { "pw" }, cacheDirectory: root + "/cache",
                                         logger: Logger(label: "test"))
        mkdir(sources, 0o700)
    }

    deinit {
        _ = try? FileManager.default.removeItem(atPath: root)
    }

    /// Files of awkward sizes; names sort in the order the restore meets them.
    func writeSources() throws -> [String: [UInt8]] {
        var random = SplitMix64(seed: 0x5eed)
        let mixed = random.bytes(200_003)
        var zeros = random.bytes(30_001)
        zeros += [UInt8](repeating: 0, count: 160 << 10)
        zeros += random.bytes(20_000)
        let files: [String: [UInt8]] = [
            "empty": [],
            "one-byte": [42],
            "one-block-less-one": random.bytes(4095),
            "one-block": random.bytes(4096),
            "one-block-and-one": random.bytes(4097),
            "a-mixed": mixed,
            // After `a-mixed`, and made of it: every chunk is copied back from the restored `a-mixed`,
            // or, side by side with it, from the chunks it decoded.
            "b-mixed-copy": mixed,
            "zeros-inside": zeros,
        ]
        for (name, bytes) in files {
            guard FileManager.default.createFile(atPath: sources + "/" + name, contents: Data(bytes)) else {
                throw EngineError(.failure, "cannot write \(name)")
            }
        }
        return files
    }

    func link(_ existing: String, as name: String) throws {
        guard Glibc.link(sources + "/" + existing, sources + "/" + name) == 0 else {
            throw EngineError(.failure, "cannot link \(name)")
        }
    }

    func backUp() throws -> Snapshot {
        let request = BackupRequest(paths: [sources], identity: Identity(hostname: "test", username: "test", now: Date()),
                                    workingDirectory: root)
        let result = try BackupJob(repository: repository, request: request, logger: Logger(label: "test")).run()
        return try repository.loadSnapshot(result.snapshot)
    }

    /// Backs the sources up and restores each file on its own through `RestoreWriter` with
    /// batches of `batchBytes`; files land directly under the returned target.
    func restoreFileByFile(directIO: Bool, batchBytes: Int) throws -> (target: String, result: RestoreResult) {
        let snapshot = try backUp()
        let target = root + "/restore-\(directIO ? "direct" : "cached")-\(batchBytes)"
        mkdir(target, 0o700)
        var request = RestoreRequest(target: target)
        request.restoreOwnership = false
        request.directIO = directIO
        let writer = RestoreWriter(target: SystemPath(target), request: request, repository: repository, progress: WorkProgress())
        let tree = try TreeReader(repository: repository, snapshot: snapshot.document)
        var result = RestoreResult()
        while let node = try tree.next() {
            guard node.kind == .file, let name = node.path.split(separator: UInt8(ascii: "/")).last else { continue }
            result.bytes += try writer.file(SystemPath(target).appending(Array(name)), node: node, chunks: tree,
                                            batchBytes: batchBytes, result: &result)
        }
        return (target, result)
    }
}

func readFile(_ path: String) -> [UInt8]? {
    FileManager.default.contents(atPath: path).map { [UInt8]($0) }
}

func firstDifference(_ a: [UInt8], _ b: [UInt8]) -> Int {
    zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count)
}
