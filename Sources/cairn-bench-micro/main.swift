// cairn-bench-micro: throughput of each stage of Cairn's pipeline on this machine, one core,
// so a slow backup or restore can be traced to its stage. `make bench-micro` runs it (release).
import CairnCatalog
import CairnCodec
import CairnCore
import CairnRedis
import Foundation

/// Mildly compressible bytes, like Redis values (text with repeats), seeded.
func sample(_ count: Int, seed: UInt64) -> [UInt8] {
    var state = seed &+ 0x9E37_79B9_7F4A_7C15
    var out = [UInt8](repeating: 0, count: count)
    let words = Array("user:session:cart{\"id\":42,\"name\":\"payload\"}".utf8)
    var index = 0
    while index < count {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        if state >> 62 == 0 {
            let start = Int(state >> 32) % (words.count - 8)
            for byte in words[start..<(start + 8)] where index < count { out[index] = byte; index += 1 }
        } else {
            out[index] = UInt8(truncatingIfNeeded: state >> 40); index += 1
        }
    }
    return out
}

/// Runs `body` until at least a second has passed; returns units per second.
func measure(_ units: Double, _ body: () throws -> Void) rethrows -> Double {
    var rounds = 0
    let start = Date()
    repeat {
        try body()
        rounds += 1
    } while Date().timeIntervalSince(start) < 1
    return Double(rounds) * units / Date().timeIntervalSince(start)
}

func row(_ name: String, _ value: Double, _ unit: String) {
    print("| \(name.padding(toLength: 44, withPad: " ", startingAt: 0)) | \(String(format: "%10.1f", value)) | \(unit.padding(toLength: 6, withPad: " ", startingAt: 0)) |")
}

let megabytes = 64
let data = sample(megabytes << 20, seed: 1)
let key = MasterKey.random()
let chunker = ContentDefinedChunker(parameters: .standard, seed: key.chunkerSeed)
let hasher = ChunkHasher(idKey: key.idKey)
let envelope = Envelope(encryptionKey: key.encryptionKey)
let compressor = ZstdCompressor(level: 3)
let decompressor = ZstdDecompressor()
let mb = Double(megabytes)

print("| stage (one core, \(megabytes) MiB of Redis-like bytes)       |   per second | unit   |")
print("|----------------------------------------------|------------:|--------|")
try data.withUnsafeBytes { raw in
    row("FastCDC 128K/512K/2M", measure(mb) {
        var position = 0
        while position < raw.count { position += chunker.nextChunkLength(in: UnsafeRawBufferPointer(rebasing: raw[position...])) }
    }, "MiB")
    for size in [2 << 10, 32 << 10, 512 << 10] {   // 32 KiB: a format 2 frame of record chunks
        let pieces = raw.count / size
        row("HMAC-SHA-256 chunk id, \(size >> 10) KiB chunks", measure(mb) {
            for piece in 0..<pieces { _ = hasher.id(of: UnsafeRawBufferPointer(rebasing: raw[(piece * size)..<((piece + 1) * size)])) }
        }, "MiB")
        row("zstd -3 compress, \(size >> 10) KiB chunks", try measure(mb) {
            for piece in 0..<pieces { _ = try compressor.compress(UnsafeRawBufferPointer(rebasing: raw[(piece * size)..<((piece + 1) * size)])) }
        }, "MiB")
        let frames = try (0..<pieces).map { piece in
            try compressor.compress(UnsafeRawBufferPointer(rebasing: raw[(piece * size)..<((piece + 1) * size)])) ?? []
        }
        row("zstd decompress, \(size >> 10) KiB chunks", try measure(mb) {
            for frame in frames where !frame.isEmpty { _ = try frame.withUnsafeBytes { try decompressor.decompress($0, rawLength: size) } }
        }, "MiB")
        row("AES-256-GCM seal, \(size >> 10) KiB chunks", measure(mb) {
            for piece in 0..<pieces { _ = envelope.seal(UnsafeRawBufferPointer(rebasing: raw[(piece * size)..<((piece + 1) * size)])) }
        }, "MiB")
        let sealed = (0..<min(pieces, 4096)).map { piece in envelope.seal(UnsafeRawBufferPointer(rebasing: raw[(piece * size)..<((piece + 1) * size)])) }
        let sealedMB = Double(sealed.count * size) / Double(1 << 20)
        row("AES-256-GCM open, \(size >> 10) KiB chunks", try measure(sealedMB) {
            for blob in sealed { _ = try envelope.open(blob) }
        }, "MiB")
    }
    var crc = CRC64Jones()
    row("CRC64-Jones (RDB trailer), slice-by-8 tables", measure(mb) { crc = CRC64Jones(); crc.updateWithTables(raw) }, "MiB")
    row("CRC64-Jones (RDB trailer), \(CRC64Jones.folds ? "PCLMULQDQ folding" : "no folding on this CPU")",
        measure(mb) { crc = CRC64Jones(); crc.update(raw) }, "MiB")
    _ = crc.value
}

