import CairnBackends
import Dispatch
import Foundation
import Testing

@Suite struct RetryingStoreTests {
    func makeStore(_ inner: ScriptedStore, attempts: Int = 4, jitter: Double = 1) -> (RetryingStore, SleepRecorder) {
        let recorder = SleepRecorder()
        let store = RetryingStore(inner, policy: RetryPolicy(maximumAttempts: attempts, initialDelay: 0.5, maximumDelay: 3),
                                  sleep: { recorder.sleep($0) }, jitter: { jitter })
        return (store, recorder)
    }

    @Test func passingFaultsAreRetriedWithGrowingWaits() throws {
        let inner = ScriptedStore(failing: [.status(503, detail: ""), .timedOut, .connectionLost("reset by peer")])
        let (store, recorder) = makeStore(inner)
        try store.put(ObjectKey(.index, "a"), bytes: [1, 2, 3])
        #expect(inner.calls == 4)
        #expect(recorder.sleeps == [0.5, 1, 2])
        #expect(try store.get(ObjectKey(.index, "a")) == [1, 2, 3])
    }

    /// Bytes damaged in transit (Swift's 422, S3's BadDigest, an upload answered with another MD5,
    /// a download that does not match its ETag) are sent again.
    @Test func damageInTransitIsRetried() throws {
        let inner = ScriptedStore(failing: [.damagedInTransit("HTTP 422"), .damagedInTransit("ETag differs")])
        let (store, recorder) = makeStore(inner)
        try store.put(ObjectKey(.data, "ab12"), bytes: [7])
        #expect(inner.calls == 3)
        #expect(recorder.sleeps.count == 2)
        #expect(try store.get(ObjectKey(.data, "ab12")) == [7])
    }

    @Test func tooManyRequestsIsRetried() throws {
        let inner = ScriptedStore(failing: [.status(429, detail: "slow down")])
        let (store, recorder) = makeStore(inner)
        #expect(try store.list(.index).isEmpty)
        #expect(inner.calls == 2)
        #expect(recorder.sleeps.count == 1)
    }

    @Test(arguments: [400, 401, 403, 404, 409, 422])
    func clientErrorsAreNeverRetried(_ status: Int) throws {
        let inner = ScriptedStore(failing: [.status(status, detail: "")])
        let (store, recorder) = makeStore(inner)
        #expect(throws: StoreError.self) { try store.get(ObjectKey(.index, "a")) }
        #expect(inner.calls == 1)
        #expect(recorder.sleeps.isEmpty)
    }

    @Test func aMissingObjectIsReportedAtOnce() throws {
        let inner = ScriptedStore()
        let (store, recorder) = makeStore(inner)
        do {
            _ = try store.get(ObjectKey(.snapshots, "gone"))
            Issue.record("get of a missing object must throw")
        } catch let error as StoreError {
            #expect(error.category == .inputNotFound)
        }
        #expect(inner.calls == 1)
        #expect(recorder.sleeps.isEmpty)
    }

    @Test func givesUpAfterTheLastAttemptWithTheLastError() throws {
        let inner = ScriptedStore(failing: Array(repeating: .status(500, detail: "boom"), count: 10))
        let (store, recorder) = makeStore(inner, attempts: 4)
        do {
            try store.delete(ObjectKey(.locks, "l"))
            Issue.record("the fourth failure must be thrown")
        } catch let error as StoreError {
            #expect(error.isRetryable)
            #expect("\(error)".contains("500"))
        }
        #expect(inner.calls == 4)
        #expect(recorder.sleeps.count == 3)
        #expect(recorder.sleeps.last == 2)
    }

    @Test func waitsAreCappedAndJittered() {
        let policy = RetryPolicy(maximumAttempts: 10, initialDelay: 0.5, maximumDelay: 3)
        #expect(policy.delay(after: 1, jitter: 0) == 0.25)
        #expect(policy.delay(after: 1, jitter: 1) == 0.5)
        #expect(policy.delay(after: 3, jitter: 0.5) == 1.5)
        #expect(policy.delay(after: 9, jitter: 1) == 3)
        #expect(policy.delay(after: 9, jitter: 0) == 1.5)
    }
}

@Suite struct ConcurrencyLimitedStoreTests {
    @Test func decoratorsReportTheInnerStoresReadConcurrencyCappedByTheLimit() {
        #expect(RetryingStore(ConcurrencyLimitedStore(ScriptedStore(readConcurrency: 8), limit: 4)).readConcurrency == 4)
        #expect(RetryingStore(ConcurrencyLimitedStore(ScriptedStore(readConcurrency: 8), limit: 16)).readConcurrency == 8)
        #expect(RetryingStore(ScriptedStore()).readConcurrency == 1)
    }

    @Test func noMoreThanTheLimitReachTheInnerStoreAtOnce() throws {
        let inner = ScriptedStore(delay: 0.02)
        let store = ConcurrencyLimitedStore(inner, limit: 3)
        runOnThreads(8) { thread in
            for item in 0..<3 {
                let index = thread * 3 + item
                try? store.put(ObjectKey(.index, "i\(index)"), bytes: [UInt8(index)])
            }
        }
        #expect(inner.calls == 24)
        #expect(inner.mostAtOnce <= 3)
        #expect(inner.mostAtOnce >= 2, "calls should overlap up to the limit")
        #expect(try store.list(.index).count == 24)
    }

    @Test func errorsPassThroughAndFreeTheSlot() throws {
        let inner = ScriptedStore(failing: [.status(503, detail: "")])
        let store = ConcurrencyLimitedStore(inner, limit: 1)
        #expect(throws: StoreError.self) { try store.stat(ObjectKey(.index, "x")) }
        #expect(try store.stat(ObjectKey(.index, "x")) == nil)
    }
}
