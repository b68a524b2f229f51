import Glibc

/// Finds where the last complete command of an append-only file ends, so a copy taken while
/// Redis appends can be cut at a command boundary.
///
/// Only the headers (`*count`, `$length`) are read, through one window of the file; an argument's
/// bytes are skipped by its length, never held, and only the CRLF after them is read, which says
/// the length was right. Memory stays one window whatever a header announces: a length past the
/// end makes the command incomplete at once, and a large value (Redis allows 512 MB) is passed
/// over without being read.
public enum AOFScanner {
    /// The offset just past the last complete RESP command in the first `limit` bytes of `fd`.
    /// A file starting with an RDB preamble is not scanned (returns `limit`).
    public static func completeLength(fd: Int32, limit: Int64) throws -> Int64 {
        var file = FileWindow(descriptor: fd, limit: limit)
        if try file.bytes(at: 0, count: 5) == Array("REDIS".utf8) { return limit }
        var complete: Int64 = 0
        while let end = try commandEnd(in: &file, from: complete) { complete = end }
        return complete
    }

    /// End of the command starting at `start`, or nil if it is incomplete or malformed (nothing
    /// after it counts then).
    static func commandEnd(in file: inout FileWindow, from start: Int64) throws -> Int64? {
        guard try file.byte(at: start) == UInt8(ascii: "*"), let (count, afterCount) = try number(in: &file, from: start + 1) else {
            return nil
        }
        var position = afterCount
        for _ in 0..<count {
            guard try file.byte(at: position) == UInt8(ascii: "$"), let (length, afterLength) = try number(in: &file, from: position + 1) else {
                return nil
            }
            // Skipped, not read: the CRLF after it must be there, within `limit` and the file. Any
            // other two bytes (a damaged length or argument) end the scan, as a bad header does.
            position = afterLength + length + 2
            guard try file.byte(at: position - 2) == 13, try file.byte(at: position - 1) == 10 else { return nil }
        }
        return position
    }

    /// The decimal number at `start` and the offset past its CRLF.
    private static func number(in file: inout FileWindow, from start: Int64) throws -> (Int64, Int64)? {
        var value: Int64 = 0
        var position = start
        while let byte = try file.byte(at: position), byte != 13 {
            // 15 digits are far beyond any real count or length, and keep the sums below in range.
            guard byte >= 48 && byte <= 57, position - start < 15 else { return nil }
            value = value * 10 + Int64(byte - 48)
            position += 1
        }
        guard try file.byte(at: position + 1) == 10 else { return nil }
        return (value, position + 2)
    }
}
