import Foundation

/// Counts how many calls are inside a section at once, and which items entered it: for tests of
/// code that runs work side by side.
///
/// With `awaiting`, a call that enters waits (up to `timeout`) until that many have been inside at
/// once, so the count does not depend on how fast threads start on a busy machine. Code that runs
/// that many side by side reaches it at once. Code that runs fewer never does: the first call to
/// wait `timeout` gives up, no call waits after it, and `most` shows how many ran together.
public final class ConcurrencyGauge: @unchecked Sendable {
    private let condition = NSCondition()
    private var inside = 0
    private var mostInside = 0
    private var entered: [Int] = []
    private var gaveUp = false
    private let awaiting: Int
    private let timeout: TimeInterval

    public init(awaiting: Int = 0, timeout: TimeInterval = 10) {
        self.awaiting = awaiting
        self.timeout = timeout
    }

    /// The most calls that were inside at once.
    public var most: Int { condition.withLock { mostInside } }
    /// The items that entered, in the order they did.
    public var items: [Int] { condition.withLock { entered } }

    public func enter(_ item: Int = 0) {
        condition.withLock {
            inside += 1
            mostInside = max(mostInside, inside)
            entered.append(item)
            condition.broadcast()
            let deadline = Date(timeIntervalSinceNow: timeout)
            while mostInside < awaiting && !gaveUp {
                if !condition.wait(until: deadline) { gaveUp = true; condition.broadcast() }
            }
        }
    }

    public func leave() { condition.withLock { inside -= 1 } }
}
