/// A 32-byte digest: the name of a chunk, a pack, an index, a snapshot or a key.
///
/// Stored as four big-endian words so that it hashes and compares cheaply; millions of these
/// live in sets and SQLite rows during one backup.
public struct Hash256: Hashable, Comparable, Sendable {
    public let w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64

    public init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
        self.w0 = w0; self.w1 = w1; self.w2 = w2; self.w3 = w3
    }

    /// Reads 32 bytes; precondition: `bytes.count == 32`.
    public init(bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count == 32, "Hash256 needs 32 bytes, got \(bytes.count)")
        func word(_ at: Int) -> UInt64 { UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
        self.init(w0: word(0), w1: word(8), w2: word(16), w3: word(24))
    }

    public init<C: Collection<UInt8>>(_ bytes: C) {
        let array = Array(bytes)
        self = array.withUnsafeBytes { Hash256(bytes: $0) }
    }

    public static let zero = Hash256(w0: 0, w1: 0, w2: 0, w3: 0)

    public var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        write(to: &out, at: 0)
        return out
    }

    /// Writes the 32 bytes at `offset` of `buffer` (which must have room).
    public func write(to buffer: inout [UInt8], at offset: Int) {
        precondition(offset >= 0 && offset + 32 <= buffer.count, "no room for 32 bytes at \(offset)")
        withBytes { bytes in
            buffer.withUnsafeMutableBytes { $0.baseAddress!.advanced(by: offset).copyMemory(from: bytes.baseAddress!, byteCount: 32) }
        }
    }

    public func append(to buffer: inout [UInt8]) {
        withBytes { buffer.append(contentsOf: $0) }
    }

    /// The 32 bytes, lent to `body` without an allocation (the catalog binds every chunk id).
    public func withBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try withUnsafeBytes(of: (w0.bigEndian, w1.bigEndian, w2.bigEndian, w3.bigEndian)) { try body($0) }
    }

    public var hex: String { Hex.encode(bytes) }

    public init?(hex: String) {
        guard hex.utf8.count == 64, let bytes = Hex.decode(hex) else { return nil }
        self.init(bytes)
    }

    /// One word into the hasher, not four: the words are a digest's, already uniformly spread (a
    /// keyed one for chunks). The words are rotated apart so that ids made by hand in tests, which
    /// differ in one word, stay distinct. Dictionaries and sets of ids do not come here: they use
    /// `_rawHashValue(seed:)` below.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(folded)
    }

    /// What `Dictionary` and `Set` hash with, bypassing `Hasher`: a restore looks chunk ids up in
    /// a few dictionaries several times per chunk, and SipHash's set-up and finalization for each
    /// of those was ~2.5% of a restore's CPU (`Hasher.init(_seed:)`, `Hasher._finalize()` in
    /// `perf`). The folded words are mixed with the table's seed (random per process, so buckets
    /// cannot be predicted) by splitmix64's finalizer. Chunk ids are keyed digests and the rest
    /// are SHA-256 names, so no one picks ids to collide.
    ///
    /// `_rawHashValue(seed:)` is a requirement of `Hashable` that the standard library's own
    /// integer types implement the same way; it must agree with `==`, which it does (equal ids
    /// fold to equal words). `hash(into:)` stays for ids inside larger keys.
    public func _rawHashValue(seed: Int) -> Int {
        var mixed = folded ^ UInt64(UInt(bitPattern: seed))
        mixed = (mixed ^ (mixed >> 30)) &* 0xbf58_476d_1ce4_e5b9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94d0_49bb_1331_11eb
        return Int(truncatingIfNeeded: mixed ^ (mixed >> 31))
    }

    private var folded: UInt64 {
        w0 ^ (w1 << 17 | w1 >> 47) ^ (w2 << 31 | w2 >> 33) ^ (w3 << 47 | w3 >> 17)
    }

    public static func < (lhs: Hash256, rhs: Hash256) -> Bool {
        (lhs.w0, lhs.w1, lhs.w2, lhs.w3) < (rhs.w0, rhs.w1, rhs.w2, rhs.w3)
    }
}

extension Hash256: CustomStringConvertible {
    public var description: String { hex }
}
