import CairnRedis
import Foundation
import Glibc

/// A redis-server this process started (for drills and tests): loopback only, a free port,
/// stopped by pid.
public final class RedisServerProcess: @unchecked Sendable {
    public let port: Int
    public let directory: String
    private let process: Process

    /// Starts `redis-server` with `directory` as `dir` and extra `arguments`, and waits until it
    /// answers PING without LOADING.
    public init(directory: String, arguments: [String] = [], binary: String = "redis-server", timeout: TimeInterval = 60) throws {
        self.directory = directory
        port = try Self.freePort()
        process = Process()
        process.executableURL = URL(fileURLWithPath: try Self.find(binary))
        process.arguments = ["--port", String(port), "--bind", "127.0.0.1", "--dir", directory, "--daemonize", "no",
                             "--save", "", "--logfile", directory + "/redis-\(port).log"] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        do {
            try waitUntilReady(timeout: timeout)
        } catch {
            stop()
            throw error
        }
    }

    public var address: RedisAddress { RedisAddress(endpoint: .tcp(host: "127.0.0.1", port: port)) }
    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    public func client() throws -> RESPClient { try RESPClient(address: address) }

    private func waitUntilReady(timeout: TimeInterval) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var last: Error?
        while Date() < deadline {
            guard process.isRunning else {
                let log = (try? String(contentsOfFile: directory + "/redis-\(port).log", encoding: .utf8)) ?? ""
                throw EngineError(.redis, "redis-server exited while starting: \(log.split(separator: "\n").suffix(3).joined(separator: " | "))")
            }
            do {
                if try client().command(["PING"]).string == "PONG" { return }
            } catch {
                last = error
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw EngineError(.redis, "redis-server on port \(port) did not become ready", cause: last)
    }

    /// SIGTERM, then SIGKILL after 10 s. Use SHUTDOWN NOSAVE through a client first to stop
    /// without writing the dataset.
    public func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { stop() }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0 else { throw EngineError(.failure, "cannot find a free port: \(errnoMessage(errno))") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) { _ = $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func find(_ binary: String) throws -> String {
        if binary.contains("/") { return binary }
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") + ["/usr/bin", "/usr/local/bin", "/usr/sbin"] {
            let path = "\(directory)/\(binary)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw EngineError(.redis, "\(binary) not found", hint: "install redis-server (apt-get install redis-server)")
    }
}