// The catalog: the dedup lookup every chunk makes, and the batched lookup restore makes.
let catalog = try Catalog.inMemory()
let chunkCount = 200_000
var ids: [ChunkID] = []
ids.reserveCapacity(chunkCount)
for index in 0..<chunkCount {
    var bytes = [UInt8](repeating: 0, count: 8)
    withUnsafeBytes(of: UInt64(index)) { for (offset, byte) in $0.enumerated() { bytes[offset] = byte } }
    ids.append(hasher.id(of: bytes.withUnsafeBytes { $0 }))
}
let packs = stride(from: 0, to: chunkCount, by: 5_000).map { start -> PackRecord in
    let entries = (start..<min(start + 5_000, chunkCount)).map { index in
        PackEntry(chunk: ids[index], kind: .data, compression: 1, offset: Int64((index - start) * 1_000), storedLength: 1_000, rawLength: 2_048)
    }
    return PackRecord(id: PackID(SHA256Digest.hash(Array("pack \(start)".utf8))), size: 5_000_000, entries: entries)
}
let inserted = Date()
try catalog.write { writer in try writer.insertIndex(IndexID(SHA256Digest.hash(Array("index".utf8))), packs: packs) }
row("catalog insert (one transaction)", Double(chunkCount) / Date().timeIntervalSince(inserted), "rows")
let probe = Array(ids.shuffled().prefix(20_000))
row("catalog contains, one call per chunk", try measure(Double(probe.count)) { for id in probe { _ = try catalog.contains(id) } }, "ops")
row("catalog contains, batched", try measure(Double(probe.count)) { _ = try catalog.contains(probe) }, "ops")
row("catalog location, batched (restore)", try measure(Double(probe.count)) { _ = try catalog.locations(of: probe) }, "ops")

// A restore's in-memory tables (RestoreStream, DecodedChunkCache) look chunk ids up several times
// per chunk; ids hash without Hasher (Hash256._rawHashValue). The second row is the same lookups
// through Hasher (SipHash-1-3 of the same folded word), as they were before.
struct ThroughHasher: Hashable {
    let id: ChunkID
    func hash(into hasher: inout Hasher) { hasher.combine(id.hash) }
}
let table = Dictionary(uniqueKeysWithValues: ids.enumerated().map { ($1, $0) })
let hasherTable = Dictionary(uniqueKeysWithValues: ids.enumerated().map { (ThroughHasher(id: $1), $0) })
let hasherProbe = probe.map(ThroughHasher.init)
var found = 0
row("chunk id lookups in a Dictionary", measure(Double(probe.count)) { for id in probe { found &+= table[id] ?? 0 } }, "ops")
row("chunk id lookups, through Hasher", measure(Double(probe.count)) { for id in hasherProbe { found &+= hasherTable[id] ?? 0 } }, "ops")
precondition(found != 0)
