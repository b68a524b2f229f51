import Glibc

/// The first `limit` bytes of a file, read with pread through one 1 MiB buffer that moves to
/// wherever the next byte asked for is.
struct FileWindow {
    let descriptor: Int32
    let limit: Int64
    private var buffer = [UInt8](repeating: 0, count: 1 << 20)
    private var start: Int64 = 0
    private var count = 0

    init(descriptor: Int32, limit: Int64) {
        self.descriptor = descriptor
        self.limit = limit
    }

    /// The byte at `offset`, nil at or past the limit or the end of the file.
    mutating func byte(at offset: Int64) throws -> UInt8? {
        guard offset >= 0, offset < limit else { return nil }
        if offset < start || offset >= start + Int64(count) {
            try fill(from: offset)
            guard count > 0 else { return nil }
        }
        return buffer[Int(offset - start)]
    }

    /// `length` bytes at `offset`, fewer where the limit or the file ends first.
    mutating func bytes(at offset: Int64, count length: Int) throws -> [UInt8] {
        var out: [UInt8] = []
        for position in offset..<(offset + Int64(length)) {
            guard let byte = try byte(at: position) else { break }
            out.append(byte)
        }
        return out
    }

    private mutating func fill(from offset: Int64) throws {
        start = offset
        count = 0
        let want = Int(min(Int64(buffer.count), limit - offset))
        while true {
            let got = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, want, off_t(offset)) }
            if got >= 0 {
                count = got
                return
            }
            if errno != EINTR { throw RedisError(.failure, "read failed: \(String(cString: strerror(errno)))") }
        }
    }
}
