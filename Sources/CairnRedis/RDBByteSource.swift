import Glibc

/// Where RDB bytes come from: a file, a socket, memory. `read` returns 0 at the end.
public protocol RDBByteSource {
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int

    /// For a source that holds the bytes in a buffer of its own: the next bytes, lent where they
    /// are until the next call (empty at the end), so the reader does not copy them into its
    /// buffer. nil (the default): this source copies, through `read(into:)`.
    mutating func lend() throws -> UnsafeRawBufferPointer?
}

extension RDBByteSource {
    public mutating func lend() throws -> UnsafeRawBufferPointer? { nil }
}

/// Reads a file descriptor (not closed by this type).
public struct FileDescriptorSource: RDBByteSource {
    public let descriptor: Int32
    public init(descriptor: Int32) { self.descriptor = descriptor }

    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let count = Glibc.read(descriptor, buffer.baseAddress, buffer.count)
            if count >= 0 { return count }
            if errno != EINTR { throw RedisError(.failure, "read failed: \(String(cString: strerror(errno)))") }
        }
    }
}

/// Reads bytes held in memory.
public struct MemorySource: RDBByteSource {
    private let bytes: [UInt8]
    private var position = 0
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = min(buffer.count, bytes.count - position)
        guard count > 0 else { return 0 }
        bytes.withUnsafeBytes { raw in
            buffer.baseAddress!.copyMemory(from: raw.baseAddress! + position, byteCount: count)
        }
        position += count
        return count
    }
}
