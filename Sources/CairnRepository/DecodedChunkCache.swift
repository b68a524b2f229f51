import CairnCore
import Foundation

/// Chunks decoded a moment ago, shared by files a restore writes side by side. A dump.rdb and the
/// AOF base hold mostly the same chunks in nearly the same order, so whichever file's stream
/// reaches a chunk first decodes (and verifies) it, and the other copies it from here instead of
/// reading, decrypting and decompressing it again.
///
/// A stream claims the chunks it is about to decode; the other, finding a chunk claimed, waits for
/// it (after decoding its own claims, so neither can wait on the other) instead of decoding it
/// too, so two streams that run neck and neck split the work rather than both doing all of it.
///
/// The bytes live in one ring of `capacity` bytes, overwritten oldest first: memory is fixed, and a
/// chunk the other stream reaches too late is simply decoded again. The stream that is behind
/// finds its chunks here and so catches up, which keeps the two close. Safe from any thread.
public final class DecodedChunkCache: @unchecked Sendable {
    /// What `lookup` found.
    public enum Lookup {
        /// The chunk was here and has been copied.
        case copied
        /// The caller now holds the claim: it decodes the chunk and `insert`s it (or `release`s it).
        case claimed
        /// Another stream is decoding it: `waitAndCopy` once the caller's own claims are done.
        case pending
    }

    private struct Entry {
        /// Where the chunk starts, counted in bytes ever placed (so `% capacity` is its ring offset).
        var position: Int
        var length: Int
    }

    public let capacity: Int
    private let ring: UnsafeMutableRawBufferPointer
    private let lock = NSCondition()
    private var entries: [ChunkID: Entry] = [:]
    private var claims = Set<ChunkID>()
    /// Chunk ids in the order they were placed; those before `oldest` are gone.
    private var order: [ChunkID] = []
    private var oldest = 0
    /// Where the next chunk goes, counted like `Entry.position`.
    private var head = 0
    private var hitBytes: Int64 = 0

    public init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
        ring = .allocate(byteCount: capacity, alignment: 64)
    }

    deinit { ring.deallocate() }

    /// Bytes served from the cache so far.
    public var servedBytes: Int64 {
        lock.lock()
        defer { lock.unlock() }
        return hitBytes
    }

    /// Copies each chunk into its destination (its exact length) when it is here; otherwise claims
    /// it for the caller, or reports that another stream holds the claim. One lock for the lot.
    public func lookup(_ ids: [ChunkID], into destinations: [UnsafeMutableRawBufferPointer]) -> [Lookup] {
        lock.lock()
        defer { lock.unlock() }
        return ids.indices.map { item in
            if copyLocked(ids[item], into: destinations[item]) { return .copied }
            if claims.contains(ids[item]) { return .pending }
            claims.insert(ids[item])
            return .claimed
        }
    }

    public func lookup(_ id: ChunkID, into destination: UnsafeMutableRawBufferPointer) -> Lookup {
        lookup([id], into: [destination])[0]
    }

    /// Waits while another stream holds the claim on each chunk, in turn, then copies it; false for
    /// one that is not here after all (that stream failed, or it was already overwritten): decode it.
    public func waitAndCopy(_ ids: [ChunkID], into destinations: [UnsafeMutableRawBufferPointer]) -> [Bool] {
        lock.lock()
        defer { lock.unlock() }
        return ids.indices.map { item in
            while claims.contains(ids[item]) { lock.wait() }
            return copyLocked(ids[item], into: destinations[item])
        }
    }

    public func waitAndCopy(_ id: ChunkID, into destination: UnsafeMutableRawBufferPointer) -> Bool {
        waitAndCopy([id], into: [destination])[0]
    }

    /// Gives up claims the caller did not fulfil (it failed); claims already fulfilled are ignored.
    public func release(_ ids: [ChunkID]) {
        lock.lock()
        defer { lock.unlock() }
        for id in ids { claims.remove(id) }
        lock.broadcast()
    }

    private func copyLocked(_ id: ChunkID, into destination: UnsafeMutableRawBufferPointer) -> Bool {
        guard let entry = entries[id], entry.length == destination.count else { return false }
        let start = entry.position % capacity
        destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: ring[start..<(start + entry.length)]))
        hitBytes += Int64(entry.length)
        return true
    }

    /// Keeps copies of decoded, verified chunks, overwriting the oldest ones it needs room from,
    /// and fulfils their claims (waking waiters once). Chunks larger than a quarter of the ring are
    /// not kept.
    public func insert(_ ids: [ChunkID], _ chunks: [UnsafeRawBufferPointer]) {
        lock.lock()
        defer { lock.unlock() }
        var fulfilled = false
        for item in ids.indices {
            if claims.remove(ids[item]) != nil { fulfilled = true }
            placeLocked(ids[item], chunks[item])
        }
        if fulfilled { lock.broadcast() }
    }

    public func insert(_ id: ChunkID, _ bytes: UnsafeRawBufferPointer) {
        insert([id], [bytes])
    }

    private func placeLocked(_ id: ChunkID, _ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0, bytes.count <= capacity / 4, entries[id] == nil else { return }
        var start = head
        // A chunk is never split across the ring's end: skip to its start instead.
        if start % capacity + bytes.count > capacity { start += capacity - start % capacity }
        let end = start + bytes.count
        // An entry stays intact while everything placed after it fits in the rest of the ring.
        while oldest < order.count {
            let id = order[oldest]
            if let entry = entries[id], entry.position >= end - capacity { break }
            entries[id] = nil
            oldest += 1
        }
        if oldest >= 4096 && oldest * 2 >= order.count {
            order.removeFirst(oldest)
            oldest = 0
        }
        let offset = start % capacity
        UnsafeMutableRawBufferPointer(rebasing: ring[offset..<(offset + bytes.count)]).copyMemory(from: bytes)
        entries[id] = Entry(position: start, length: bytes.count)
        order.append(id)
        head = end
    }
}
