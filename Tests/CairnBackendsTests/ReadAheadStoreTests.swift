import CairnBackends
import Foundation
import Testing

@Suite struct ReadAheadStoreTests {
    static let key = ObjectKey(.data, "pack")
    static let content = (0..<(2 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 >> 2) }

    func slice(_ offset: Int, _ length: Int) -> [UInt8] { Array(Self.content[offset..<(offset + length)]) }

    /// A store holding `content` under `key`; its put is call 1.
    func stored(delay: TimeInterval = 0) throws -> ScriptedStore {
        let inner = ScriptedStore(delay: delay, readConcurrency: 4)
        try inner.put(Self.key, bytes: Self.content)
        return inner
    }

    @Test func readsInsideARangeReadAheadAreServedFromIt() throws {
        let inner = try stored()
        let store = ReadAheadStore(inner, budget: 4 << 20, workers: 2)
        store.prefetch(Self.key, offset: 100, length: 1 << 20)
        #expect(try store.get(Self.key, offset: 110, length: 5000) == slice(110, 5000))
        #expect(try store.get(Self.key, offset: 100 + (1 << 20) - 100, length: 100) == slice(100 + (1 << 20) - 100, 100))
        #expect(inner.calls == 2, "one GET for the range, whatever is read from it")
        #expect(store.readsServedAhead == 2)
        // Outside the range, and inside it after a read that ended where it ends (it is freed).
        #expect(try store.get(Self.key, offset: 1_500_000, length: 10) == slice(1_500_000, 10))
        #expect(try store.get(Self.key, offset: 200, length: 10) == slice(200, 10))
        #expect(inner.calls == 4)
        #expect(store.readsServedAhead == 2)
    }

    @Test func aReadWaitsForItsRangeWhileItIsStillBeingRead() throws {
        let inner = try stored(delay: 0.3)
        let store = ReadAheadStore(inner, budget: 4 << 20, workers: 2)
        store.prefetch(Self.key, offset: 0, length: 65536)
        #expect(try store.get(Self.key, offset: 4096, length: 4096) == slice(4096, 4096))
        #expect(inner.calls == 2)
        #expect(store.readsServedAhead == 1)
    }

    @Test func aReadAheadThatFailsIsForgottenAndTheReadGoesToTheStore() throws {
        let inner = try stored()
        inner.failNext([.status(503, detail: "")])
        let store = ReadAheadStore(inner, budget: 65536, workers: 2)
        store.prefetch(Self.key, offset: 0, length: 65536)
        #expect(try store.get(Self.key, offset: 0, length: 100) == slice(0, 100))
        #expect(inner.calls == 3)
        #expect(store.readsServedAhead == 0)
        // The failed range gave its budget back: the next hint, as large, is read ahead.
        store.prefetch(Self.key, offset: 65536, length: 65536)
        #expect(try store.get(Self.key, offset: 65536, length: 65536) == slice(65536, 65536))
        #expect(store.readsServedAhead == 1)
    }

    @Test func rangesAheadHoldNoMoreThanTheBudget() throws {
        let inner = try stored(delay: 0.3)
        let store = ReadAheadStore(inner, budget: 1 << 20, workers: 2)
        let size = 600 << 10
        store.prefetch(Self.key, offset: 0, length: size)
        // The first range holds 600 KiB of the 1 MiB: the second does not fit and is dropped.
        store.prefetch(Self.key, offset: Int64(size), length: size)
        #expect(try store.get(Self.key, offset: 0, length: 10) == slice(0, 10))
        // Read in part, the first is still held: the third is dropped too, and one larger than the budget.
        store.prefetch(Self.key, offset: Int64(2 * size), length: size)
        store.prefetch(Self.key, offset: 0, length: (1 << 20) + 1)
        #expect(try store.get(Self.key, offset: Int64(size - 10), length: 10) == slice(size - 10, 10))
        // Read to its end, the first is freed: the third fits now.
        store.prefetch(Self.key, offset: Int64(2 * size), length: size)
        #expect(try store.get(Self.key, offset: Int64(size), length: 10) == slice(size, 10))
        #expect(try store.get(Self.key, offset: Int64(2 * size), length: 10) == slice(2 * size, 10))
        #expect(inner.calls == 4, "put, the first and third ranges, and the read of the second")
        #expect(store.readsServedAhead == 3)
    }

    @Test func aRangeNotReadToItsEndIsDroppedOnceEnoughNewerOnesWereHinted() throws {
        let inner = try stored()
        let store = ReadAheadStore(inner, budget: 4 << 20, workers: 2)
        store.prefetch(Self.key, offset: 0, length: 1000)
        while inner.calls < 2 { usleep(1000) }
        for index in 1...store.staleAfter {
            store.prefetch(Self.key, offset: Int64(10_000 + index * 100), length: 100)
        }
        #expect(try store.get(Self.key, offset: 0, length: 10) == slice(0, 10))
        #expect(store.readsServedAhead == 1, "held while no more than staleAfter newer ranges were hinted")
        store.prefetch(Self.key, offset: 50_000, length: 100)
        #expect(try store.get(Self.key, offset: 10, length: 10) == slice(10, 10))
        #expect(store.readsServedAhead == 1, "dropped: read from the store")
    }

    @Test func rangesAreReadInTheBackgroundByAtMostTheWorkers() throws {
        let inner = try stored(delay: 0.1)
        let store = ReadAheadStore(inner, budget: 4 << 20, workers: 2)
        for index in 0..<6 { store.prefetch(Self.key, offset: Int64(index * 1000), length: 1000) }
        for index in 0..<6 {
            #expect(try store.get(Self.key, offset: Int64(index * 1000), length: 1000) == slice(index * 1000, 1000))
        }
        #expect(inner.calls == 7)
        #expect(store.readsServedAhead == 6)
        #expect(inner.mostAtOnce == 2, "two workers, both busy")
    }

    @Test func aDeletedOrReplacedObjectIsNotServedFromWhatWasReadAhead() throws {
        let inner = try stored()
        let store = ReadAheadStore(inner, budget: 4 << 20, workers: 2)
        store.prefetch(Self.key, offset: 0, length: 1000)
        #expect(try store.get(Self.key, offset: 0, length: 10) == slice(0, 10))
        try store.put(Self.key, bytes: [UInt8](repeating: 7, count: 1000))
        #expect(try store.get(Self.key, offset: 10, length: 10) == [UInt8](repeating: 7, count: 10))
        store.prefetch(Self.key, offset: 0, length: 1000)
        _ = try store.get(Self.key, offset: 0, length: 1)
        try store.delete(Self.key)
        #expect(throws: StoreError.self) { try store.get(Self.key, offset: 0, length: 1) }
    }
}
