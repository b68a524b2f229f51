@testable import CairnRepository
import CairnBackends
import CairnCatalog
import CairnCodec
import CairnCore
import CairnTestSupport
import Foundation
import Logging
import Testing

/// How `BlobReader` reads a restore's chunks from the store: the right bytes, with few calls. A
/// night restored from seven nights' packs wants chunks spread over each pack, in file order; one
/// read or prefetch per chunk made 39 k reads and 126 k prefetches for a 2 GB night.
@Suite("BlobReader reads")
struct BlobReaderReadsTests {
    /// A local store that records ranged reads and prefetches.
    final class RecordingStore: WrappedLocalStore, @unchecked Sendable {
        private let lock = NSLock()
        private var reads: [(offset: Int64, length: Int)] = []
        private var prefetches: [(offset: Int64, length: Int)] = []
        private let concurrency: Int

        /// 1 like a local store; more like a remote one, which is told exactly the runs read.
        override var readConcurrency: Int { concurrency }

        init(root: String, readConcurrency: Int = 1) {
            concurrency = readConcurrency
            super.init(root: root)
        }

        var rangedReads: [(offset: Int64, length: Int)] { lock.withLock { reads } }
        var prefetched: [(offset: Int64, length: Int)] { lock.withLock { prefetches } }
        func forget() { lock.withLock { reads = []; prefetches = [] } }

        override func get(_ key: ObjectKey, offset: Int64, length: Int) throws -> [UInt8] {
            if key.kind == .data { lock.withLock { reads.append((offset, length)) } }
            return try inner.get(key, offset: offset, length: length)
        }
        override func prefetch(_ key: ObjectKey, offset: Int64, length: Int) {
            lock.withLock { prefetches.append((offset, length)) }
        }
    }

    /// One pack of alternating large (40 KiB, a frame each) and small (1 KiB) chunks of random
    /// bytes, so the large ones lie about 1 KiB apart.
    final class Scratch {
        let root = FileManager.default.temporaryDirectory.path + "/cairn-blobreader-" + UUID().uuidString
        let store: RecordingStore
        let repository: Repository
        var large: [ChunkID] = [], small: [ChunkID] = []
        var content: [ChunkID: [UInt8]] = [:]

        init(pairs: Int, readConcurrency: Int = 1) throws {
            store = RecordingStore(root: root + "/repository", readConcurrency: readConcurrency)
            try store.inner.create()
            try Repository.initialize(store: store, config: .new(encrypted: false, now: Date()), password: nil,
                                      identity: Identity(hostname: "test", username: "test", now: Date()))
            repository = try Repository.open(store: store, password: { "" }, cacheDirectory: root + "/cache",
                                             logger: Logger(label: "test"))
            var random = SplitMix64(seed: 7)
            var stream: [UInt8] = [], lengths: [Int] = []
            for _ in 0..<pairs {
                for length in [40 << 10, 1 << 10] {
                    stream += (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                    lengths.append(length)
                }
            }
            guard pairs > 0 else { return }
            let writer = BlobWriter(repository: repository, workers: 1)
            let ids = try stream.withUnsafeBytes { try writer.store($0, lengths: lengths, kind: .data) }
            try writer.flush()
            writer.close()
            var offset = 0
            for (item, id) in ids.enumerated() {
                content[id] = Array(stream[offset..<(offset + lengths[item])])
                offset += lengths[item]
                if item % 2 == 0 { large.append(id) } else { small.append(id) }
            }
            store.forget()
        }

        deinit { try? FileManager.default.removeItem(atPath: root) }

        /// Stores `count` chunks of 1 KiB that compress (a random 16-byte word repeated), which
        /// follow one another and so share one zstd frame; returns their ids and bytes.
        func storeCompressibleChunks(_ count: Int, seed: UInt64) throws -> (ids: [ChunkID], bytes: [UInt8]) {
            var random = SplitMix64(seed: seed)
            var stream: [UInt8] = []
            for _ in 0..<count {
                let word = (0..<16).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                stream += (0..<64).flatMap { _ in word }
            }
            let writer = BlobWriter(repository: repository, workers: 1)
            let ids = try stream.withUnsafeBytes { try writer.store($0, lengths: Array(repeating: 1024, count: count), kind: .data) }
            try writer.flush()
            writer.close()
            return (ids, stream)
        }
    }

