import CairnCore
import Crypto

/// HMAC-SHA-256 keyed with the repository's id key: chunk ids reveal nothing about content.
public struct ChunkHasher: Sendable {
    private let key: SymmetricKey

    public init(idKey: [UInt8]) {
        precondition(idKey.count == 32, "the id key is 32 bytes")
        key = SymmetricKey(data: idKey)
    }

    public func id(of data: UnsafeRawBufferPointer) -> ChunkID {
        let mac = HMAC<SHA256>.authenticationCode(for: data, using: key)
        return mac.withUnsafeBytes { ChunkID(Hash256(bytes: $0)) }
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
