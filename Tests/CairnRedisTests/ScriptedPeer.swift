import CairnRedis
import Dispatch
import Foundation
import Glibc
import Synchronization

/// A peer on a Unix socket (or, with `overTCP`, on a port of 127.0.0.1) that accepts one
/// connection, sends a fixed byte stream in small pieces (so the client sees replies split across
/// reads), closes its sending side, then records what the client sent until it hangs up. RESP
/// parsing has no socket-free entry point; this is the smallest real socket.
final class ScriptedPeer: Sendable {
    let endpoint: RedisAddress.Endpoint
    private let received = Mutex<[UInt8]>([])
    private let finished = DispatchSemaphore(value: 0)

    /// The Unix socket's path ("" over TCP).
    var path: String {
        if case .unix(let path) = endpoint { return path }
        return ""
    }

    init(sending stream: [UInt8], pieceSizes: [Int] = [1, 3, 7, 2, 5], overTCP: Bool = false) throws {
        let (listener, endpoint) = try overTCP ? Self.listenOnLoopback() : Self.listenOnUnixSocket()
        self.endpoint = endpoint
        let path = self.path
        DispatchQueue.global().async { [self] in
            let connection = accept(listener, nil, nil)
            close(listener)
            if !path.isEmpty { unlink(path) }
            var sent = 0, piece = 0
            while sent < stream.count {
                let size = min(stream.count - sent, pieceSizes[piece % pieceSizes.count])
                piece += 1
                let written = stream[sent..<(sent + size)].withUnsafeBytes { send(connection, $0.baseAddress, size, Int32(MSG_NOSIGNAL)) }
                if written <= 0 { break }
                sent += written
                if piece % 16 == 0 { usleep(100) }
            }
            shutdown(connection, Int32(SHUT_WR))
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let got = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
                if got <= 0 { break }
                received.withLock { $0 += buffer[0..<got] }
            }
            close(connection)
            finished.signal()
        }
    }

    private static func listenOnUnixSocket() throws -> (Int32, RedisAddress.Endpoint) {
        let path = "/tmp/cairn-resp-\(UUID().uuidString.prefix(8)).sock"
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard listener >= 0, bound == 0, listen(listener, 1) == 0 else { throw POSIXError(.EADDRINUSE) }
        return (listener, .unix(path: path))
    }

    /// A listener on a free port of 127.0.0.1 (port 0: the kernel picks one).
    private static func listenOnLoopback() throws -> (Int32, RedisAddress.Endpoint) {
        let (listener, address) = try loopbackListener(backlog: 1)
        return (listener, .tcp(host: "127.0.0.1", port: Int(UInt16(bigEndian: address.sin_port))))
    }

    /// What the client sent, once it has closed the connection.
    func bytesReceived() -> [UInt8] {
        finished.wait()
        return received.withLock { $0 }
    }
}

/// A TCP listener on a free port of 127.0.0.1 (port 0: the kernel picks one) and its address.
func loopbackListener(backlog: Int32) throws -> (Int32, sockaddr_in) {
    let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && getsockname(listener, $0, &length) == 0 }
    }
    guard listener >= 0, bound, listen(listener, backlog) == 0 else {
        if listener >= 0 { close(listener) }
        throw POSIXError(.EADDRINUSE)
    }
    return (listener, address)
}
