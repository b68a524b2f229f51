import Foundation

/// Counts how many calls are inside a section at once, and which items entered it: for tests of
/// code that runs work side by side.
public final class ConcurrencyGauge: @unchecked Sendable {
    private let lock = NSLock()
    private var inside = 0
    private var mostInside = 0
    private var entered: [Int] = []

    public init() {}

    /// The most calls that were inside at once.
    public var most: Int { lock.withLock { mostInside } }
    /// The items that entered, in the order they did.
    public var items: [Int] { lock.withLock { entered } }

    public func enter(_ item: Int = 0) { lock.withLock { inside += 1; mostInside = max(mostInside, inside); entered.append(item) } }
    public func leave() { lock.withLock { inside -= 1 } }
}
