import CairnTestSupport
import Foundation
import Glibc
import Testing

/// A real redis-server started by a test: 127.0.0.1, a free port, its own directory, stopped by pid.
final class LiveRedis {
    let directory: String
    let port: Int
    let configFile: String
    private(set) var pid: pid_t = 0
    /// The `requirepass` among `extra`, used by `cli`.
    let password: String?
    /// With TLS, the server listens on `port` as its tls-port only, and `cli` and `url` use TLS.
    let tls: TestCertificates?

    /// - Parameter tls: serve TLS only (`port 0`, `tls-port`), with the server certificate of
    ///   `tls` and `tls-auth-clients yes` (clients need a certificate from its CA).
    init(directory: String, appendOnly: Bool, extra: [String] = [], tls: TestCertificates? = nil) throws {
        self.directory = directory
        password = extra.first { $0.hasPrefix("requirepass ") }.map { String($0.dropFirst("requirepass ".count)) }
        self.tls = tls
        mkdir(directory, 0o755)
        port = try LiveRedis.freePort()
        configFile = directory + "/../redis-\(port).conf"
        var lines = ["port \(port)", "bind 127.0.0.1", "dir \(directory)", "save \"\"", "appendonly \(appendOnly ? "yes" : "no")",
                     "aof-use-rdb-preamble yes", "enable-debug-command local", "daemonize no",
                     "logfile \(directory)/../redis-\(port).log", "pidfile \(directory)/../redis-\(port).pid"]
        if let tls {
            lines += ["port 0", "tls-port \(port)", "tls-cert-file \(tls.serverCertificate)", "tls-key-file \(tls.serverKey)",
                      "tls-ca-cert-file \(tls.ca)", "tls-auth-clients yes"]
        }
        lines += extra
        try lines.joined(separator: "\n").write(toFile: configFile, atomically: true, encoding: .utf8)
        try start()
    }

    var url: String { (tls != nil ? "rediss" : "redis") + "://127.0.0.1:\(port)" }
    /// The options cairn needs for `url` with TLS: the test CA and the client certificate.
    var tlsOptions: [String] {
        tls.map { ["--redis-tls-ca", $0.ca, "--redis-tls-cert", $0.clientCertificate, "--redis-tls-key", $0.clientKey] } ?? []
    }
    /// The command `redis-restore --start-command` runs: the same config, daemonized.
    var startCommand: String { "redis-server \(configFile) --daemonize yes >/dev/null 2>&1" }

    func start() throws {
        pid = try Spawn.start("redis-server", [configFile])
        try waitReady()
    }

    func waitReady() throws {
        for _ in 0..<200 {
            if (try? cli(["PING"]))?.trimmingCharacters(in: .whitespacesAndNewlines) == "PONG",
               (try? cli(["INFO", "persistence"]))?.contains("loading:0") == true { return }
            usleep(50_000)
        }
        throw POSIXError(.ETIMEDOUT)
    }

    /// redis-cli against this server; returns stdout.
    @discardableResult
    func cli(_ arguments: [String], input: String? = nil) throws -> String {
        let tlsArguments = tls.map { ["--tls", "--cacert", $0.ca, "--cert", $0.clientCertificate, "--key", $0.clientKey] } ?? []
        return try Spawn.output("/usr/bin/redis-cli", tlsArguments + ["-p", String(port)] + (password.map { ["-a", $0, "--no-auth-warning"] } ?? []) + arguments, input: input).1
    }

    var digest: String { ((try? cli(["DEBUG", "DIGEST"])) ?? "").trimmingCharacters(in: .whitespacesAndNewlines) }

    /// Every common type, TTLs, several dbs and a function library.
    func loadDataset(prefix: String = "", count: Int = 300) throws {
        var commands = ""
        for index in 0..<count {
            commands += "SET \(prefix)string:\(index) value-\(index)-\(String(repeating: "x", count: index % 50))\n"
            commands += "SET \(prefix)int:\(index) \(index * 7)\n"
        }
        for index in 0..<(count / 10) {
            commands += "HSET \(prefix)hash:\(index) a 1 b two c \(index)\n"
            commands += "RPUSH \(prefix)list:\(index) x y z \(index)\n"
            commands += "SADD \(prefix)set:\(index) 1 2 3 \(index)\n"
            commands += "SADD \(prefix)strset:\(index) alpha beta m\(index)\n"
            commands += "ZADD \(prefix)zset:\(index) 1 a 2.5 b \(index) c\n"
            commands += "XADD \(prefix)stream:\(index) * field \(index)\n"
            commands += "SET \(prefix)ttl:\(index) v EX 86400\n"
        }
        commands += "HSET \(prefix)bighash " + (0..<700).map { "f\($0) v\($0)" }.joined(separator: " ") + "\n"
        commands += "SADD \(prefix)bigset " + (0..<700).map { "m\($0)" }.joined(separator: " ") + "\n"
        // A consumer group that has read nothing saves entries_read = -1 as a 64-bit "length"
        // (UINT64_MAX): readers must not take every such number for a byte count.
        commands += "XGROUP CREATE \(prefix)stream:0 workers 0\n"
        commands += "SELECT 2\n"
        for index in 0..<(count / 5) { commands += "SET \(prefix)db2:\(index) \(index)\n" }
        try cli([], input: commands)
        _ = try? cli(["FUNCTION", "LOAD", "REPLACE", "#!lua name=testlib\nredis.register_function('echo1', function(keys, args) return args[1] end)"])
    }

    /// Stops by pid without saving.
    func stop() {
        _ = try? cli(["SHUTDOWN", "NOSAVE"])
        if pid > 0 {
            var status: Int32 = 0
            for _ in 0..<100 where waitpid(pid, &status, WNOHANG) == 0 { usleep(20_000) }
            kill(pid, SIGKILL)
            waitpid(pid, &status, 0)
        }
        // A daemonized restart has its own pid file.
        if let text = try? String(contentsOfFile: directory + "/../redis-\(port).pid", encoding: .utf8), let other = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
            kill(other, SIGKILL)
        }
    }

    deinit { stop() }

    /// A port nothing listens on, where no client connection takes it meanwhile (see `LoopbackPort`).
    static func freePort() throws -> Int { try LoopbackPort.unused() }
}
