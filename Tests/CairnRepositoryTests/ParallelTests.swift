@testable import CairnRepository
import CairnTestSupport
import Foundation
import Testing

@Suite("Parallel")
struct ParallelTests {
    /// A remote restore asks for more workers than cores, so that ranged GETs wait side by side;
    /// dispatch's `concurrentPerform` ran only as many at once as there are cores.
    @Test func moreWorkersThanCoresAllWaitAtOnce() {
        let workers = ProcessInfo.processInfo.activeProcessorCount + 3
        let gauge = ConcurrencyGauge(awaiting: workers)
        Parallel.forEach(count: workers * 2, workers: workers) { _, _ in
            gauge.enter()
            gauge.leave()
        }
        #expect(gauge.most == workers)
        #expect(gauge.items.count == workers * 2)
    }

    /// `body` is not escaping: no thread may still hold it when `forEach` returns (the Swift
    /// runtime stops the process when one does; it did with detached threads).
    @Test func noThreadHoldsTheBodyOnceForEachReturns() {
        let workers = ProcessInfo.processInfo.activeProcessorCount + 2
        var sums: [Int] = []
        for round in 0..<300 {
            let gauge = ConcurrencyGauge()
            Parallel.forEach(count: workers, workers: workers) { _, item in
                gauge.enter()
                if item == round % workers { usleep(100) }
                gauge.leave()
            }
            sums.append(gauge.items.count)
        }
        #expect(sums == Array(repeating: workers, count: 300))
    }
}
