import CairnTestSupport
import Foundation
import Glibc
import Testing

/// The real `cairn` binary against a real OpenStack Swift All-In-One (and its S3 API) that the
/// suite starts on loopback with scripts/objectstore/saio.sh and stops at the end. Without
/// CAIRN_SKIP_OBJECTSTORE=1, a server that cannot start fails these tests.
@Suite("cairn against a live Swift All-In-One on loopback", .liveSwiftAllInOne,
       .disabled(if: LiveSwiftAllInOne.skipped, "CAIRN_SKIP_OBJECTSTORE=1"))
struct ObjectStoreCLITests {
    @Test(arguments: RepositoryKind.remotesTestedHere)
    func initBackupSnapshotsRestoreAndCheck(_ remote: RepositoryKind) throws {
        let scratch = try Scratch()
        // 1 MiB packs, so one backup uploads several packs from the spool directory.
        let cairn = try CairnRunner(scratch, initialize: false, on: remote)
        let created = try cairn.ok(["init", "--pack-size", "1"])
        #expect(created.stdout.contains("created repository"))
        let again = try cairn.run(["init"])
        #expect(again.status != 0, "a second init must refuse: \(again.stdout)")

        let source = scratch.path("redis")
        try TreeFixtures.makeAwkwardTree(at: source, largeFileSize: 6 << 20)
        // A second name for the dump's bytes, as a dump.rdb and the AOF base share most of theirs.
        try TreeFixtures.write(source + "/zz-dump-copy.bin", TreeFixtures.bytes(count: 6 << 20, seed: 1))
        let first = try cairn.backup([source])
        #expect((first["bytes"] as? Int ?? 0) > 6 << 20)
        let second = try cairn.backup([source])
        let unchanged = try #require(second["added_bytes"] as? Int)
        #expect(unchanged < 64 << 10, "an unchanged tree added \(unchanged) bytes")
        #expect(try cairn.snapshots().count == 2)

        // The catalog cache lives under $XDG_CACHE_HOME/cairn/<scheme>-<hash>, not in the repository.
        let caches = (try? FileManager.default.contentsOfDirectory(atPath: scratch.path("xdg/cairn"))) ?? []
        #expect(caches.count == 1 && caches[0].hasPrefix(remote.rawValue + "-"), "\(caches)")
        #expect(FileManager.default.fileExists(atPath: scratch.path("xdg/cairn/\(caches.first ?? "")/catalog.sqlite")))

        // Even with every file "large", a remote repository restores one file at a time (side by
        // side, the two streams would split ranged GETs into many small requests): the copy's
        // chunks are read back from the restored dump, not shared in memory or fetched again.
        let target = scratch.path("restored")
        let restored = try #require(try cairn.ok(["restore", "latest", "--json", "--target", target],
                                                 environment: ["CAIRN_RESTORE_SIDE_BY_SIDE_BYTES": "1"]).json as? [String: Any])
        #expect(restored["shared_bytes"] as? Int == 0)
        #expect(restored["copied_bytes"] as? Int == 6 << 20)
        #expect(TreeFixtures.snapshot(of: source) == TreeFixtures.snapshot(of: target))
        // Without read-ahead the same bytes come back; a setting that is not a number is refused.
        let direct = scratch.path("restored-without-read-ahead")
        try cairn.ok(["restore", "latest", "--target", direct], environment: ["CAIRN_READ_AHEAD_BYTES": "0"])
        #expect(TreeFixtures.snapshot(of: source) == TreeFixtures.snapshot(of: direct))
        let refused = try cairn.run(["snapshots"], environment: ["CAIRN_READ_AHEAD_BYTES": "lots"])
        #expect(refused.status == 64 && refused.stderr.contains("CAIRN_READ_AHEAD_BYTES"), "\(refused.status) \(refused.stderr)")

        // A fresh cache (another host, or a lost ~/.cache) is rebuilt from the store.
        let checked = try cairn.ok(["check", "--read-data", "--cache-dir", scratch.path("other-cache")])
        #expect(checked.stdout.contains("no errors"), "\(checked.stdout)")
    }

    /// At 1 MiB/s with a second of burst, 6 MiB of packs cannot go up, nor come back, in less
    /// than 5 s (unlimited, each takes about 1.5 s here). Only lower bounds, with some slack: a
    /// slow machine makes them longer, never shorter. The data is random, so zstd cannot shrink
    /// what goes over the wire (the text-like fixtures compress: one run came back in 4.9 s).
    @Test func limitsHoldUploadsAndDownloadsToTheirRate() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch, initialize: false, on: .swift)
        try cairn.ok(["init", "--pack-size", "1"])
        let source = scratch.path("redis")
        TreeFixtures.makeDirectory(source)
        var random = SystemRandomNumberGenerator()
        let words = (0..<((6 << 20) / 8)).map { _ in random.next() as UInt64 }
        try TreeFixtures.write(source + "/dump.bin", words.withUnsafeBytes { Array($0) })

        var started = Date()
        let summary = try cairn.backup([source], extra: ["--limit-upload", "1MiB"])
        let backupSeconds = Date().timeIntervalSince(started)
        #expect((summary["added_bytes"] as? Int ?? 0) >= 6 << 20)
        #expect(backupSeconds >= 4.5, "6 MiB went up in \(backupSeconds) s at 1 MiB/s")

        started = Date()
        try cairn.ok(["restore", "latest", "--target", scratch.path("restored"), "--limit-download", "1024"])
        let restoreSeconds = Date().timeIntervalSince(started)
        #expect(restoreSeconds >= 4.5, "6 MiB came back in \(restoreSeconds) s at 1 MiB/s")
        #expect(TreeFixtures.snapshot(of: source) == TreeFixtures.snapshot(of: scratch.path("restored")))
    }

    /// A local repository mirrored to Swift (or S3) is the same repository there: it restores with
    /// the same password, and mirrors back to a local directory object for object.
    @Test(arguments: RepositoryKind.remotesTestedHere)
    func aLocalRepositoryMirrorsToTheStoreAndBack(_ remote: RepositoryKind) throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch, initialize: false)
        try cairn.ok(["init", "--pack-size", "1"])
        let source = scratch.path("redis")
        TreeFixtures.makeDirectory(source)
        try TreeFixtures.write(source + "/dump.bin", TreeFixtures.bytes(count: 6 << 20, seed: 61))
        let snapshot = try #require(try cairn.backup([source])["snapshot_id"] as? String)

        let remoteRunner = try CairnRunner(scratch, initialize: false, on: remote)
        let up = try #require(try cairn.ok(["mirror", "--to", remoteRunner.repository, "--json"],
                                          environment: remoteRunner.environment.filter { $0.key != "CAIRN_REPOSITORY" }).json as? [String: Any])
        #expect(up["created_repository"] as? Bool == true)
        #expect(try remoteRunner.snapshots().compactMap { $0["id"] as? String } == [snapshot])
        try remoteRunner.ok(["restore", "latest", "--target", scratch.path("restored")])
        #expect(TreeFixtures.snapshot(of: source) == TreeFixtures.snapshot(of: scratch.path("restored")))

        let back = scratch.path("back")
        try remoteRunner.ok(["mirror", "--to", back])
        #expect(MirrorTests.objects(of: back) == MirrorTests.objects(of: cairn.repository))
        let again = try #require(try cairn.ok(["mirror", "--to", remoteRunner.repository, "--json"],
                                             environment: remoteRunner.environment.filter { $0.key != "CAIRN_REPOSITORY" }).json as? [String: Any])
        #expect(again["objects_copied"] as? Int == 0)
    }

    @Test(arguments: [["--limit-upload", "fast"], ["--limit-download", "0"], ["--limit-upload", "10TB/h"]])
    func aRateItCannotReadIsAUsageError(_ arguments: [String]) throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch, initialize: false, on: .swift)
        let result = try cairn.run(["snapshots"] + arguments)
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains("\(arguments[0]) \(arguments[1]) is not a rate"))
    }

    @Test func limitsOnALocalRepositoryAreRefused() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let result = try cairn.run(["snapshots", "--limit-upload", "20MiB"])
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains("apply to swift:// and s3:// repositories"))
    }

    @Test func missingCredentialsAreAUsageError() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch, initialize: false)
        let result = try cairn.run(["snapshots", "--repo", "swift://nowhere/x"])
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains("ST_AUTH"))
    }
}

