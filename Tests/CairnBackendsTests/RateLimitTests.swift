import CairnBackends
import Foundation
import Testing

/// A clock that moves only when the code under test sleeps, so pacing is exact and instant.
final class SteppedClock: @unchecked Sendable {
    private let lock = NSLock()
    private var time = Date(timeIntervalSince1970: 1_000_000)
    private var slept: [Double] = []

    var now: Date { lock.lock(); defer { lock.unlock() }; return time }
    var sleeps: [Double] { lock.lock(); defer { lock.unlock() }; return slept }

    func sleep(_ seconds: Double) {
        lock.lock()
        slept.append(seconds)
        time += seconds
        lock.unlock()
    }

    func advance(_ seconds: Double) {
        lock.lock()
        time += seconds
        lock.unlock()
    }

    func pacer(bytesPerSecond: Int, burst: TimeInterval = 1) -> TransferPacer {
        TransferPacer(bytesPerSecond: bytesPerSecond, burst: burst, now: { self.now }, sleep: { self.sleep($0) })
    }
}

@Suite("--limit-upload and --limit-download pacing")
struct RateLimitTests {
    static let mib = 1 << 20

    /// After a burst's worth, each MiB at 1 MiB/s waits one second more: the bytes started by
    /// any time never exceed the rate times the time taken plus the burst.
    @Test func uploadsWaitUntilTheirBytesArePaidFor() throws {
        let clock = SteppedClock()
        let store = RateLimitedStore(ScriptedStore(), upload: clock.pacer(bytesPerSecond: Self.mib), download: nil)
        let started = clock.now
        for number in 0..<5 {
            try store.put(ObjectKey(.data, "pack\(number)"), bytes: [UInt8](repeating: 1, count: Self.mib))
        }
        #expect(clock.sleeps == [1, 1, 1, 1])
        #expect(clock.now.timeIntervalSince(started) == 4)
    }

    /// A quiet spell refills the budget, but only up to the burst: an idle hour buys one second.
    @Test func idleTimeRefillsOnlyTheBurst() throws {
        let clock = SteppedClock()
        let pacer = clock.pacer(bytesPerSecond: 1000, burst: 2)
        pacer.pay(2000)
        #expect(clock.sleeps.isEmpty)
        clock.advance(3600)
        pacer.pay(5000)
        #expect(clock.sleeps == [3])
    }

    /// Threads share one budget: eight 1 MiB transfers at once at 2 MiB/s (2 MiB of burst) start
    /// at 0, 0, 0.5, 1, … 3 s, whichever thread comes first, not all at once.
    @Test func concurrentTransfersShareTheRate() throws {
        let recorder = SleepRecorder()
        let start = Date()
        let pacer = TransferPacer(bytesPerSecond: 2 * Self.mib, burst: 1, now: { start }, sleep: { recorder.sleep($0) })
        DispatchQueue.concurrentPerform(iterations: 8) { _ in pacer.pay(Self.mib) }
        #expect(recorder.sleeps.sorted() == [0.5, 1, 1.5, 2, 2.5, 3])
    }

    @Test func uploadsAndDownloadsHaveTheirOwnBudgets() throws {
        let clock = SteppedClock()
        let inner = ScriptedStore()
        try inner.put(ObjectKey(.data, "a"), bytes: [UInt8](repeating: 2, count: 4 * Self.mib))
        let store = RateLimitedStore(inner, upload: clock.pacer(bytesPerSecond: Self.mib), download: nil)
        _ = try store.get(ObjectKey(.data, "a"))
        _ = try store.get(ObjectKey(.data, "a"), offset: 0, length: 3 * Self.mib)
        #expect(clock.sleeps.isEmpty, "downloads are not limited by the upload rate")

        let reading = RateLimitedStore(inner, upload: nil, download: clock.pacer(bytesPerSecond: Self.mib))
        _ = try reading.get(ObjectKey(.data, "a"), offset: 0, length: 2 * Self.mib)
        _ = try reading.get(ObjectKey(.data, "a"))
        #expect(clock.sleeps == [1, 4])
        try reading.put(ObjectKey(.data, "b"), bytes: [UInt8](repeating: 3, count: 8 * Self.mib))
        #expect(clock.sleeps == [1, 4])
    }

    /// A spool file pays its size, whether the digests say it or the file does.
    @Test func spoolFilesPayTheirSize() throws {
        let clock = SteppedClock()
        let store = RateLimitedStore(ScriptedStore(), upload: clock.pacer(bytesPerSecond: Self.mib, burst: 0), download: nil)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-rate-\(UUID().uuidString)").path
        defer { unlink(path) }
        try Data(count: 3 * Self.mib).write(to: URL(fileURLWithPath: path))
        try store.put(ObjectKey(.data, "c"), contentsOf: path)
        #expect(clock.sleeps == [3])
        try store.put(ObjectKey(.data, "d"), contentsOf: path, digests: ContentDigests(md5: [], sha256: [], size: Int64(2 * Self.mib)))
        #expect(clock.sleeps == [3, 2])
    }
}
