import Foundation
import Glibc
import Testing

/// Faults of a real object store during a backup, against a Swift All-In-One of the suite's own
/// (the tests stop its object server and expire its tokens), one test at a time. Each test makes
/// sure its fault really happened — in the proxy server's log, or in the counts of the fault proxy
/// (scripts/objectstore/faultproxy.py) that sits between cairn and the server — and ends with a
/// clean `check --read-data`.
@Suite("Object store faults during a backup (live Swift All-In-One)", .privateSwiftAllInOne, .serialized,
       .disabled(if: LiveSwiftAllInOne.skipped, "CAIRN_SKIP_OBJECTSTORE=1"))
struct ObjectStoreFaultTests {
    /// Few, quick retries (about 0.7 s of waiting in all), so a lasting fault fails fast.
    static let quickRetries = ["CAIRN_RETRY_ATTEMPTS": "4", "CAIRN_RETRY_INITIAL_DELAY": "0.1"]

    /// Files of `megabytes` MiB in all, under `scratch/name`; 1 MiB packs make one upload per MiB.
    static func makeData(_ scratch: Scratch, _ name: String, megabytes: Int, seed: UInt64) throws -> String {
        let directory = scratch.path(name)
        TreeFixtures.makeDirectory(directory)
        for part in 0..<(megabytes + 3) / 4 {
            let size = min(4, megabytes - part * 4) << 20
            try TreeFixtures.write(directory + "/part-\(part).bin", TreeFixtures.bytes(count: size, seed: seed &+ UInt64(part)))
        }
        return directory
    }

    static func expectCleanCheck(_ cairn: CairnRunner, _ scratch: Scratch, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let checked = try cairn.ok(["check", "--read-data", "--cache-dir", scratch.path("fresh-cache")], sourceLocation: sourceLocation)
        #expect(checked.stdout.contains("no errors"), "\(checked.stdout)", sourceLocation: sourceLocation)
    }

    @Test func objectServerStoppedMidBackupFailsWithoutASnapshotAndTheNextBackupSucceeds() throws {
        let server = try LiveSwiftAllInOne.require()
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch, initialize: false, on: .swift)
        try cairn.ok(["init", "--pack-size", "1"])
        let container = try #require(cairn.repository.split(separator: "/").dropFirst().first.map(String.init))
        let source = try Self.makeData(scratch, "data", megabytes: 40, seed: 11)
        let log = ProxyLog(path: server.proxyLog)

        let backup = try cairn.start(["backup", "--json", source], environment: Self.quickRetries)
        defer { try? server.control("start-service", "object") }
        // Stop the object server once the first pack has arrived, while the backup still runs.
        let packArrived = eventually(timeout: 120) {
            backup.hasEnded || log.newLines().contains { $0.isUpload(into: container) && $0.contains("/data/") && $0.status == 201 }
        }
        try #require(packArrived && !backup.hasEnded, "the backup ended before its first pack arrived, or no pack arrived in 120 s")
        try server.control("stop-service", "object")
        let failed = backup.wait()
        try server.control("start-service", "object")

        #expect(failed.status != 0, "the backup must fail while the object server is down: \(failed.stdout)")
        #expect(failed.stderr.contains("HTTP 503") && failed.stderr.contains("run the command again"), "\(failed.stderr)")
        #expect(failed.stderr.contains("attempt 4"), "it must retry before giving up: \(failed.stderr)")
        let refused = log.newLines().filter { $0.isUpload(into: container) && $0.status == 503 }
        #expect(refused.count >= 4, "the proxy log shows \(refused.count) refused uploads")
        #expect(try cairn.snapshots().isEmpty, "a failed backup must commit no snapshot")

