import Foundation
import Crypto
import Synchronization
import CairnCodec
import CairnCore
import Testing

@Suite struct ChunkerTests {
    let parameters = ChunkerParameters(minimumSize: 2048, averageSize: 8192, maximumSize: 32768)
    let seed = (0..<32).map { UInt8($0) }

    func data(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }

    func cuts(_ bytes: [UInt8], _ chunker: ContentDefinedChunker) -> [Int] {
        bytes.withUnsafeBytes { raw in
            var lengths: [Int] = []
            var position = 0
            while position < raw.count {
                let length = chunker.nextChunkLength(in: UnsafeRawBufferPointer(rebasing: raw[position...]))
                lengths.append(length)
                position += length
            }
            return lengths
        }
    }

    @Test func lengthsRespectBoundsAndCoverTheInput() {
        let chunker = ContentDefinedChunker(parameters: parameters, seed: seed)
        let bytes = data(1 << 20, seed: 1)
        let lengths = cuts(bytes, chunker)
        #expect(lengths.reduce(0, +) == bytes.count)
        #expect(lengths.dropLast().allSatisfy { $0 >= parameters.minimumSize && $0 <= parameters.maximumSize })
        let mean = bytes.count / lengths.count
        #expect(mean > parameters.minimumSize && mean < parameters.maximumSize)
        #expect(cuts(bytes, chunker) == lengths)
    }

    @Test func cutPointsResynchronizeAfterAnInsertion() {
        let chunker = ContentDefinedChunker(parameters: parameters, seed: seed)
        let bytes = data(1 << 20, seed: 2)
        let original = Set(positions(cuts(bytes, chunker)))
        let shifted = positions(cuts([42] + bytes, chunker)).map { $0 - 1 }
        let shared = shifted.filter { original.contains($0) }
        #expect(Double(shared.count) > Double(original.count) * 0.9)
    }

    @Test func differentSeedsCutDifferently() {
        let bytes = data(1 << 20, seed: 3)
        let one = cuts(bytes, ContentDefinedChunker(parameters: parameters, seed: seed))
        let two = cuts(bytes, ContentDefinedChunker(parameters: parameters, seed: seed.map { $0 ^ 0x5a }))
        #expect(one != two)
    }

    func positions(_ lengths: [Int]) -> [Int] {
        var total = 0
        return lengths.map { total += $0; return total }
    }
}

@Suite struct HashingTests {
    @Test func hmacMatchesRFC4231TestCase2() {
        // Key "Jefe" padded to 32 bytes with zeros is the same HMAC key as "Jefe" (keys are zero-padded).
        let key = Array("Jefe".utf8) + [UInt8](repeating: 0, count: 28)
        let id = Array("what do ya want for nothing?".utf8).withUnsafeBytes { ChunkHasher(idKey: key).id(of: $0) }
        #expect(id.hex == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    /// The hasher is HMAC-SHA-256, and copies the keyed states per id: copies must not share
    /// state, also across threads.
    @Test func hasherCopiesDoNotShareState() {
        let key = (0..<32).map { UInt8($0) }
        let hasher = ChunkHasher(idKey: key)
        // Lengths around SHA-256's 64-byte block and its 55/56-byte padding edge, the empty input,
        // and one of several blocks' worth of megabytes, besides 1 … 2332 bytes.
        let lengths = (0..<64).map { $0 * 37 + 1 } + [0, 55, 56, 63, 64, 65, 119, 120, 127, 128, (1 << 20) + 3]
        let inputs = lengths.enumerated().map { index, length in (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) } }
        let expected = inputs.map { input in
            input.withUnsafeBytes { HMAC<SHA256>.authenticationCode(for: $0, using: SymmetricKey(data: key)) }
                .withUnsafeBytes { Hex.encode(Array($0)) }
        }
        let results = Mutex(Array(repeating: "", count: inputs.count))
        DispatchQueue.concurrentPerform(iterations: inputs.count * 4) { iteration in
            let item = iteration % inputs.count
            let id = inputs[item].withUnsafeBytes { hasher.id(of: $0) }.hex
            results.withLock { $0[item] = $0[item].isEmpty || $0[item] == id ? id : "MISMATCH" }
        }
        #expect(results.withLock { $0 } == expected)
    }