    @Test func blobsAFewKiBApartAreReadWithOneRead() throws {
        let scratch = try Scratch(pairs: 24)
        let reader = BlobReader(repository: scratch.repository, workers: 1)
        let locations = try reader.locate(scratch.large)
        #expect(Set(locations.map(\.pack)).count == 1, "the test wants one pack")
        #expect(zip(locations, locations.dropFirst()).allSatisfy { $1.offset > $0.offset + Int64($0.storedLength) },
                "the large chunks are not stored back to back")

        let read = try reader.read(scratch.large)
        #expect(read == scratch.large.map { scratch.content[$0]! })
        #expect(scratch.store.rangedReads.count == 1, "\(scratch.store.rangedReads.count) reads for 24 chunks 1 KiB apart")
    }

    @Test func blobsFarApartAreReadSeparately() throws {
        let scratch = try Scratch(pairs: 24)
        let reader = BlobReader(repository: scratch.repository, workers: 1)
        // The first and the last large chunk: ~1 MiB apart, far more than is worth reading over.
        let wanted = [scratch.large[0], scratch.large[23]]
        #expect(try reader.read(wanted) == wanted.map { scratch.content[$0]! })
        let reads = scratch.store.rangedReads
        #expect(reads.count == 2)
        #expect(reads.map(\.length).reduce(0, +) < 100 << 10, "read \(reads.map(\.length)) bytes for two 40 KiB chunks")
    }

    /// A pack's chunks wanted in another order than they are stored in (a file whose records moved
    /// between nights) are prefetched as one range, not one call each.
    @Test func prefetchMergesAPacksRangesWhateverTheirOrder() throws {
        let scratch = try Scratch(pairs: 24)
        let reader = BlobReader(repository: scratch.repository, workers: 1)
        let locations = try reader.locate(Array(scratch.large.reversed()))
        reader.prefetch(locations)
        let prefetched = scratch.store.prefetched
        #expect(prefetched.count == 1, "\(prefetched.count) prefetches")
        let first = locations.last!, last = locations.first!
        #expect(prefetched.first?.offset == first.offset)
        #expect(prefetched.first?.length == Int(last.offset - first.offset) + Int(last.storedLength))
    }

    /// Large chunks 41 KiB apart: one range for the kernel to read ahead from a local disk, but
    /// three runs read (more than `runGap` apart). A store where each read waits a round trip is
    /// told the three runs, so each range it fetches ahead serves one read whole.
    @Test(arguments: [1, 8])
    func aStoreThatWaitsARoundTripIsToldExactlyTheRangesRead(readConcurrency: Int) throws {
        let scratch = try Scratch(pairs: 24, readConcurrency: readConcurrency)
        let reader = BlobReader(repository: scratch.repository, workers: 1)
        let wanted = [scratch.large[0], scratch.large[2], scratch.large[4]]
        reader.prefetch(try reader.locate(wanted))
        #expect(try reader.read(wanted) == wanted.map { scratch.content[$0]! })
        // With readConcurrency > 1 the runs are read in parallel, so in any order.
        let reads = scratch.store.rangedReads.sorted { $0.offset < $1.offset }.map { "\($0.offset)+\($0.length)" }
        let prefetched = scratch.store.prefetched.map { "\($0.offset)+\($0.length)" }
        #expect(reads.count == 3)
        if readConcurrency > 1 {
            #expect(prefetched == reads)
        } else {
            #expect(prefetched.count == 1, "\(prefetched)")
        }
    }

