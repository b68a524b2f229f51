import CairnCore
import Crypto

/// HMAC-SHA-256 keyed with the repository's id key: chunk ids reveal nothing about content.
public struct ChunkHasher: @unchecked Sendable {
    /// HMAC already keyed (inner and outer pads hashed): each id copies it instead of keying
    /// again, which costs as much as hashing a 2 KiB chunk. Copies do not share state (checked by
    /// the codec tests), and this value is never mutated.
    private let keyed: HMAC<SHA256>

    public init(idKey: [UInt8]) {
        precondition(idKey.count == 32, "the id key is 32 bytes")
        keyed = HMAC<SHA256>(key: SymmetricKey(data: idKey))
    }

    public func id(of data: UnsafeRawBufferPointer) -> ChunkID {
        var mac = keyed
        mac.update(data: data)
        return mac.finalize().withUnsafeBytes { ChunkID(Hash256(bytes: $0)) }
    }
}

/// Plain SHA-256, naming packs, indexes and snapshots by their stored bytes.
public enum SHA256Digest {
    public static func hash(_ data: UnsafeRawBufferPointer) -> Hash256 {
        SHA256.hash(data: data).withUnsafeBytes { Hash256(bytes: $0) }
    }

    public static func hash(_ data: [UInt8]) -> Hash256 {
        data.withUnsafeBytes { hash($0) }
    }
}

/// MD5 over bytes given piece by piece: what Swift's `ETag` and S3's `Content-MD5` carry.
public struct StreamingMD5 {
    private var state = Insecure.MD5()

    public init() {}

    public mutating func update(_ data: UnsafeRawBufferPointer) {
        state.update(bufferPointer: data)
    }

    public mutating func finalize() -> [UInt8] {
        Array(state.finalize())
    }
}

/// Incremental SHA-256 for pack files written piece by piece.
public struct StreamingSHA256 {
    private var state = SHA256()

    public init() {}

    public mutating func update(_ data: UnsafeRawBufferPointer) {
        state.update(bufferPointer: data)
    }

    public mutating func finalize() -> Hash256 {
        state.finalize().withUnsafeBytes { Hash256(bytes: $0) }
    }
}
