import Foundation
import Testing

/// Where a test's repository lives: a local directory, or a fresh container (bucket) and prefix on
/// the live Swift All-In-One, reached as Swift or through its S3 API.
enum RepositoryKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case local, swift, s3

    /// Every kind, less the remote ones when CAIRN_SKIP_OBJECTSTORE=1.
    static var testedHere: [RepositoryKind] { LiveSwiftAllInOne.skipped ? [.local] : allCases }
    /// The remote kinds, none when CAIRN_SKIP_OBJECTSTORE=1.
    static var remotesTestedHere: [RepositoryKind] { LiveSwiftAllInOne.skipped ? [] : [.swift, .s3] }

    var isRemote: Bool { self != .local }
    var testDescription: String { rawValue }
}

/// Runs the real `cairn` binary (CAIRN_BINARY, or the one beside the test bundle) in a scratch
/// directory with its own repository and password file.
struct CairnRunner {
    struct Result {
        var status: Int32
        var signaled: Bool
        var stdout: String
        var stderr: String
        var json: Any? { try? JSONSerialization.jsonObject(with: Data(stdout.utf8)) }
    }

    let scratch: Scratch
    var repository: String
    var environment: [String: String]

    /// - Parameters:
    ///   - kind: a remote kind puts the repository in a new container (bucket) on the live Swift
    ///     All-In-One (the suite needs the `.liveSwiftAllInOne` trait), under `prefix`, with the
    ///     catalog cache under `scratch/xdg` ($XDG_CACHE_HOME).
    ///   - serverEnvironment: how to reach the server (ST_AUTH, S3_ENDPOINT, credentials) when not
    ///     the suite's own way, e.g. through a proxy.
    init(_ scratch: Scratch, encrypted: Bool = true, initialize: Bool = true, on kind: RepositoryKind = .local,
         serverEnvironment: [String: String]? = nil, prefix: String = "redis/host-1") throws {
        self.scratch = scratch
        let passwordFile = scratch.path("password")
        try "correct horse battery staple\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        // Keys at the lowest scrypt cost a debug build takes (KeyTests checks the standard one):
        // at the standard cost each command a debug build runs spends ~0.6 CPU s deriving it.
        environment = ["CAIRN_PASSWORD_FILE": passwordFile, "CAIRN_TEST_SCRYPT_LOG_N": "10",
                       "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": scratch.root]
        repository = scratch.path("repo")
        if kind.isRemote {
            let server = try serverEnvironment ?? LiveSwiftAllInOne.require().environment
            environment.merge(server) { _, new in new }
            environment["XDG_CACHE_HOME"] = scratch.path("xdg")
            let container = "cairn-" + UUID().uuidString.lowercased().prefix(12)
            repository = kind == .swift ? "swift://\(container)/\(prefix)" : "s3://\(server["S3_ENDPOINT"]!)/\(container)/\(prefix)"
        }
        environment["CAIRN_REPOSITORY"] = repository
        if initialize {
            // Small packs so tests exercise many packs.
            let initResult = try run(encrypted ? ["init", "--pack-size", "4"] : ["init", "--pack-size", "4", "--insecure-no-encryption"])
            #expect(initResult.status == 0, "init failed: \(initResult.stderr)")
        }
    }

    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["CAIRN_BINARY"] { return path }
        // .build/<config>/cairnPackageTests.xctest → .build/<config>/cairn
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("cairn")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate.path }
            directory = directory.deletingLastPathComponent()
        }
        return FileManager.default.currentDirectoryPath + "/.build/debug/cairn"
    }

    @discardableResult
    func run(_ arguments: [String], environment extra: [String: String] = [:]) throws -> Result {
        let out = scratch.path("stdout-\(UUID().uuidString)")
        let err = scratch.path("stderr-\(UUID().uuidString)")
        defer { unlink(out); unlink(err) }
        let pid = try Spawn.start(Self.binary, arguments, environment: environment.merging(extra) { _, new in new },
                                  directory: scratch.root, stdout: out, stderr: err)
        let exit = Spawn.wait(pid)
        return Result(status: exit.status, signaled: exit.signaled,
                      stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }

    /// Starts cairn and returns at once; the caller waits for it with `Running.wait()`.
    func start(_ arguments: [String], environment extra: [String: String] = [:]) throws -> Running {
        let out = scratch.path("stdout-\(UUID().uuidString)")
        let err = scratch.path("stderr-\(UUID().uuidString)")
        let pid = try Spawn.start(Self.binary, arguments, environment: environment.merging(extra) { _, new in new },
                                  directory: scratch.root, stdout: out, stderr: err)
        return Running(pid: pid, stdout: out, stderr: err)
    }

    /// The same runner (password, environment) on another repository.
    func on(_ repository: String) -> CairnRunner {
        var other = self
        other.repository = repository
        other.environment["CAIRN_REPOSITORY"] = repository
        return other
    }

    /// Runs and requires exit 0.
    @discardableResult
    func ok(_ arguments: [String], environment extra: [String: String] = [:],
            sourceLocation: SourceLocation = #_sourceLocation) throws -> Result {
        let result = try run(arguments, environment: extra)
        #expect(result.status == 0, "cairn \(arguments.joined(separator: " ")) exited \(result.status): \(result.stderr)",
                sourceLocation: sourceLocation)
        return result
    }

    /// `backup --json` and its summary object.
    func backup(_ paths: [String], extra: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let result = try ok(["backup", "--json"] + extra + paths, sourceLocation: sourceLocation)
        return try #require(result.json as? [String: Any], "backup --json printed: \(result.stdout)", sourceLocation: sourceLocation)
    }

    func snapshots() throws -> [[String: Any]] {
        try #require(try ok(["snapshots", "--json"]).json as? [[String: Any]])
    }
}