        // The failed backup could not delete its lock with the object server down. Its process is
        // gone, so the lock is stale, and the next command takes it over at once (not after 30
        // minutes); none is left behind.
        let rebackup = try cairn.ok(["backup", "--json", source])
        #expect(rebackup.stderr.contains("removing stale lock of backup"), "\(rebackup.stderr)")
        let summary = try #require(rebackup.json as? [String: Any])
        #expect(summary["bytes"] as? Int == 40 << 20)
        #expect(try cairn.snapshots().count == 1)
        let target = scratch.path("restored")
        try cairn.ok(["restore", "latest", "--target", target])
        #expect(TreeFixtures.contents(of: source) == TreeFixtures.contents(of: target))
        try Self.expectCleanCheck(cairn, scratch)
        let unlocked = try cairn.ok(["unlock"])
        #expect(unlocked.stdout.contains("removed 0 lock(s)"), "\(unlocked.stdout)")
    }

    @Test(arguments: [RepositoryKind.swift, .s3], FaultProxy.Damage.allCases)
    func damagedUploadsAreRefusedAndSentAgain(_ kind: RepositoryKind, _ damage: FaultProxy.Damage) throws {
        let server = try LiveSwiftAllInOne.require()
        let scratch = try Scratch()
        let faults = 3
        let proxy = try FaultProxy(upstream: server, damage: damage, count: faults, state: scratch.path("proxy.json"))
        defer { proxy.stop() }
        let cairn = try CairnRunner(scratch, initialize: false, on: kind, serverEnvironment: proxy.environment(of: server))
        try cairn.ok(["init", "--pack-size", "1"])
        let source = try Self.makeData(scratch, "data", megabytes: 6, seed: 21)

        let backup = try cairn.ok(["backup", "--json", source], environment: Self.quickRetries)
        #expect(backup.stderr.contains("damaged in transit"), "each refusal is retried with a warning: \(backup.stderr)")

        let state = try proxy.state()
        #expect(state.faults.count == faults, "the proxy damaged \(state.faults.count) uploads")
        if damage == .corruptedBody {
            // Swift refuses a body whose MD5 is not its ETag (422), S3 one that is not its Content-MD5 (400 BadDigest).
            #expect(state.faults.allSatisfy { $0.upstreamStatus == (kind == .swift ? 422 : 400) }, "\(state.faults)")
        }
        for path in Set(state.faults.map(\.path)) {
            let damaged = state.faults.filter { $0.path == path }.count
            #expect(state.dataPuts[path, default: 0] == damaged + 1, "\(path) was damaged \(damaged) times, so sent once more")
        }
        #expect(try cairn.snapshots().count == 1)
        try Self.expectCleanCheck(cairn, scratch)
    }

    @Test func tokenExpiringMidBackupIsRenewed() throws {
        let server = try LiveSwiftAllInOne.require()
        let scratch = try Scratch()
        let proxy = try FaultProxy(upstream: server, damage: nil, count: 0, state: scratch.path("proxy.json"))
        defer { proxy.stop() }
        let cairn = try CairnRunner(scratch, initialize: false, on: .swift, serverEnvironment: proxy.environment(of: server))
        try cairn.ok(["init", "--pack-size", "1"])
        let source = try Self.makeData(scratch, "data", megabytes: 24, seed: 31)

        let backup = try cairn.start(["backup", "--json", source])
        let packArrived = eventually(timeout: 120) { backup.hasEnded || (try? proxy.state().dataPuts.isEmpty) == false }
        try #require(packArrived && !backup.hasEnded, "the backup ended before its first pack arrived, or no pack arrived in 120 s")
        let before = try proxy.state()
        try server.control("flush-tokens")
        let result = backup.wait()
        #expect(result.status == 0, "\(result.stderr)")

        let after = try proxy.state()
        #expect(after.statuses["401", default: 0] > before.statuses["401", default: 0], "no request met the expired token")
        #expect(after.authenticationRequests > before.authenticationRequests, "cairn did not authenticate again")
        #expect(after.dataPuts.count > before.dataPuts.count, "no pack was uploaded after the tokens expired")
        #expect(try cairn.snapshots().count == 1)
        try Self.expectCleanCheck(cairn, scratch)
    }
}

