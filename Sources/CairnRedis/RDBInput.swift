/// Buffered, checksumming input for the RDB reader: tracks the absolute offset and feeds every
/// consumed byte to CRC64-Jones. Memory is one fixed buffer, whatever the file's size.
final class RDBInput<Source: RDBByteSource> {
    private var source: Source
    private var buffer: UnsafeMutableRawBufferPointer
    private var position = 0
    private var filled = 0
    /// Bytes of the buffer before `checksummed` are already in `crc`.
    private var checksummed = 0
    private(set) var crc = CRC64Jones()
    /// Absolute offset of `buffer[0]`.
    private var base: Int64 = 0
    let what: String

    init(source: Source, what: String, bufferSize: Int = 1 << 20) {
        self.source = source
        self.what = what
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 8)
    }

    deinit { buffer.deallocate() }

    var offset: Int64 { base + Int64(position) }

    private func flushChecksum() {
        if position > checksummed {
            crc.update(UnsafeRawBufferPointer(rebasing: buffer[checksummed..<position]))
            checksummed = position
        }
    }

    /// The checksum of every byte consumed so far.
    func checksum() -> UInt64 {
        flushChecksum()
        return crc.value
    }

    /// Refills; false at the end of the source.
    private func refill(context: String) throws -> Bool {
        flushChecksum()
        let keep = filled - position
        if keep > 0 { buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + position, byteCount: keep) }
        base += Int64(position)
        position = 0
        checksummed = 0
        filled = keep
        let got = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
        filled += got
        return got > 0
    }

    private func truncated(_ context: String) -> RedisError {
        RedisError.invalidRDB("\(what) is truncated at byte \(offset) while reading \(context)")
    }

    func byte(_ context: @autoclosure () -> String) throws -> UInt8 {
        if position == filled, try !refill(context: context()) { throw truncated(context()) }
        defer { position += 1 }
        return buffer[position]
    }

    /// Reads exactly `count` bytes (for small fields).
    func bytes(_ count: Int, _ context: @autoclosure () -> String) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count)
        while out.count < count {
            if position == filled, try !refill(context: context()) { throw truncated(context()) }
            let take = min(count - out.count, filled - position)
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[position..<(position + take)]))
            position += take
        }
        return out
    }

    /// Skips `count` bytes (values are skipped, never held).
    func skip(_ count: Int64, _ context: @autoclosure () -> String) throws {
        var left = count
        while left > 0 {
            if position == filled, try !refill(context: context()) { throw truncated(context()) }
            let take = Int(min(left, Int64(filled - position)))
            position += take
            left -= Int64(take)
        }
    }

    /// True when no byte is left.
    func atEnd() throws -> Bool {
        if position < filled { return false }
        return try !refill(context: "the end")
    }
}
