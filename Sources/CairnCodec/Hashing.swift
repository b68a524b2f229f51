import CairnCore
import Crypto

/// HMAC-SHA-256 keyed with the repository's id key: chunk ids reveal nothing about content.
///
/// HMAC as RFC 2104 builds it, over swift-crypto's `SHA256`: `SHA256((K ^ opad) || SHA256((K ^ ipad)
/// || message))`, the 32-byte key zero-padded to SHA-256's 64-byte block. Equal to swift-crypto's
/// `HMAC<SHA256>` (the codec tests compare them), which is generic over its hash function and so,
/// called from this module, ran unspecialized: every id went through generic metadata lookups.
public struct ChunkHasher: @unchecked Sendable {
    /// SHA-256 states that have absorbed the padded key's inner and outer blocks: each id copies
    /// them instead of keying again, which costs as much as hashing a 2 KiB chunk. Copies do not
    /// share state (checked by the codec tests), and these values are never mutated.
    private let inner: SHA256
    private let outer: SHA256

    public init(idKey: [UInt8]) {
        precondition(idKey.count == 32, "the id key is 32 bytes")
        let block = idKey + [UInt8](repeating: 0, count: 64 - idKey.count)
        var inner = SHA256(), outer = SHA256()
        block.map { $0 ^ 0x36 }.withUnsafeBytes { inner.update(bufferPointer: $0) }
        block.map { $0 ^ 0x5c }.withUnsafeBytes { outer.update(bufferPointer: $0) }
        self.inner = inner
        self.outer = outer
    }

    public func id(of data: UnsafeRawBufferPointer) -> ChunkID {
        var inner = self.inner
        inner.update(bufferPointer: data)
        var outer = self.outer
        inner.finalize().withUnsafeBytes { outer.update(bufferPointer: $0) }
        return outer.finalize().withUnsafeBytes { ChunkID(Hash256(bytes: $0)) }
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
