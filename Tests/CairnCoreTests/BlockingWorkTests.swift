import CairnCore
import CairnTestSupport
import Foundation
import Testing

@Suite("BlockingWork")
struct BlockingWorkTests {
    struct Refused: Error {}

    /// What `DispatchQueue.concurrentPerform` would not do on a machine with fewer cores: eight
    /// calls that wait are all waiting at once.
    @Test func asManyCallsWaitAtOnceAsThreadsAsked() throws {
        let gauge = ConcurrencyGauge(awaiting: 8)
        try BlockingWork.forEach(count: 16, threads: 8) { item in
            gauge.enter(item)
            gauge.leave()
        }
        #expect(gauge.most == 8)
        #expect(gauge.items.sorted() == Array(0..<16))
    }

    @Test func mapKeepsTheItemsOrder() throws {
        let squares = try BlockingWork.map(count: 100, threads: 4) { item in
            usleep(UInt32(100 - item) * 100)
            return item * item
        }
        #expect(squares == (0..<100).map { $0 * $0 })
    }

    @Test func theFirstFailureStopsNewItemsAndIsThrown() {
        let gauge = ConcurrencyGauge()
        #expect(throws: Refused.self) {
            try BlockingWork.forEach(count: 1000, threads: 4) { item in
                gauge.enter(item)
                defer { gauge.leave() }
                usleep(1_000)
                if item == 10 { throw Refused() }
            }
        }
        #expect(gauge.items.count < 20, "\(gauge.items.count) items started")
    }

    @Test func nothingToDoAndOneThreadRunOnTheCaller() throws {
        try BlockingWork.forEach(count: 0, threads: 8) { _ in Issue.record("called for no item") }
        let caller = pthread_self()
        let gauge = ConcurrencyGauge()
        try BlockingWork.forEach(count: 5, threads: 1) { item in
            #expect(pthread_equal(pthread_self(), caller) != 0)
            gauge.enter(item)
            gauge.leave()
        }
        #expect(gauge.items == [0, 1, 2, 3, 4])
    }
}
