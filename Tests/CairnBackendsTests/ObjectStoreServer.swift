import CairnTestSupport
import Foundation
import Glibc
import Testing

/// A real OpenStack Swift All-In-One (with the s3api middleware) on 127.0.0.1, started by
/// scripts/objectstore/saio.sh with a free port and a temporary directory, and stopped by pid.
final class ObjectStoreServer: Sendable {
    let directory: String
    let port: Int
    let environment: [String: String]

    var authURL: URL { URL(string: environment["ST_AUTH"]!)! }
    var user: String { environment["ST_USER"]! }
    var key: String { environment["ST_KEY"]! }
    var s3Endpoint: String { environment["S3_ENDPOINT"]! }
    var accessKey: String { environment["AWS_ACCESS_KEY_ID"]! }
    var secretKey: String { environment["AWS_SECRET_ACCESS_KEY"]! }

    /// True when CAIRN_SKIP_OBJECTSTORE=1 asks to leave the object-store tests out.
    static var skipped: Bool { ProcessInfo.processInfo.environment["CAIRN_SKIP_OBJECTSTORE"] == "1" }

    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/objectstore/saio.sh").path
    }

    /// Starts the server; throws with the script's own words when it cannot.
    init() throws {
        var template = Array("/tmp/cairn-saio.XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw HarnessError("mkdtemp failed: errno \(errno)") }
        directory = String(cString: made)
        port = try Self.freePort()
        let started = Date()
        let (status, output) = try Self.runScript(["start", directory, String(port)], log: directory + "-start.log")
        guard status == 0 else {
            try? FileManager.default.removeItem(atPath: directory)
            throw HarnessError("""
                could not start the Swift All-In-One (\(Self.script) start, exit \(status)); \
                set CAIRN_SKIP_OBJECTSTORE=1 to leave the object-store tests out.
                \(output)
                """)
        }
        var values: [String: String] = [:]
        let text = (try? String(contentsOfFile: directory + "/env", encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            values[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        environment = values
        let seconds = Date().timeIntervalSince(started)
        print("object store harness: Swift All-In-One ready on 127.0.0.1:\(port) in \(String(format: "%.1f", seconds)) s")
    }

    /// Stops the servers by their recorded pids and removes the directory.
    func stop() {
        let started = Date()
        let output = (try? Self.runScript(["stop", directory], log: directory + "-stop.log"))?.1 ?? ""
        print("object store harness: stopped in \(String(format: "%.1f", Date().timeIntervalSince(started))) s: \(output)")
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs the script with posix_spawn and waits with waitpid. (Foundation's `Process` learns
    /// of an exit through a descriptor the child holds, and the servers the script leaves running
    /// would keep it open.) CAIRN_HARNESS_OWNER_PID makes `start` leave a watchdog that stops the
    /// servers should this process die without calling `stop` (kill -9, OOM killer, a CI timeout),
    /// and removes the directory, as `stop` does here (CAIRN_HARNESS_REMOVE_DIR).
    private static func runScript(_ arguments: [String], log: String) throws -> (Int32, String) {
        let command = ["/usr/bin/env", "CAIRN_HARNESS_OWNER_PID=\(getpid())", "CAIRN_HARNESS_REMOVE_DIR=1", "/bin/bash", script] + arguments
        let exitCode = Spawn.wait(try Spawn.start(command, log: log))
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        unlink(log)
        return (exitCode, output)
    }

    /// A port nothing listens on, where no client connection takes it meanwhile (see `LoopbackPort`).
    static func freePort() throws -> Int { try LoopbackPort.unused() }

    /// The server of the suite being run (set by the `.objectStoreServer` trait).
    @TaskLocal static var current: Result<ObjectStoreServer, HarnessError>?

    /// The running server, or a test failure that says why there is none.
    static func require() throws -> ObjectStoreServer {
        guard let current else {
            throw HarnessError("no object store harness: the suite needs the .objectStoreServer trait")
        }
        return try current.get()
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Starts one Swift All-In-One before a suite and stops it after. Without CAIRN_SKIP_OBJECTSTORE=1
/// a harness that cannot start is an error in every test that needs it.
struct ObjectStoreServerTrait: SuiteTrait, TestScoping {
    var isRecursive: Bool { false }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        if ObjectStoreServer.skipped {
            try await function()
            return
        }
        let server: Result<ObjectStoreServer, HarnessError>
        do {
            server = .success(try ObjectStoreServer())
        } catch let error as HarnessError {
            server = .failure(error)
        }
        defer { if case .success(let running) = server { running.stop() } }
        try await ObjectStoreServer.$current.withValue(server) { try await function() }
    }
}

extension Trait where Self == ObjectStoreServerTrait {
    /// Runs the suite with a real Swift All-In-One (and its S3 API) on loopback.
    static var objectStoreServer: Self { Self() }
}
