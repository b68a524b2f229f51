/// A number of bytes, printed the way people read sizes (1.5 MiB).
public struct ByteCount: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var value: Int64
    public init(_ value: Int64) { self.value = value }
    public init(_ value: Int) { self.value = Int64(value) }

    public static func < (lhs: ByteCount, rhs: ByteCount) -> Bool { lhs.value < rhs.value }
    public static func + (lhs: ByteCount, rhs: ByteCount) -> ByteCount { ByteCount(lhs.value + rhs.value) }

    public var description: String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var amount = Double(value)
        var unit = 0
        while abs(amount) >= 1024, unit < units.count - 1 {
            amount /= 1024
            unit += 1
        }
        if unit == 0 { return "\(value) B" }
        let rounded = (amount * 100).rounded() / 100
        return "\(rounded) \(units[unit])"
    }
}
