import Foundation
import Testing

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

    init(_ scratch: Scratch, encrypted: Bool = true, initialize: Bool = true) throws {
        self.scratch = scratch
        repository = scratch.path("repo")
        let passwordFile = scratch.path("password")
        try "correct horse battery staple\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        environment = ["CAIRN_REPOSITORY": repository, "CAIRN_PASSWORD_FILE": passwordFile,
                       "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": scratch.root]
        if initialize {
            // Small packs so tests exercise many packs; scrypt is the standard cost.
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
