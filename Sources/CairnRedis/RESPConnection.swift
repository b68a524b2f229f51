import Foundation
import Glibc

/// A blocking socket with timeouts and a read buffer: the transport under `RESPClient`.
final class RESPConnection {
    private let fd: Int32
    private var buffer = [UInt8](repeating: 0, count: 1 << 16)
    private var position = 0
    private var filled = 0
    let description: String

    init(endpoint: RedisAddress.Endpoint, timeout: Double, description: String) throws {
        self.description = description
        switch endpoint {
        case .tcp(let host, let port):
            fd = try Self.connectTCP(host: host, port: port, timeout: timeout, description: description)
        case .unix(let path):
            fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw RedisError("cannot create a socket: \(String(cString: strerror(errno)))") }
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw RedisError(.usage, "socket path too long: \(path)") }
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (index, byte) in bytes.enumerated() { raw[index] = byte }
            }
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            if result != 0 {
                let code = errno
                close(fd)
                throw Self.connectError(code, description)
            }
        }
        setTimeout(timeout)
    }

    deinit { close(fd) }

    func setTimeout(_ seconds: Double) {
        var value = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    private static func connectError(_ code: Int32, _ description: String) -> RedisError {
        if code == ECONNREFUSED || code == ENOENT {
            var error = RedisError("cannot connect to \(description): \(String(cString: strerror(code)))",
                                   hint: "is redis-server running there? check --redis")
            error.nothingListens = true
            return error
        }
        return RedisError("cannot connect to \(description): \(String(cString: strerror(code)))")
    }

    private static func connectTCP(host: String, port: Int, timeout: Double, description: String) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var results: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &results)
        guard status == 0, let first = results else {
            throw RedisError("cannot resolve \(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(results) }
        var lastError: Int32 = ECONNREFUSED
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let info = candidate {
            candidate = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            if fd < 0 { lastError = errno; continue }
            let flags = fcntl(fd, F_GETFL)
            _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
            var result = connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen)
            if result != 0 && errno == EINPROGRESS {
                var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                if poll(&poller, 1, Int32(timeout * 1000)) == 1 {
                    var error: Int32 = 0
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
                    result = error == 0 ? 0 : -1
                    errno = error
                } else {
                    errno = ETIMEDOUT
                }
            }
            if result == 0 {
                _ = fcntl(fd, F_SETFL, flags)
                var one: Int32 = 1
                setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                return fd
            }
            lastError = errno
            close(fd)
        }
        throw connectError(lastError, description)
    }

    func write(_ bytes: [UInt8]) throws {
        var done = 0
        while done < bytes.count {
            let sent = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + done, $0.count - done, Int32(MSG_NOSIGNAL)) }
            if sent < 0 {
                if errno == EINTR { continue }
                throw ioError("sending to")
            }
            done += sent
        }
    }

    private func ioError(_ verb: String) -> RedisError {
        if errno == EAGAIN || errno == EWOULDBLOCK {
            return RedisError("timed out \(verb == "sending to" ? "sending to" : "waiting for") \(description)")
        }
        return RedisError("connection to \(description) failed: \(String(cString: strerror(errno)))")
    }

    private func fill() throws {
        if position == filled { position = 0; filled = 0 }
        if filled == buffer.count {
            buffer.removeFirst(position)
            filled -= position
            position = 0
            buffer += [UInt8](repeating: 0, count: max(buffer.count, 1 << 16) - buffer.count + (1 << 16))
        }
        while true {
            let got = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + filled, $0.count - filled, 0) }
            if got < 0 {
                if errno == EINTR { continue }
                throw ioError("waiting for")
            }
            if got == 0 { throw RedisError("\(description) closed the connection") }
            filled += got
            return
        }
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
