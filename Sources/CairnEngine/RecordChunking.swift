import CairnCodec
import CairnCore
import CairnRedis
import CairnRepository
import Glibc

extension FileChunkReader {
    /// True when the file starts like an RDB (`REDIS00`), so record chunking applies.
    static func looksLikeRDB(_ fd: Int32) -> Bool {
        var head = [UInt8](repeating: 0, count: 7)
        let count = head.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 7, 0) }
        return count == 7 && head == Array("REDIS00".utf8)
    }

    /// Chunks an RDB coming from `fill` (0 at the end) at key-record boundaries while walking it.
    /// `strict`: the bytes must be a valid RDB (followed by more only when `allowTrailingData`), or
    /// it throws; otherwise what cannot be parsed is stored with generic chunking. Without
    /// `sizeKnown` (a stream), chunk ids are held (32 bytes each) and `node` is written at the end
    /// with the size counted. Returns the bytes consumed and, when the RDB was valid, its summary.
    func readRDB(name: String, into tree: TreeWriter, node: TreeNode, sizeKnown: Bool, strict: Bool,
                 allowTrailingData: Bool = false,
                 fill: @escaping (UnsafeMutableRawBufferPointer) throws -> Int) throws -> (bytes: Int64, summary: RDBSummary?) {
        if sizeKnown { try tree.append(node) }
        let cutter = RecordCutter(reader: self, tree: tree, holdIDs: !sizeKnown, fill: fill)
        let source = WindowSource(cutter: cutter)
        var summary: RDBSummary?
        do {
            do {
                summary = try RDBReader.read(source, name: name, allowTrailingData: allowTrailingData || !strict) { record in cutter.record(record) }
            } catch let error as RedisError where error.category == .integrity && !strict {
                // Not an RDB after all (or a damaged one backed up with --skip-rdb-check): the bytes
                // are stored all the same, cut by content.
                cutter.abandonRecords()
            }
            // The rest: trailing AOF commands, or whatever the parser did not read.
            while try cutter.readMore() > 0 {}
            try cutter.finish()
        } catch {
            cutter.drain()   // the blob writer may still be reading a window
            throw error
        }
        if !sizeKnown {
            var recorded = node
            recorded.size = cutter.total
            try tree.append(recorded)
            try tree.append(chunks: cutter.heldIDs)
        }
        try tree.endChunks()
        return (cutter.total, summary)
    }
}

/// The parser's bytes for record chunking: read from the file straight into the cutter's window
/// and lent to the parser there, so each byte is copied once, from the page cache into the window
/// (with a buffer of the parser's own, it was copied twice: 2% of a first backup's CPU).
struct WindowSource: RDBByteSource {
    let cutter: RecordCutter

    mutating func lend() throws -> UnsafeRawBufferPointer? {
        try cutter.readIntoWindow(limit: Self.readSize)
    }

    /// The same bytes, copied out for a reader that does not borrow (the window keeps them too).
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let span = try cutter.readIntoWindow(limit: min(buffer.count, Self.readSize))
        if span.count > 0 { buffer.baseAddress!.copyMemory(from: span.baseAddress!, byteCount: span.count) }
        return span.count
    }

    /// At most this much is read at a time, so the window is handed on in jobs of a few MiB.
    static let readSize = 1 << 20
}

/// Cuts an RDB into chunks at key-record boundaries, so that a key whose value did not change
/// lands in a chunk with the same bytes as the night before — a nightly dump with 2% of keys
/// changed re-stores about the chunks holding those keys, not the whole file (generic
/// content-defined chunking of 512 KiB re-stores nearly all of it, since changes are spread
/// over the file).
///
/// After each record, it cuts when the chunk has reached the minimum size and a keyed
/// fingerprint of the record's first bytes (type, key name) falls below a threshold
/// proportional to the record's length — so chunks average `averageSize` bytes whatever the
/// record sizes, and the decision moves with the key, not its neighbours. Chunks never exceed
/// `maximumSize` except for one record bigger than that, which is cut by the generic chunker
/// (large values still deduplicate inside). Memory is the reader's window, whatever the file.
final class RecordCutter {
    private let reader: FileChunkReader
    private let tree: TreeWriter
    /// Two windows take turns: while the blob writer hashes the chunks cut in one, the parser
    /// fills the other (which starts with the first's uncut tail).
    private let windows: [UnsafeMutableRawBufferPointer]
    private var current = 0
    private var window: UnsafeMutableRawBufferPointer { windows[current] }
    /// The window handed to the blob writer and not yet given back.
    private var inFlight: BlobWriter.Ticket?
    private let records: ContentDefinedChunker
    private let generic: ContentDefinedChunker
    /// Absolute offset of `window[0]`; bytes before it are stored.
    private var windowBase: Int64 = 0
    private var filled = 0
    /// Lengths of chunks cut but not yet stored, starting at `windowBase`.
    private var cuts: [Int] = []
    private var cutBytes = 0
    /// Absolute end of the last cut: where the chunk being built starts.
    private var cutEnd: Int64 = 0
    /// The current record did not fit the window: it is being cut generically as it arrives.
    private var inBigRecord = false
    private var recordsActive = true
    private(set) var total: Int64 = 0
    /// With `holdIDs`, the chunk ids are collected here instead of written to the tree.
    private let holdIDs: Bool
    private(set) var heldIDs: [ChunkID] = []
    private let fill: (UnsafeMutableRawBufferPointer) throws -> Int