/// A cairn process started by `CairnRunner.start`.
final class Running {
    let pid: pid_t
    private let stdout: String
    private let stderr: String
    private var exit: Spawn.Exit?

    init(pid: pid_t, stdout: String, stderr: String) {
        self.pid = pid
        self.stdout = stdout
        self.stderr = stderr
    }

    /// True once the process has ended (it is reaped then, without waiting).
    var hasEnded: Bool {
        if exit != nil { return true }
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return false }
        let signal = status & 0x7f
        exit = signal == 0 ? Spawn.Exit(status: (status >> 8) & 0xff, signaled: false) : Spawn.Exit(status: signal, signaled: true)
        return true
    }

    /// What it has printed on stderr so far.
    var stderrSoFar: String { (try? String(contentsOfFile: stderr, encoding: .utf8)) ?? "" }

    /// True while it is stopped (it stopped itself at CAIRN_TEST_PAUSE_AT, or got SIGSTOP).
    var isStopped: Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let name = stat.lastIndex(of: ")"), stat.distance(from: name, to: stat.endIndex) > 2 else { return false }
        return stat[stat.index(name, offsetBy: 2)] == "T"
    }

    /// Lets a paused process go on to its end, sending SIGCONT again each time it stops at its
    /// pause point, and returns what `wait` returns.
    func resumeToEnd(timeout: Double = 300) -> CairnRunner.Result {
        let deadline = Date().addingTimeInterval(timeout)
        while !hasEnded && Date() < deadline {
            if isStopped { kill(pid, SIGCONT) }
            usleep(10_000)
        }
        return wait(timeout: 1)
    }

    /// Waits up to `timeout` seconds for the end (then kills it: a test must not hang) and returns what it printed.
    func wait(timeout: Double = 300) -> CairnRunner.Result {
        let deadline = Date().addingTimeInterval(timeout)
        while !hasEnded {
            if Date() > deadline {
                kill(pid, SIGKILL)
                Issue.record("cairn (pid \(pid)) did not end within \(Int(timeout)) s; killed")
                exit = Spawn.wait(pid)
                break
            }
            usleep(20_000)
        }
        defer { unlink(stdout); unlink(stderr) }
        return CairnRunner.Result(status: exit!.status, signaled: exit!.signaled,
                                  stdout: (try? String(contentsOfFile: stdout, encoding: .utf8)) ?? "",
                                  stderr: (try? String(contentsOfFile: stderr, encoding: .utf8)) ?? "")
    }
}

/// Polls `condition` every 20 ms until it holds or `timeout` seconds pass; returns whether it held.
func eventually(timeout: Double, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        usleep(20_000)
    }
    return try condition()
}

/// A temporary directory removed when the test ends.
final class Scratch {
    let root: String

    init() throws {
        var template = Array((FileManager.default.temporaryDirectory.path + "/cairn-test.XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw POSIXError(.EIO) }
        root = String(cString: made)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: root)
    }

    func path(_ name: String) -> String { root + "/" + name }
}
