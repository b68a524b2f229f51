import Foundation
import Glibc

/// TCP ports of 127.0.0.1 for the servers tests start (redis-server, a Swift All-In-One's proxy).
public enum LoopbackPort {
    /// A port nothing listens on now, from below the kernel's ephemeral range. A port from
    /// bind(0) comes from that range, where an outgoing connection made before the server binds it
    /// (another test's client) can take it as its local port; none takes a port below it. Same rule
    /// as `scripts/objectstore/unused-ports.py`, which the shell harnesses use.
    public static func unused() throws -> Int {
        let low = ephemeralLow > 12_000 ? 10_000 : 1024
        for _ in 0..<10_000 {
            let port = Int.random(in: low..<ephemeralLow)
            if bindable(port) { return port }
        }
        throw UnusedPortError(description: "no unused port on 127.0.0.1 between \(low) and \(ephemeralLow)")
    }

    public struct UnusedPortError: Error, CustomStringConvertible {
        public let description: String
    }

    /// The first port of `ip_local_port_range` (32768 unless changed).
    static let ephemeralLow: Int = {
        let range = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        guard let first = range.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).first,
              let low = Int(first), low > 1024 else { return 32768 }
        return low
    }()

    private static func bindable(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return withAddress(port) { bind(fd, $0, $1) } == 0
    }

    /// Calls `body` with 127.0.0.1:`port` as a `sockaddr` and its length (for bind or connect).
    public static func withAddress<Result>(_ port: Int, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Result) -> Result {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }
}