/// A Swift All-In-One for the CLI tests (the backends' tests have their own; test targets share no code).
final class LiveSwiftAllInOne: Sendable {
    let directory: String
    let environment: [String: String]

    static var skipped: Bool { ProcessInfo.processInfo.environment["CAIRN_SKIP_OBJECTSTORE"] == "1" }

    static var scriptsDirectory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/objectstore").path
    }

    static var script: String { scriptsDirectory + "/saio.sh" }

    /// This process's environment plus CAIRN_HARNESS_OWNER_PID, for saio.sh and keystone.sh `start`,
    /// and CAIRN_HARNESS_REMOVE_DIR: the directory is this process's to remove, and the watchdog's
    /// should this process die first.
    static var ownedEnvironment: [String: String] {
        ProcessInfo.processInfo.environment.merging(["CAIRN_HARNESS_OWNER_PID": String(getpid()),
                                                     "CAIRN_HARNESS_REMOVE_DIR": "1"]) { _, new in new }
    }

    init() throws {
        var template = Array("/tmp/cairn-saio.XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw LiveServerError(description: "mkdtemp failed") }
        directory = String(cString: made)
        let log = directory + ".log"
        defer { unlink(log) }
        let started = Date()
        // With our pid saio.sh leaves a watchdog that stops the servers should this process die without stop().
        let pid = try Spawn.start("/bin/bash", [Self.script, "start", directory, String(try Self.freePort())],
                                  environment: Self.ownedEnvironment, stdout: log, stderr: log)
        let exit = Spawn.wait(pid)
        guard exit.status == 0, !exit.signaled else {
            let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            try? FileManager.default.removeItem(atPath: directory)
            throw LiveServerError(description: "could not start the Swift All-In-One (\(Self.script) start, exit \(exit.status)); "
                                  + "set CAIRN_SKIP_OBJECTSTORE=1 to leave the object-store tests out.\n\(output)")
        }
        var values: [String: String] = [:]
        for line in ((try? String(contentsOfFile: directory + "/env", encoding: .utf8)) ?? "").split(separator: "\n") {
            if let equals = line.firstIndex(of: "=") { values[String(line[..<equals])] = String(line[line.index(after: equals)...]) }
        }
        environment = values
        print("object store harness (CLI): ready in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
    }

    func stop() {
        let pid = try? Spawn.start("/bin/bash", [Self.script, "stop", directory])
        if let pid { _ = Spawn.wait(pid) }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// `saio.sh stop-service|start-service|flush-tokens DIR [NAME]`; throws with its output when it fails.
    func control(_ action: String, _ service: String? = nil) throws {
        let log = directory + "/log/control.log"
        let pid = try Spawn.start("/bin/bash", [Self.script, action, directory] + (service.map { [$0] } ?? []), stdout: log, stderr: log)
        let exit = Spawn.wait(pid)
        guard exit.status == 0, !exit.signaled else {
            throw LiveServerError(description: "saio.sh \(action) \(service ?? "") failed: " + ((try? String(contentsOfFile: log, encoding: .utf8)) ?? ""))
        }
    }

    /// The proxy server's log: one access line per request (`PUT /v1/AUTH_test/CONTAINER/… HTTP/1.0 201 …`).
    var proxyLog: String { directory + "/log/proxy.log" }

    /// A port nothing listens on, where no client connection takes it meanwhile (see `LoopbackPort`).
    static func freePort() throws -> Int { try LoopbackPort.unused() }

    @TaskLocal static var current: Result<LiveSwiftAllInOne, LiveServerError>?

    static func require() throws -> LiveSwiftAllInOne {
        guard let current else { throw LiveServerError(description: "the suite needs the .liveSwiftAllInOne trait") }
        return try current.get()
    }
}

struct LiveServerError: Error, CustomStringConvertible {
    var description: String
}

/// The server that suites which do not break it share: started when the first of them begins,
/// stopped when the last of them ends (suites run at the same time), so `make test` starts one
/// Swift All-In-One for all of them instead of one each.
actor SharedSwiftAllInOne {
    static let pool = SharedSwiftAllInOne()
    private var server: Result<LiveSwiftAllInOne, LiveServerError>?
    private var users = 0

    func acquire() -> Result<LiveSwiftAllInOne, LiveServerError> {
        users += 1
        if let server { return server }
        let started = LiveSwiftAllInOne.start()
        server = started
        return started
    }

    func release() {
        users -= 1
        guard users == 0, let server else { return }
        if case .success(let running) = server { running.stop() }
        self.server = nil
    }
}

extension LiveSwiftAllInOne {
    static func start() -> Result<LiveSwiftAllInOne, LiveServerError> {
        do { return .success(try LiveSwiftAllInOne()) } catch let error as LiveServerError { return .failure(error) } catch {
            return .failure(LiveServerError(description: "\(error)"))
        }
    }
}

/// Gives the suite a server: the shared one, or (`private`) its own, for suites that stop its
/// services or otherwise disturb it.
struct LiveSwiftAllInOneTrait: SuiteTrait, TestScoping {
    var isPrivate = false
    var isRecursive: Bool { false }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        guard !LiveSwiftAllInOne.skipped else { return try await function() }
        if isPrivate {
            let server = LiveSwiftAllInOne.start()
            defer { if case .success(let running) = server { running.stop() } }
            try await LiveSwiftAllInOne.$current.withValue(server) { try await function() }
        } else {
            let server = await SharedSwiftAllInOne.pool.acquire()
            do {
                try await LiveSwiftAllInOne.$current.withValue(server) { try await function() }
            } catch {
                await SharedSwiftAllInOne.pool.release()
                throw error
            }
            await SharedSwiftAllInOne.pool.release()
        }
    }
}

extension Trait where Self == LiveSwiftAllInOneTrait {
    /// The Swift All-In-One shared by every suite that holds this trait.
    static var liveSwiftAllInOne: Self { Self() }
    /// A Swift All-In-One of the suite's own, which its tests may stop parts of.
    static var privateSwiftAllInOne: Self { Self(isPrivate: true) }
}
