import CairnCore
import CairnRepository
import Foundation
import Testing

/// The cache two side-by-side restore streams share: what it returns must be byte-exact, old
/// chunks must give way to new ones, and a claim must make the other stream wait, not decode.
@Suite("DecodedChunkCache")
struct DecodedChunkCacheTests {
    static func id(_ number: Int) -> ChunkID {
        ChunkID(Hash256(w0: UInt64(number), w1: 7, w2: 11, w3: 13))
    }

    /// Bytes that differ for every chunk and position.
    static func bytes(_ number: Int, count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ number &* 17 &+ $0 >> 8) }
    }

    /// Looks `number` up into a buffer of `count` bytes.
    static func lookup(_ cache: DecodedChunkCache, _ number: Int, count: Int) -> (DecodedChunkCache.Lookup, [UInt8]) {
        var out = [UInt8](repeating: 0, count: count)
        let found = out.withUnsafeMutableBytes { cache.lookup(id(number), into: $0) }
        return (found, out)
    }

    @Test func aChunkNotThereIsClaimedOnceThenPendingThenCopied() {
        let cache = DecodedChunkCache(capacity: 1 << 16)
        #expect(Self.lookup(cache, 1, count: 100).0 == .claimed)
        #expect(Self.lookup(cache, 1, count: 100).0 == .pending)
        let chunk = Self.bytes(1, count: 100)
        chunk.withUnsafeBytes { cache.insert(Self.id(1), $0) }
        let (found, copy) = Self.lookup(cache, 1, count: 100)
        #expect(found == .copied)
        #expect(copy == chunk)
        #expect(cache.servedBytes == 100)
        // A buffer of another length is not this chunk: claimed, not copied wrongly.
        #expect(Self.lookup(cache, 1, count: 99).0 == .claimed)
    }

    @Test func theOldestChunksGiveWayAndTheRestStayExact() {
        let capacity = 64 << 10
        let cache = DecodedChunkCache(capacity: capacity)
        // Sizes that do not divide the ring, so chunks skip its end and wrap many times.
        let sizes = (0..<400).map { 700 + ($0 * 379) % 3000 }
        for (number, size) in sizes.enumerated() {
            _ = Self.lookup(cache, number, count: size)
            Self.bytes(number, count: size).withUnsafeBytes { cache.insert(Self.id(number), $0) }
        }
        // The newest chunks that fit (with room for one skip at the end of the ring) are all there
        // and exact; the older half is gone.
        var recent = 0, number = sizes.count - 1
        while number >= 0 && recent + sizes[number] <= capacity - 4000 {
            let (found, copy) = Self.lookup(cache, number, count: sizes[number])
            #expect(found == .copied, "chunk \(number)")
            #expect(copy == Self.bytes(number, count: sizes[number]), "chunk \(number)")
            recent += sizes[number]
            number -= 1
        }
        #expect(recent > capacity / 2)
        for old in 0..<(sizes.count / 2) {
            #expect(Self.lookup(cache, old, count: sizes[old]).0 != .copied, "chunk \(old) outlived the ring")
        }
    }

    @Test func aChunkLargerThanAQuarterOfTheRingReleasesItsClaimButIsNotKept() {
        let cache = DecodedChunkCache(capacity: 4096)
        #expect(Self.lookup(cache, 5, count: 2000).0 == .claimed)
        Self.bytes(5, count: 2000).withUnsafeBytes { cache.insert(Self.id(5), $0) }
        var out = [UInt8](repeating: 0, count: 2000)
        // Not kept: the waiter is told to decode it itself, at once.
        #expect(out.withUnsafeMutableBytes { cache.waitAndCopy(Self.id(5), into: $0) } == false)
    }

    /// Outcome of a waiter on its own thread (not a task: a blocked task would hold one of the
    /// few threads Swift concurrency has).
    final class Waiter: @unchecked Sendable {
        let done = DispatchSemaphore(value: 0)
        var copied = false
        var bytes = [UInt8](repeating: 0, count: 64)

        init(_ cache: DecodedChunkCache, _ id: ChunkID) {
            Thread {
                self.copied = self.bytes.withUnsafeMutableBytes { cache.waitAndCopy(id, into: $0) }
                self.done.signal()
            }.start()
        }
    }

    @Test func aWaiterGetsTheChunkOnceInsertedOrDecodesItAfterARelease() {
        let cache = DecodedChunkCache(capacity: 1 << 16)
        #expect(Self.lookup(cache, 1, count: 64).0 == .claimed)
        #expect(Self.lookup(cache, 2, count: 64).0 == .claimed)
        let first = Waiter(cache, Self.id(1)), second = Waiter(cache, Self.id(2))
        // Both wait while the claims stand.
        #expect(first.done.wait(timeout: .now() + 0.05) == .timedOut)
        #expect(second.done.wait(timeout: .now()) == .timedOut)
        Self.bytes(1, count: 64).withUnsafeBytes { cache.insert(Self.id(1), $0) }
        cache.release([Self.id(2)])   // the stream that claimed it failed
        #expect(first.done.wait(timeout: .now() + 10) == .success)
        #expect(second.done.wait(timeout: .now() + 10) == .success)
        #expect(first.copied)
        #expect(first.bytes == Self.bytes(1, count: 64))
        #expect(second.copied == false)
        // Released, so the next stream to want it claims it.
        #expect(Self.lookup(cache, 2, count: 64).0 == .claimed)
    }
}