    /// An index may list blobs of different lengths at one offset (any key holder writes index
    /// objects). A run's read covers the blob that ends last, not the one listed last: the
    /// shorter entry listed after the real one made a read too short for the real blob, and a
    /// trap slicing past its end.
    @Test func aReadCoversTheLongestBlobListedAtAnOffset() throws {
        let scratch = try Scratch(pairs: 2)
        let reader = BlobReader(repository: scratch.repository, workers: 1)
        let id = scratch.large[0]
        let real = try reader.locate([id])[0]
        var short = real
        short.storedLength = 16
        let raw = Int(real.rawLength)
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: 2 * raw, alignment: 16)
        defer { output.deallocate() }
        try reader.decode([id, id], at: [real, short], into: output, offsets: [0, raw])
        #expect(Array(UnsafeRawBufferPointer(rebasing: output[0..<raw])) == scratch.content[id]!)
        #expect(Array(UnsafeRawBufferPointer(rebasing: output[raw..<(2 * raw)])) == scratch.content[id]!)
        #expect(scratch.store.rangedReads.map(\.length) == [Int(real.storedLength)])
    }

    /// Chunks of one frame wanted in two calls (a batch that ends inside the frame, or two files
    /// restored side by side wanting different chunks of it): the second call takes them from
    /// the frame the first decoded, instead of decrypting and decompressing it again.
    @Test func aFrameDecodedInPartIsNotDecodedAgain() throws {
        let scratch = try Scratch(pairs: 0)
        let (ids, stream) = try scratch.storeCompressibleChunks(24, seed: 9)
        let shared = RecentFrames()
        let reader = BlobReader(repository: scratch.repository, workers: 1, recentFrames: shared)
        let locations = try reader.locate(ids)
        #expect(Set(locations.map(\.offset)).count == 1 && locations[0].compression == CompressionAlgorithm.zstd.rawValue,
                "the test wants one compressed frame")
        func content(_ item: Int) -> [UInt8] { Array(stream[(item * 1024)..<((item + 1) * 1024)]) }

        #expect(try reader.read([ids[3], ids[4]]) == [content(3), content(4)])
        #expect(shared.counts.kept == 1 && shared.counts.served == 0)
        // Another reader sharing them (the other file restored side by side).
        let other = BlobReader(repository: scratch.repository, workers: 1, recentFrames: shared)
        #expect(try other.read([ids[20], ids[0]]) == [content(20), content(0)])
        #expect(shared.counts.served == 1)
        // Read in order, the whole frame is decoded straight into place, as before (kept or not).
        #expect(try BlobReader(repository: scratch.repository, workers: 1).read(ids) == (0..<24).map(content))
    }

    /// A repository of 8 compressible chunks in one zstd frame, and a reader that has kept that
    /// frame (it read chunk 1 alone). The scratch repository goes with the first value.
    static func keptFrame(seed: UInt64) throws -> (scratch: Scratch, ids: [ChunkID], reader: BlobReader) {
        let scratch = try Scratch(pairs: 0)
        let (ids, _) = try scratch.storeCompressibleChunks(8, seed: seed)
        let reader = BlobReader(repository: scratch.repository, workers: 1)
        _ = try reader.read([ids[1]])
        #expect(reader.recentFrames.counts.kept == 1)
        return (scratch, ids, reader)
    }

    /// A kept frame is checked like a decoded one: an index entry that puts a chunk past the
    /// frame's end is refused, and a chunk whose bytes do not match its id fails.
    @Test func aKeptFrameIsCheckedLikeADecodedOne() throws {
        let (scratch, ids, reader) = try Self.keptFrame(seed: 11)
        defer { withExtendedLifetime(scratch) {} }   // its directory holds the repository
        var locations = try reader.locate([ids[2], ids[5]])
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 16)
        defer { output.deallocate() }

        var outside = locations[0]
        outside.frameOffset = 8 * 1024 - 512
        let error = #expect(throws: RepositoryError.self) {
            try reader.decode([ids[2]], at: [outside], into: output, offsets: [0])
        }
        #expect(error?.message.contains("lies outside its blob") == true, "\(error?.message ?? "")")

        locations[1].frameOffset = locations[0].frameOffset   // chunk 5's id, chunk 2's bytes
        let mismatch = #expect(throws: RepositoryError.self) {
            try reader.decode([ids[5]], at: [locations[1]], into: output, offsets: [0])
        }
        #expect(mismatch?.message.contains("does not match its id") == true, "\(mismatch?.message ?? "")")
        #expect(reader.recentFrames.counts.served >= 2)
    }

    /// `verify` (check --read-data, prune) checks the bytes it is given, even for a frame a
    /// restore or a tree read kept a moment ago: a kept frame would hide damage done since.
    @Test func verifyChecksWhatIsStoredNotAKeptFrame() throws {
        let (scratch, ids, reader) = try Self.keptFrame(seed: 13)
        let location = try reader.locate([ids[1]])[0]
        var stored = try scratch.repository.readRange(ofPack: location.pack, offset: location.offset, length: Int(location.storedLength))
        stored[stored.count / 2] ^= 0xff
        let size = try #require(try scratch.store.stat(ObjectKey(.data, location.pack.hex))).size
        let entries = try scratch.repository.packEntries(location.pack, size: size)
        #expect(entries.count == 8)
        let damaged = stored.withUnsafeBytes { reader.verify($0, entries: entries, pack: location.pack) }
        // The flipped byte lies in one chunk's bytes (or breaks the frame, and then all of them).
        #expect(!damaged.isEmpty && Set(damaged).isSubset(of: Set(ids)), "\(damaged)")
        #expect(reader.recentFrames.counts.served == 0)
    }
}
