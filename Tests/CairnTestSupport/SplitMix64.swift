/// A seeded pseudo-random generator (splitmix64) whose output never depends on the standard
/// library's algorithms, so generated fixtures, damage positions and golden files stay
/// byte-identical across runs and toolchains. Never seeded from the system. Shared by the test
/// targets; not part of any product.
public struct SplitMix64 {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xbf58_476d_1ce4_e5b9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94d0_49bb_1331_11eb
        return mixed ^ (mixed >> 31)
    }

    /// Uniform in `0..<bound` (multiply-high; no rejection needed for test data).
    public mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0)
        return Int(next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// Uniform in `range`.
    public mutating func within(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + below(range.upperBound - range.lowerBound + 1)
    }

    /// True with probability `percent` / 100.
    public mutating func chance(_ percent: Int) -> Bool { below(100) < percent }

    public mutating func pick<Element>(_ items: [Element]) -> Element { items[below(items.count)] }

    /// A random subset of `items`, in their order.
    public mutating func subset<Element>(_ items: [Element], percent: Int = 50) -> [Element] {
        items.filter { _ in chance(percent) }
    }

    /// `count` bytes that compress a little, like Redis values: random words, a quarter of them
    /// repeated four times.
    public mutating func bytes(_ count: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count + 32)
        while out.count < count {
            let word = next()
            for _ in 0..<(word & 3 == 0 ? 4 : 1) { withUnsafeBytes(of: word) { out += $0 } }
        }
        return Array(out.prefix(count))
    }
}
