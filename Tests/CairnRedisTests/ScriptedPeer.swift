import Dispatch
import Foundation
import Glibc
import Synchronization

/// A Unix-socket peer that accepts one connection, sends a fixed byte stream in small pieces
/// (so the client sees replies split across reads), closes its sending side, then records what
/// the client sent until it hangs up. RESP parsing has no socket-free entry point; this is the smallest real socket.
final class ScriptedPeer: Sendable {
    let path: String
    private let received = Mutex<[UInt8]>([])
    private let finished = DispatchSemaphore(value: 0)

    init(sending stream: [UInt8], pieceSizes: [Int] = [1, 3, 7, 2, 5]) throws {
        let path = "/tmp/cairn-resp-\(UUID().uuidString.prefix(8)).sock"
        self.path = path
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
        DispatchQueue.global().async { [self] in
            let connection = accept(listener, nil, nil)
            close(listener)
            unlink(path)
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

    /// What the client sent, once it has closed the connection.
    func bytesReceived() -> [UInt8] {
        finished.wait()
        return received.withLock { $0 }
    }
}
