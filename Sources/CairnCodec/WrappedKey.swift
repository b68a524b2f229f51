import CairnCore
import Crypto
import CryptoExtras
import Foundation

/// scrypt cost parameters.
public struct ScryptParameters: Sendable, Codable, Equatable {
    public var logN: Int
    public var r: Int
    public var p: Int

    public init(logN: Int, r: Int, p: Int) {
        self.logN = logN; self.r = r; self.p = p
    }

    /// N = 2^15, r = 8, p = 1: ~60 ms and 32 MiB on these machines.
    public static let standard = ScryptParameters(logN: 15, r: 8, p: 1)
}

/// The master key wrapped by a password-derived key (scrypt), as stored in `keys/ID`.
public struct WrappedKey: Sendable, Codable, Equatable {
    public var kdf: String
    public var logN: Int
    public var r: Int
    public var p: Int
    /// base64 of 32 random bytes.
    public var salt: String
    /// base64 of the master key sealed in the envelope format with the derived key.
    public var data: String

    public static func wrap(_ key: MasterKey, password: String, parameters: ScryptParameters) throws -> WrappedKey {
        let salt = (0..<32).map { _ in UInt8.random(in: 0...255) }
        let derived = try derive(password: password, salt: salt, parameters: parameters)
        let sealed = Envelope(encryptionKey: derived).seal(key.serialized)
        return WrappedKey(kdf: "scrypt", logN: parameters.logN, r: parameters.r, p: parameters.p,
                          salt: Data(salt).base64EncodedString(), data: Data(sealed).base64EncodedString())
    }

    /// The master key; throws a `.wrongPassword` error when the password does not open it.
    public func unwrap(password: String) throws -> MasterKey {
        guard kdf == "scrypt", let salt = Data(base64Encoded: salt), let sealed = Data(base64Encoded: data) else {
            throw CodecError(.integrity, "the key file uses an unknown format (kdf \(kdf))")
        }
        let derived = try Self.derive(password: password, salt: Array(salt), parameters: ScryptParameters(logN: logN, r: r, p: p))
        let plain: [UInt8]
        do {
            plain = try Envelope(encryptionKey: derived).open(Array(sealed))
        } catch {
            throw CodecError(.wrongPassword, "the password does not open this key")
        }
        return try MasterKey(serialized: plain)
    }

    /// Scrypt blocks (128 × r bytes) the derivation may mix in all: the memory limit below
    /// holds N × r, and this holds the time too (p runs of N × r each). `standard` is 2^18.
    static let maximumWork = 1 << 21

    private static func derive(password: String, salt: [UInt8], parameters: ScryptParameters) throws -> [UInt8] {
        guard (10...22).contains(parameters.logN), (1...1024).contains(parameters.r), (1...1024).contains(parameters.p),
              (1 << parameters.logN) * parameters.r * parameters.p <= maximumWork else {
            throw CodecError(.integrity, "scrypt parameters out of range (logN \(parameters.logN), r \(parameters.r), p \(parameters.p))")
        }
        let key = try KDF.Scrypt.deriveKey(from: Array(password.utf8), salt: salt, outputByteCount: 32,
                                           rounds: 1 << parameters.logN, blockSize: parameters.r, parallelism: parameters.p,
                                           maxMemory: 256 << 20)
        MemoryTuning.releaseFreeMemory()   // scrypt's 32 MiB, freed
        return key.withUnsafeBytes { Array($0) }
    }
}
