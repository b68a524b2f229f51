import Dispatch
import Foundation

/// Runs `body(index)` on `count` threads of its own at once and waits for all of them.
/// (`DispatchQueue.concurrentPerform` may run everything on one thread when the cores are busy.)
func runOnThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        let thread = Thread {
            body(index)
            group.leave()
        }
        thread.start()
    }
    group.wait()
}
