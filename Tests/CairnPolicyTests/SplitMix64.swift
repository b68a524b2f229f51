import CairnCore

/// A seeded pseudo-random generator (splitmix64) whose output never depends on the standard
/// library's algorithms, so generated fixtures and golden files stay byte-identical across
/// toolchains. Never seeded from the system.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xbf58_476d_1ce4_e5b9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94d0_49bb_1331_11eb
        return mixed ^ (mixed >> 31)
    }

    /// Uniform in `0..<bound` (multiply-high; no rejection needed for test data).
    mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0)
        return Int(next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// Uniform in `range`.
    mutating func within(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + below(range.upperBound - range.lowerBound + 1)
    }

    /// True with probability `percent` / 100.
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }

    mutating func pick<Element>(_ items: [Element]) -> Element { items[below(items.count)] }

    /// A random subset of `items`, in their order.
    mutating func subset<Element>(_ items: [Element], percent: Int = 50) -> [Element] {
        items.filter { _ in chance(percent) }
    }

    mutating func snapshotID() -> SnapshotID {
        SnapshotID(Hash256(w0: next(), w1: next(), w2: next(), w3: next()))
    }
}
