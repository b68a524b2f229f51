import Foundation
import Glibc

/// The byte stream under a `RESPConnection`: a blocking socket (TCP or unix), or TLS over TCP.
/// Both block the caller with the connection's timeout and throw `RedisError`s that name the peer.
protocol RESPTransport: AnyObject {
    /// Blocks until at least one byte has arrived and copies up to `buffer.count` of them into it;
    /// 0 when the peer closed the connection.
    func receive(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    /// Sends all of `bytes` before returning.
    func send(_ bytes: [UInt8]) throws
    /// How long `receive` and `send` may wait from now on.
    func setTimeout(_ seconds: Double)
}

/// A read buffer over a transport, with timeouts: what `RESPClient` reads replies and the
/// replication payload from.
final class RESPConnection {
    private let transport: any RESPTransport
    private var buffer = [UInt8](repeating: 0, count: 1 << 16)
    private var position = 0
    private var filled = 0
    let description: String

    /// A socket for redis:// and unix://, TLS for rediss://.
    init(address: RedisAddress, timeout: Double) throws {
        description = address.description
        if let tls = address.tls, case .tcp(let host, let port) = address.endpoint {
            transport = try TLSTransport(host: host, port: port, settings: tls, timeout: timeout, description: description)
        } else {
            transport = try SocketTransport(endpoint: address.endpoint, timeout: timeout, description: description)
        }
    }

    func setTimeout(_ seconds: Double) { transport.setTimeout(seconds) }

    /// Nothing listens at the address, or something else went wrong connecting: the same words
    /// for every transport.
    static func connectError(_ code: Int32, _ description: String) -> RedisError {
        if code == ECONNREFUSED || code == ENOENT {
            var error = RedisError("cannot connect to \(description): \(String(cString: strerror(code)))",
                                   hint: "is redis-server running there? check --redis")
            error.nothingListens = true
            return error
        }
        return RedisError("cannot connect to \(description): \(String(cString: strerror(code)))")
    }

    func write(_ bytes: [UInt8]) throws { try transport.send(bytes) }

    private func fill() throws {
        if position == filled { position = 0; filled = 0 }
        if filled == buffer.count {
            buffer.removeFirst(position)
            filled -= position
            position = 0
            buffer += [UInt8](repeating: 0, count: max(buffer.count, 1 << 16) - buffer.count + (1 << 16))
        }
        let got = try buffer.withUnsafeMutableBytes { try transport.receive(into: UnsafeMutableRawBufferPointer(rebasing: $0[filled...])) }
        if got == 0 { throw RedisError("\(description) closed the connection") }
        filled += got
    }

    /// The longest line `readLine` accepts, CRLF excluded: Redis's own limit on an inline line
    /// (PROTO_INLINE_MAX_SIZE, 64 KiB). The lines Redis sends (status and error replies, `$` and
    /// `*` headers, `+FULLRESYNC`) are far shorter; bulk data is read by length, not as a line.
    static let maximumLineLength = 64 << 10

    /// A line without its CRLF. A peer that sends more than `maximumLineLength` bytes without one
    /// (not a Redis server, or a broken proxy) is a protocol error, rather than a buffer that
    /// grows for as long as it sends.
    func readLine() throws -> [UInt8] {
        var scanFrom = position
        while true {
            if let newline = buffer[scanFrom..<filled].firstIndex(of: 10) {
                var end = newline
                if end > position && buffer[end - 1] == 13 { end -= 1 }
                guard end - position <= Self.maximumLineLength else { throw lineTooLong() }
                let line = Array(buffer[position..<end])
                position = newline + 1
                return line
            }
            // Without its line feed yet, the line may still end in a carriage return.
            guard filled - position <= Self.maximumLineLength + 1 else { throw lineTooLong() }
            scanFrom = filled
            let consumed = position
            try fill()
            scanFrom -= consumed - position
        }
    }

    private func lineTooLong() -> RedisError {
        RedisError("\(description) sent a line longer than \(Self.maximumLineLength / 1024) KiB: not a Redis reply",
                   hint: "check that --redis names a Redis server, not another service or a proxy in between")
    }

    /// Exactly `count` bytes. The buffer grows as they arrive: a length the peer announces
    /// does not size an allocation before the bytes are there.
    func readExactly(_ count: Int) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(min(count, 1 << 20))
        while out.count < count {
            if position == filled { try fill() }
            let take = min(count - out.count, filled - position)
            out.append(contentsOf: buffer[position..<(position + take)])
            position += take
        }
        return out
    }

    /// Up to `limit` bytes, whatever is available (blocking for at least one).
    func readSome(limit: Int, _ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Int {
        if position == filled { try fill() }
        let take = min(limit, filled - position)
        try buffer.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[position..<(position + take)])) }
        position += take
        return take
    }
}