    @Test func streamingSHA256EqualsOneShot() {
        let bytes = Array("abc".utf8)
        var stream = StreamingSHA256()
        bytes.withUnsafeBytes { stream.update(UnsafeRawBufferPointer(rebasing: $0[0..<1])); stream.update(UnsafeRawBufferPointer(rebasing: $0[1...])) }
        #expect(stream.finalize() == SHA256Digest.hash(bytes))
        #expect(SHA256Digest.hash(bytes).hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}

@Suite struct CompressionTests {
    @Test func roundTripAndIncompressibleData() throws {
        let text = Array(String(repeating: "user:1000 {\"cart\":[1,2,3]}\n", count: 2000).utf8)
        let compressor = ZstdCompressor(level: 3)
        let packed = try #require(try text.withUnsafeBytes { try compressor.compress($0) })
        #expect(packed.count < text.count / 10)
        let back = try packed.withUnsafeBytes { try ZstdDecompressor().decompress($0, rawLength: text.count) }
        #expect(back == text)
        var state: UInt64 = 7
        let noise = (0..<65536).map { _ -> UInt8 in state = state &* 6364136223846793005 &+ 1; return UInt8(truncatingIfNeeded: state >> 40) }
        #expect(try noise.withUnsafeBytes { try compressor.compress($0) } == nil)
    }

    /// A negative raw length trapped making the output array, and a wrong one as large as 1 TiB
    /// was allocated before zstd could say the frame is smaller.
    @Test(arguments: [-1, 1 << 40, 5999])
    func aRawLengthTheFrameDoesNotDeclareIsRefusedBeforeAllocating(rawLength: Int) throws {
        let text = Array(String(repeating: "abc", count: 2000).utf8)
        let packed = try #require(try text.withUnsafeBytes { try ZstdCompressor(level: 3).compress($0) })
        let error = #expect(throws: CodecError.self) {
            _ = try packed.withUnsafeBytes { try ZstdDecompressor().decompress($0, rawLength: rawLength) }
        }
        #expect(error?.category == .integrity)
    }

    /// The lending form hands out the same frame the array form returns, and nil where that is nil.
    @Test func lentFrameEqualsReturnedFrame() throws {
        let compressor = ZstdCompressor(level: 3)
        let text = Array(String(repeating: "hset user:42 name ada\n", count: 500).utf8)
        let returned = try text.withUnsafeBytes { try compressor.compress($0) }
        let lent = try text.withUnsafeBytes { try compressor.compress($0) { $0.map { Array($0) } } }
        #expect(returned != nil && lent == returned)
        var state: UInt64 = 11
        let noise = (0..<4096).map { _ -> UInt8 in state = state &* 6364136223846793005 &+ 1; return UInt8(truncatingIfNeeded: state >> 40) }
        let lentNothing: Bool = try noise.withUnsafeBytes { try compressor.compress($0) { frame in frame == nil } }
        let returnedNothing = try noise.withUnsafeBytes { try compressor.compress($0) } == nil
        #expect(lentNothing && returnedNothing)
        let empty: Bool = try [UInt8]().withUnsafeBytes { try compressor.compress($0) { frame in frame == nil } }
        #expect(empty)
    }

    @Test func corruptFrameThrowsIntegrity() throws {
        let text = Array(String(repeating: "abc", count: 1000).utf8)
        var packed = try #require(try text.withUnsafeBytes { try ZstdCompressor(level: 3).compress($0) })
        packed[packed.count / 2] ^= 0xff
        do {
            _ = try packed.withUnsafeBytes { try ZstdDecompressor().decompress($0, rawLength: text.count) }
            Issue.record("a corrupt frame must not decode")
        } catch let error as CodecError {
            #expect(error.category == .integrity)
        }
    }
}

@Suite struct EnvelopeTests {
    @Test func sealOpenAndTamper() throws {
        let key = MasterKey.random()
        let envelope = Envelope(encryptionKey: key.encryptionKey)
        let plain = Array("dump.rdb bytes".utf8)
        var sealed = envelope.seal(plain)
        #expect(sealed.count == plain.count + envelope.overhead)
        #expect(sealed[0] == 0x01)
        #expect(try envelope.open(sealed) == plain)
        #expect(envelope.seal(plain) != sealed, "nonces are random")
        sealed[sealed.count - 20] ^= 1
        #expect(throws: CodecError.self) { try envelope.open(sealed) }
        #expect(throws: CodecError.self) { try Envelope(encryptionKey: MasterKey.random().encryptionKey).open(envelope.seal(plain)) }
    }

