/// Typed names for the repository's content-addressed things. Each wraps a `Hash256` so a
/// pack id can never be passed where a chunk id is expected.
public protocol HashIdentifier: Hashable, Comparable, Sendable, CustomStringConvertible {
    var hash: Hash256 { get }
    init(_ hash: Hash256)
}

extension HashIdentifier {
    public var hex: String { hash.hex }
    /// The first 8 hex digits, as shown in listings and accepted wherever an id is taken.
    public var short: String { String(hash.hex.prefix(8)) }
    public var description: String { hash.hex }
    public init?(hex: String) {
        guard let hash = Hash256(hex: hex) else { return nil }
        self.init(hash)
    }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.hash < rhs.hash }
    /// The digest's own table hash (see `Hash256._rawHashValue(seed:)`); without this, the
    /// synthesized one would go through `Hasher` again.
    public func _rawHashValue(seed: Int) -> Int { hash._rawHashValue(seed: seed) }
}

/// Keyed hash (HMAC-SHA-256 under the repository's id key) of a chunk's plaintext.
public struct ChunkID: HashIdentifier {
    public let hash: Hash256
    public init(_ hash: Hash256) { self.hash = hash }
}

/// SHA-256 of a pack file's stored bytes; the pack lives at `data/XX/<hex>`.
public struct PackID: HashIdentifier {
    public let hash: Hash256
    public init(_ hash: Hash256) { self.hash = hash }
}

/// SHA-256 of an index object's stored bytes.
public struct IndexID: HashIdentifier {
    public let hash: Hash256
    public init(_ hash: Hash256) { self.hash = hash }
}

/// SHA-256 of a snapshot object's stored bytes.
public struct SnapshotID: HashIdentifier {
    public let hash: Hash256
    public init(_ hash: Hash256) { self.hash = hash }
}

/// Random name of a key file (`keys/<hex>`).
public struct KeyID: HashIdentifier {
    public let hash: Hash256
    public init(_ hash: Hash256) { self.hash = hash }
}

/// What a stored blob holds: file content, or part of a snapshot's tree (its file recipes).
public enum BlobKind: UInt8, Sendable, CaseIterable {
    case data = 0
    case tree = 1
}
