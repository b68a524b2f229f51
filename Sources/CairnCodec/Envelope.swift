import CairnCore
import Crypto
import Foundation

/// 96 random bytes: encryption key (32), id key (32), chunker seed (32).
public struct MasterKey: Sendable {
    public let encryptionKey: [UInt8]
    public let idKey: [UInt8]
    public let chunkerSeed: [UInt8]

    public static func random() -> MasterKey {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<96).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return try! MasterKey(serialized: bytes)
    }

    public init(serialized: [UInt8]) throws {
        guard serialized.count == 96 else {
            throw CodecError(.integrity, "a master key is 96 bytes, this one is \(serialized.count)")
        }
        encryptionKey = Array(serialized[0..<32])
        idKey = Array(serialized[32..<64])
        chunkerSeed = Array(serialized[64..<96])
    }

    public var serialized: [UInt8] { encryptionKey + idKey + chunkerSeed }

    /// Fixed, public key material for repositories made with --insecure-no-encryption: ids and
    /// cut points still need keys there; they are simply not secret.
    public static let insecureFixed: MasterKey = {
        let bytes = (0..<96).map { UInt8(truncatingIfNeeded: $0 &* 73 &+ 41) }
        return try! MasterKey(serialized: bytes)
    }()
}

/// The envelope of every sealed object and blob. Encrypted: `[0x01][12-byte nonce][ciphertext][16-byte tag]`
/// (AES-256-GCM, random nonce). Unencrypted repositories: `[0x00][plaintext]`. Ids are never reused.
public struct Envelope: Sendable {
    static let plainAlgorithm: UInt8 = 0x00
    static let aesGCMAlgorithm: UInt8 = 0x01
    private let key: SymmetricKey?

    public init(encryptionKey: [UInt8]?) {
        key = encryptionKey.map { SymmetricKey(data: $0) }
    }

    public var overhead: Int { key == nil ? 1 : 1 + 12 + 16 }

    public func seal(_ plaintext: UnsafeRawBufferPointer) -> [UInt8] {
        guard let key else { return [Self.plainAlgorithm] + Array(plaintext) }
        let box = try! AES.GCM.seal(plaintext, using: key)
        var out = [UInt8]()
        out.reserveCapacity(plaintext.count + overhead)
        out.append(Self.aesGCMAlgorithm)
        box.nonce.withUnsafeBytes { out.append(contentsOf: $0) }
        out.append(contentsOf: box.ciphertext)
        out.append(contentsOf: box.tag)
        return out
    }

    /// The envelope of `plaintext` in two pieces, its algorithm byte and the rest, so the rest can
    /// stay the `Data` AES-GCM returned instead of being copied behind the byte: what a backup
    /// appends to its packs, one blob at a time.
    public func sealBlob(_ plaintext: UnsafeRawBufferPointer) -> SealedBlob {
        guard let key else { return SealedBlob(algorithm: Self.plainAlgorithm, body: Data(plaintext)) }
        // A 12-byte nonce, so `combined` is nonce, ciphertext and tag, as the envelope has them.
        let box = try! AES.GCM.seal(plaintext, using: key)
        return SealedBlob(algorithm: Self.aesGCMAlgorithm, body: box.combined!)
    }

    public func seal(_ plaintext: [UInt8]) -> [UInt8] {
        plaintext.withUnsafeBytes { seal($0) }
    }

    public func open(_ sealed: UnsafeRawBufferPointer) throws -> [UInt8] {
        guard let algorithm = sealed.first else { throw CodecError(.integrity, "sealed data is empty") }
        switch algorithm {
        case Self.plainAlgorithm where key == nil:
            return Array(sealed.dropFirst())
        case Self.aesGCMAlgorithm where key != nil:
            guard sealed.count >= 29 else { throw CodecError(.integrity, "sealed data is too short (\(sealed.count) bytes)") }
            do {
                let box = try AES.GCM.SealedBox(combined: UnsafeRawBufferPointer(rebasing: sealed[1...]))
                return Array(try AES.GCM.open(box, using: key!))
            } catch {
                throw CodecError(.integrity, "authentication failed", cause: error)
            }
        default:
            throw CodecError(.integrity, "sealed with algorithm \(algorithm), which this repository does not use")
        }
    }

    /// Opens `sealed` and lends the plaintext to `body` without copying it into an array.
    public func open<Result>(_ sealed: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Result) throws -> Result {
        guard let algorithm = sealed.first else { throw CodecError(.integrity, "sealed data is empty") }
        switch algorithm {
        case Self.plainAlgorithm where key == nil:
            return try body(UnsafeRawBufferPointer(rebasing: sealed[1...]))
        case Self.aesGCMAlgorithm where key != nil:
            guard sealed.count >= 29 else { throw CodecError(.integrity, "sealed data is too short (\(sealed.count) bytes)") }
            let plain: Data
            do {
                let box = try AES.GCM.SealedBox(combined: UnsafeRawBufferPointer(rebasing: sealed[1...]))
                plain = try AES.GCM.open(box, using: key!)
            } catch {
                throw CodecError(.integrity, "authentication failed", cause: error)
            }
            return try plain.withUnsafeBytes { try body($0) }
        default:
            throw CodecError(.integrity, "sealed with algorithm \(algorithm), which this repository does not use")
        }
    }

    public func open(_ sealed: [UInt8]) throws -> [UInt8] {
        try sealed.withUnsafeBytes { try open($0) }
    }
}

/// A sealed envelope in two pieces: its first byte, then everything after it.
public struct SealedBlob: Sendable {
    public let algorithm: UInt8
    public let body: Data

    public var count: Int { 1 + body.count }

    /// The envelope's bytes in one array (tests, and readers that want one buffer).
    public var bytes: [UInt8] { [algorithm] + Array(body) }
}
