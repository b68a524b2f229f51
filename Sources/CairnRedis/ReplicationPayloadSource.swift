/// The RDB a master sends after `SYNC`, as a byte source: either `$<length>` bytes, or (diskless
/// replication) bytes up to a 40-byte end mark announced as `$EOF:<mark>`, which is held back and
/// never delivered. `tap` sees every delivered byte, so one pass can validate and store the RDB
/// without a temporary file.
public struct ReplicationPayloadSource: RDBByteSource {
    enum End {
        case length(Int64)
        case mark([UInt8])
    }

    private let connection: RESPConnection
    private var end: End
    private var pending: [UInt8] = []
    private var pendingStart = 0
    private var markSeen = false
    public private(set) var delivered: Int64 = 0
    public var tap: (UnsafeRawBufferPointer) throws -> Void = { _ in }

    init(connection: RESPConnection, end: End) {
        self.connection = connection
        self.end = end
    }

    /// True for the diskless form (length unknown until the end).
    public var isDiskless: Bool {
        if case .mark = end { return true }
        return false
    }

    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard buffer.count > 0 else { return 0 }
        switch end {
        case .length(let remaining):
            guard remaining > 0 else { return 0 }
            var copied = 0
            _ = try connection.readSome(limit: Int(min(Int64(buffer.count), remaining))) { piece in
                buffer.baseAddress!.copyMemory(from: piece.baseAddress!, byteCount: piece.count)
                copied = piece.count
            }
            end = .length(remaining - Int64(copied))
            return try deliver(UnsafeRawBufferPointer(rebasing: buffer[0..<copied]))
        case .mark(let mark):
            while true {
                // Everything but the last 40 bytes can go out; they may be the mark.
                let holdBack = markSeen ? 0 : mark.count
                let available = pending.count - pendingStart - holdBack
                if available > 0 {
                    let count = min(available, buffer.count)
                    pending.withUnsafeBytes { raw in
                        buffer.baseAddress!.copyMemory(from: raw.baseAddress! + pendingStart, byteCount: count)
                    }
                    pendingStart += count
                    if pendingStart > 1 << 20 {
                        pending.removeFirst(pendingStart)
                        pendingStart = 0
                    }
                    return try deliver(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                }
                if markSeen { return 0 }
                _ = try connection.readSome(limit: 1 << 20) { pending.append(contentsOf: $0) }
                if pending.count - pendingStart >= mark.count && pending.suffix(mark.count).elementsEqual(mark) {
                    pending.removeLast(mark.count)
                    markSeen = true
                }
            }
        }
    }

    private mutating func deliver(_ bytes: UnsafeRawBufferPointer) throws -> Int {
        try tap(bytes)
        delivered += Int64(bytes.count)
        return bytes.count
    }
}