    init(reader: FileChunkReader, tree: TreeWriter, holdIDs: Bool, fill: @escaping (UnsafeMutableRawBufferPointer) throws -> Int) {
        self.reader = reader
        self.tree = tree
        self.holdIDs = holdIDs
        self.fill = fill
        self.windows = [reader.buffer, reader.spareBuffer]
        self.records = reader.repository.recordChunker
        self.generic = reader.repository.chunker
    }

    private var minimum: Int64 { Int64(records.parameters.minimumSize) }
    private var maximum: Int64 { Int64(records.parameters.maximumSize) }
    private var windowEnd: Int64 { windowBase + Int64(filled) }

    /// Reads the next bytes of the file (at most `limit`) into the window and returns them, empty
    /// at the end; they stay where they are until the next call, which may move on to the other
    /// window. Cut chunks are handed on first, once they reach a few MiB.
    func readIntoWindow(limit: Int) throws -> UnsafeRawBufferPointer {
        if cutBytes >= 4 << 20 { try store() }
        if filled == window.count { try makeRoom() }
        let count = min(limit, window.count - filled)
        precondition(count > 0, "makeRoom leaves room in the window")   // a read of 0 bytes would mean the end
        let got = try fill(UnsafeMutableRawBufferPointer(rebasing: window[filled..<(filled + count)]))
        let span = UnsafeRawBufferPointer(rebasing: window[filled..<(filled + got)])
        filled += got
        total += Int64(got)
        return span
    }

    /// Reads more input after the records (or instead of them); cuts generically.
    func readMore() throws -> Int {
        if filled == window.count { try makeRoom() }
        let got = try fill(UnsafeMutableRawBufferPointer(rebasing: window[filled...]))
        filled += got
        total += Int64(got)
        cutGeneric(upTo: windowEnd, final: false)
        if cutBytes >= 4 << 20 { try store() }
        return got
    }

    /// A record ended (the parser read all of it, so its bytes are in the window).
    func record(_ record: RDBRecord) {
        guard recordsActive else { return }
        let end = record.offset + record.length
        if inBigRecord || record.length >= maximum {
            if !inBigRecord { cut(at: record.offset) }
            inBigRecord = false
            cutGeneric(upTo: end, final: true)
            return
        }
        if end - cutEnd > maximum { cut(at: record.offset) }
        if record.kind == .trailer || (end - cutEnd >= minimum && endsChunk(record)) { cut(at: end) }
    }

    /// Stops cutting at records (the file is not a valid RDB); what is left is cut generically.
    func abandonRecords() {
        recordsActive = false
        inBigRecord = false
    }

    /// Cuts and stores everything left.
    func finish() throws {
        cutGeneric(upTo: windowEnd, final: true)
        try store()
        try collect()
    }

    /// After a failure: waits until the blob writer no longer reads a window.
    func drain() {
        if let ticket = inFlight { _ = try? reader.blobs.result(ticket) }
        inFlight = nil
    }

    private func endsChunk(_ record: RDBRecord) -> Bool {
        let start = Int(record.offset - windowBase)
        let count = Int(min(record.length, 24))
        let fingerprint = records.fingerprint(UnsafeRawBufferPointer(rebasing: window[start..<(start + count)]))
        return fingerprint % UInt64(records.parameters.averageSize) < UInt64(record.length)
    }

    private func cut(at end: Int64) {
        guard end > cutEnd else { return }
        cuts.append(Int(end - cutEnd))
        cutBytes += Int(end - cutEnd)
        cutEnd = end
    }

    /// Content-defined cuts over [cutEnd, end); unless `final`, leaves a tail the next bytes decide.
    private func cutGeneric(upTo end: Int64, final: Bool) {
        while cutEnd < end {
            let start = Int(cutEnd - windowBase), stop = Int(end - windowBase)
            if !final && stop - start < generic.parameters.maximumSize { return }
            cut(at: cutEnd + Int64(generic.nextChunkLength(in: UnsafeRawBufferPointer(rebasing: window[start..<stop]))))
        }
    }

    private func makeRoom() throws {
        try store()
        if filled == window.count {
            // One record fills the window: cut it generically as it streams in.
            inBigRecord = true
            cutGeneric(upTo: windowEnd, final: false)
            try store()
        }
    }

    /// Hands the cut chunks to the blob writer and carries on in the other window, which starts
    /// with the unfinished chunk; the ids of the window handed over before are collected first.
    private func store() throws {
        let keep = filled - cutBytes
        if !cuts.isEmpty {
            let ticket = try reader.blobs.submit(UnsafeRawBufferPointer(rebasing: window[0..<cutBytes]), lengths: cuts, kind: .data)
            try collect()
            inFlight = ticket
            let other = windows[1 - current]
            if keep > 0 { other.baseAddress!.copyMemory(from: window.baseAddress! + cutBytes, byteCount: keep) }
            current = 1 - current
            reader.progress.addBytes(Int64(cutBytes))
            reader.chunkedBytes += Int64(cutBytes)
            if reader.chunkedBytes >= reader.faults.chunkedBytesThreshold { reader.faults.reach(.duringChunking) }
        }
        windowBase += Int64(cutBytes)
        filled = keep
        cuts.removeAll(keepingCapacity: true)
        cutBytes = 0
    }

    /// Waits for the window in flight and records its chunk ids, in file order.
    private func collect() throws {
        guard let ticket = inFlight else { return }
        inFlight = nil
        let ids = try reader.blobs.result(ticket)
        if holdIDs { heldIDs += ids } else { try tree.append(chunks: ids) }
    }
}