/// The Swift proxy server's access log, read from where it ended when this value was made.
struct ProxyLog {
    let path: String
    let start: UInt64

    init(path: String) {
        self.path = path
        start = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? UInt64) ?? 0
    }

    /// The access lines written since `init`.
    func newLines() -> [AccessLine] {
        guard let handle = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? handle.close() }
        try? handle.seek(toOffset: start)
        let text = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        return text.split(separator: "\n").map { AccessLine(text: String($0)) }
    }

    /// `proxy-server: CLIENT REMOTE DATE METHOD PATH PROTOCOL STATUS …`.
    struct AccessLine {
        let text: String

        private var fields: [Substring] { text.split(separator: " ") }
        var method: String? { fields.count > 7 ? String(fields[4]) : nil }
        var status: Int? { fields.count > 7 ? Int(fields[7]) : nil }

        func contains(_ part: String) -> Bool { text.contains(part) }
        func isUpload(into container: String) -> Bool { method == "PUT" && text.contains("/\(container)/") }
    }
}

/// scripts/objectstore/faultproxy.py between cairn and the Swift All-In-One: it forwards every
/// request, damages the first `count` pack uploads as told, and counts what it saw.
final class FaultProxy {
    enum Damage: String, CaseIterable, Sendable, CustomTestStringConvertible {
        /// One byte of the body flipped on the way to the server.
        case corruptedBody = "corrupt-puts"
        /// The server's answer carries another ETag than the MD5 of the bytes.
        case wrongETag = "bad-etag"

        var testDescription: String { rawValue }
    }

    /// What the proxy has seen so far.
    struct State {
        struct Fault { var path: String; var upstreamStatus: Int }
        var faults: [Fault]
        /// Uploads of pack objects, by path.
        var dataPuts: [String: Int]
        var statuses: [String: Int]
        var authenticationRequests: Int
    }

    let port: Int
    private let pid: pid_t
    private let statePath: String

    init(upstream server: LiveSwiftAllInOne, damage: Damage?, count: Int, state: String) throws {
        port = try LiveSwiftAllInOne.freePort()
        statePath = state
        let upstream = try #require(server.environment["S3_ENDPOINT"])
        let python = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "python3"
        var arguments = [LiveSwiftAllInOne.scriptsDirectory + "/faultproxy.py", "--listen", String(port), "--upstream", upstream, "--state", state]
        if let damage { arguments += ["--" + damage.rawValue, String(count)] }
        pid = try Spawn.start(python, arguments, stdout: state + ".log", stderr: state + ".log")
        guard eventually(timeout: 10, { FileManager.default.fileExists(atPath: state) }) else {
            stop()
            throw LiveServerError(description: "faultproxy.py did not start: " + ((try? String(contentsOfFile: state + ".log", encoding: .utf8)) ?? ""))
        }
    }

    /// Kills the proxy: it keeps nothing that SIGTERM would save (the state file is always complete).
    func stop() {
        kill(pid, SIGKILL)
        _ = Spawn.wait(pid)
    }

    /// The server's environment with its endpoints replaced by the proxy's.
    func environment(of server: LiveSwiftAllInOne) -> [String: String] {
        var environment = server.environment
        environment["ST_AUTH"] = "http://127.0.0.1:\(port)/auth/v1.0"
        environment["S3_ENDPOINT"] = "127.0.0.1:\(port)"
        return environment
    }

    func state() throws -> State {
        let data = try Data(contentsOf: URL(fileURLWithPath: statePath))
        let document = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let faults = (document["faults"] as? [[String: Any]] ?? []).map {
            State.Fault(path: $0["path"] as? String ?? "", upstreamStatus: $0["upstream_status"] as? Int ?? 0)
        }
        return State(faults: faults, dataPuts: document["data_puts"] as? [String: Int] ?? [:],
                     statuses: document["statuses"] as? [String: Int] ?? [:],
                     authenticationRequests: document["auth_requests"] as? Int ?? 0)
    }
}
