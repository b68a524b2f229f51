import Glibc

/// Finds where the last complete command of an append-only file ends, so a copy taken while
/// Redis appends can be cut at a command boundary. Streams the file with one buffer.
public enum AOFScanner {
    /// The offset just past the last complete RESP command in the first `limit` bytes of `fd`.
    /// A file starting with an RDB preamble is not scanned (returns `limit`).
    public static func completeLength(fd: Int32, limit: Int64) throws -> Int64 {
        var source = FileDescriptorSource(descriptor: fd)
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var window: [UInt8] = []
        var windowStart: Int64 = 0
        var consumed: Int64 = 0
        var lastComplete: Int64 = 0
        var first = true
        lseek(fd, 0, SEEK_SET)
        while consumed < limit {
            let want = Int(min(Int64(buffer.count), limit - consumed))
            let got = try buffer.withUnsafeMutableBytes { try source.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<want])) }
            if got == 0 { break }
            if first {
                first = false
                if got >= 5 && Array(buffer[0..<5]) == Array("REDIS".utf8) { return limit }
            }
            window += buffer[0..<got]
            consumed += Int64(got)
            var position = 0
            while let end = commandEnd(window, from: position) {
                position = end
                lastComplete = windowStart + Int64(end)
            }
            window.removeFirst(position)
            windowStart += Int64(position)
        }
        return lastComplete
    }

    /// End of the command starting at `start`, or nil if it is incomplete.
    static func commandEnd(_ bytes: [UInt8], from start: Int) -> Int? {
        guard start < bytes.count, bytes[start] == UInt8(ascii: "*") else { return nil }
        guard let (count, afterCount) = number(bytes, from: start + 1) else { return nil }
        var position = afterCount
        for _ in 0..<max(0, count) {
            guard position < bytes.count, bytes[position] == UInt8(ascii: "$"),
                  let (length, afterLength) = number(bytes, from: position + 1) else { return nil }
            position = afterLength + length + 2
            guard position <= bytes.count else { return nil }
        }
        return position
    }

    private static func number(_ bytes: [UInt8], from start: Int) -> (Int, Int)? {
        var value = 0
        var position = start
        while position < bytes.count, bytes[position] != 13 {
            // 15 digits are far beyond any real count or length; more would overflow Int.
            guard bytes[position] >= 48 && bytes[position] <= 57, position - start < 15 else { return nil }
            value = value * 10 + Int(bytes[position] - 48)
            position += 1
        }
        guard position + 1 < bytes.count, bytes[position + 1] == 10 else { return nil }
        return (value, position + 2)
    }
}
