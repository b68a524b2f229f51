/// Buffered, checksumming input for the RDB reader: tracks the absolute offset and feeds every
/// consumed byte to CRC64-Jones. Memory is one fixed buffer, whatever the file's size, or none
/// when the source lends its bytes (`RDBByteSource.lend`).
///
/// The bytes are read from `view`, one span at a time: the next is asked for only once every
/// byte of this one is consumed, so nothing is ever carried from one span to the next.
///
/// Not generic: the source is asked only once per span (1 MiB, or whatever it lends), so an
/// existential costs nothing there, while a generic reader, called from another module, ran
/// unspecialized: every byte read went through the type's metadata (4–5% of a first backup's
/// CPU, in the walk of both RDB files).
final class RDBInput {
    private var source: any RDBByteSource
    /// The reader's own buffer, for a source that copies; allocated on first use.
    private var buffer: UnsafeMutableRawBufferPointer?
    private let bufferSize: Int
    /// The current span: in `buffer`, or lent by the source.
    private var view = UnsafeRawBufferPointer(start: nil, count: 0)
    private var position = 0
    private var filled: Int { view.count }
    /// Bytes of the view before `checksummed` are already in `crc`.
    private var checksummed = 0
    private(set) var crc = CRC64Jones()
    /// Absolute offset of `view[0]`.
    private var base: Int64 = 0
    let what: String

    init(source: any RDBByteSource, what: String, bufferSize: Int = 1 << 20) {
        self.source = source
        self.what = what
        self.bufferSize = bufferSize
    }

    deinit { buffer?.deallocate() }

    var offset: Int64 { base + Int64(position) }

    private func flushChecksum() {
        if position > checksummed {
            crc.update(UnsafeRawBufferPointer(rebasing: view[checksummed..<position]))
            checksummed = position
        }
    }

    /// The checksum of every byte consumed so far.
    func checksum() -> UInt64 {
        flushChecksum()
        return crc.value
    }

    /// Moves on to the next span, once the current one is consumed; false at the end of the source.
    private func refill(context: String) throws -> Bool {
        precondition(position == filled, "a span is left only once consumed")
        // Before the source is asked again: a lent span is valid only until then.
        flushChecksum()
        base += Int64(position)
        position = 0
        checksummed = 0
        if let lent = try source.lend() {
            view = lent
        } else {
            if buffer == nil { buffer = .allocate(byteCount: bufferSize, alignment: 8) }
            let got = try source.read(into: buffer!)
            view = UnsafeRawBufferPointer(rebasing: buffer![0..<got])
        }
        return !view.isEmpty
    }

    private func truncated(_ context: String) -> RedisError {
        RedisError.invalidRDB("\(what) is truncated at byte \(offset) while reading \(context)")
    }

    func byte(_ context: @autoclosure () -> String) throws -> UInt8 {
        if position == filled, try !refill(context: context()) { throw truncated(context()) }
        defer { position += 1 }
        return view[position]
    }

    /// Reads exactly `count` bytes (for small fields).
    func bytes(_ count: Int, _ context: @autoclosure () -> String) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count)
        while out.count < count {
            if position == filled, try !refill(context: context()) { throw truncated(context()) }
            let take = min(count - out.count, filled - position)
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: view[position..<(position + take)]))
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