    @Test func insecureModeStoresPlaintextWithAHeader() throws {
        let envelope = Envelope(encryptionKey: nil)
        let sealed = envelope.seal([1, 2, 3])
        #expect(sealed == [0, 1, 2, 3])
        #expect(try envelope.open(sealed) == [1, 2, 3])
        #expect(throws: CodecError.self) { try Envelope(encryptionKey: MasterKey.random().encryptionKey).open(sealed) }
    }

    /// A blob sealed in two pieces is the same envelope as `seal` makes, encrypted or not.
    @Test func sealBlobIsAnEnvelope() throws {
        let plain = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let encrypted = Envelope(encryptionKey: MasterKey.random().encryptionKey)
        let blob = plain.withUnsafeBytes { encrypted.sealBlob($0) }
        #expect(blob.algorithm == 0x01)
        #expect(blob.count == plain.count + encrypted.overhead && blob.bytes.count == blob.count)
        #expect(try encrypted.open(blob.bytes) == plain)
        var tampered = blob.bytes
        tampered[1] ^= 1   // the nonce
        #expect(throws: CodecError.self) { try encrypted.open(tampered) }
        let insecure = Envelope(encryptionKey: nil)
        let plainBlob = plain.withUnsafeBytes { insecure.sealBlob($0) }
        #expect(plainBlob.bytes == insecure.seal(plain))
    }

    @Test func wrappedKeyOpensOnlyWithItsPassword() throws {
        let key = MasterKey.random()
        let wrapped = try WrappedKey.wrap(key, password: "s3cret", parameters: ScryptParameters(logN: 10, r: 8, p: 1))
        #expect(try wrapped.unwrap(password: "s3cret").serialized == key.serialized)
        do {
            _ = try wrapped.unwrap(password: "wrong")
            Issue.record("a wrong password must not unwrap")
        } catch let error as CodecError {
            #expect(error.category == .wrongPassword)
        }
        #expect(throws: CodecError.self) { try MasterKey(serialized: [1, 2, 3]) }
    }

    /// A key file is read before anything authenticates it. Scrypt parameters within the memory
    /// limit but with a parallelism of 2^16 (2^26 blocks to mix, 256 times the standard cost) kept
    /// unwrapping busy for many seconds, and p = 2^20 for minutes, before it failed. Work beyond
    /// that of a 256 MiB derivation is refused at once.
    @Test func scryptParametersThatWouldRunForMinutesAreRefused() throws {
        var wrapped = try WrappedKey.wrap(MasterKey.random(), password: "pw", parameters: ScryptParameters(logN: 10, r: 8, p: 1))
        wrapped.r = 1
        wrapped.p = 1 << 16
        let error = #expect(throws: CodecError.self) { _ = try wrapped.unwrap(password: "pw") }
        #expect(error?.category == .integrity)
        #expect(error?.message.contains("scrypt parameters out of range (logN 10, r 1, p 65536)") == true, "\(error?.message ?? "")")
    }
}
