import CairnRedis
import Dispatch
import Foundation
import Glibc
import Testing

@Suite("rediss:// connect timeout")
struct TLSConnectTimeoutTests {
    /// A listener with a backlog of 0 whose one queue slot a first connection holds: the kernel
    /// drops the client's SYN until the test accepts that connection, so the client's connect
    /// succeeds only when it sends its SYN again, about 1 s later (Linux's first retransmission).
    /// Nothing then answers the TLS hello. Connect and handshake share the one timeout: the
    /// handshake used to get a full timeout of its own after the slow connect (2.6 s here).
    @Test func aSlowConnectLeavesTheHandshakeOnlyWhatRemainsOfTheTimeout() throws {
        let (listener, bound) = try loopbackListener(backlog: 0)
        defer { close(listener) }
        var address = bound
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let filler = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(filler) }
        let filled = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(filler, $0, length) }
        }
        try #require(filled == 0)
        let accepted = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var held: Int32 = -1
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) {
            held = accept(listener, nil, nil)
            accepted.signal()
        }
        defer {
            accepted.wait()
            close(held)
        }

        let port = Int(UInt16(bigEndian: address.sin_port))
        let started = Date()
        #expect(throws: RedisError.self) {
            _ = try RESPClient(address: RedisAddress(endpoint: .tcp(host: "127.0.0.1", port: port), tls: RedisTLS()), timeout: 1.6)
        }
        let took = Date().timeIntervalSince(started)
        #expect(took < 2.3, "a 1.6 s timeout took \(took) s")
    }
}
