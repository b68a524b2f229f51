import Foundation
import Glibc
import Testing

/// The real `cairn` binary against a real Keystone v3 (Debian's python3-keystone) in front of a
/// second Swift proxy (keystonemiddleware's authtoken and Swift's keystoneauth) of a Swift
/// All-In-One of the suite's own: scripts/objectstore/keystone.sh on the directory of
/// scripts/objectstore/saio.sh. cairn gets only the OS_* variables (no ST_*), so every request
/// needs a Keystone token and the object-store URL of Keystone's catalog. Each test shows in the
/// logs of Keystone and of its proxy that what it checks really happened.
@Suite("cairn against a live Keystone v3 (Swift All-In-One behind authtoken and keystoneauth)",
       .privateSwiftAllInOne, .liveKeystone, .serialized,
       .disabled(if: LiveSwiftAllInOne.skipped, "CAIRN_SKIP_OBJECTSTORE=1"))
struct KeystoneTests {
    @Test func initBackupRestoreAndCheckThroughKeystoneWithTokensRevokedBetweenCommands() throws {
        let server = try LiveSwiftAllInOne.require()
        let keystone = try LiveKeystone.require()
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch, initialize: false, on: .swift, serverEnvironment: keystone.clientEnvironment)
        #expect(!cairn.environment.keys.contains { $0.hasPrefix("ST_") }, "\(cairn.environment.keys.sorted())")
        let container = try Self.container(of: cairn)
        let proxyLog = ProxyLog(path: keystone.proxyLog)
        let tempAuthLog = ProxyLog(path: server.proxyLog)
        let keystoneLog = ProxyLog(path: keystone.log)

        try cairn.ok(["init", "--pack-size", "1"])
        let source = scratch.path("redis")
        try TreeFixtures.makeAwkwardTree(at: source, largeFileSize: 3 << 20)
        let first = try cairn.backup([source])
        #expect((first["bytes"] as? Int ?? 0) > 3 << 20)

        // Between two commands: the next one's first token is a new one, and the old is dead.
        try keystone.revokeTokens()
        try TreeFixtures.write(source + "/appendonlydir/appendonly.aof.1.incr.aof", TreeFixtures.bytes(count: 40_000, seed: 9), mode: 0o600)
        let second = try cairn.backup([source])
        #expect((second["added_bytes"] as? Int ?? 0) > 0)

        let listed = try cairn.snapshots()
        #expect(listed.count == 2, "\(listed)")
        #expect(Set(listed.flatMap { $0["paths"] as? [String] ?? [] }) == [source], "\(listed)")
        let target = scratch.path("restored")
        try cairn.ok(["restore", "latest", "--target", target])
        #expect(TreeFixtures.snapshot(of: source) == TreeFixtures.snapshot(of: target))
        let checked = try cairn.ok(["check", "--read-data", "--cache-dir", scratch.path("fresh-cache")])
        #expect(checked.stdout.contains("no errors"), "\(checked.stdout)")

        // All of it went to the account of the catalog's URL, through the Keystone proxy, and
        // none of it through the TempAuth proxy; each of the 6 commands asked Keystone for a token.
        let account = try #require(URL(string: keystone.environment["KEYSTONE_STORAGE_URL"] ?? "")).path
        let ours = proxyLog.newLines().filter { $0.contains("/\(container)") }
        #expect(ours.contains { $0.isUpload(into: container) && $0.status == 201 }, "no upload reached the Keystone proxy")
        #expect(!ours.isEmpty && ours.allSatisfy { $0.contains(" \(account)/\(container)") },
                "requests outside \(account): \(ours.filter { !$0.contains(" \(account)/") }.map(\.text))")
        #expect(!tempAuthLog.newLines().contains { $0.contains(container) }, "cairn used the TempAuth proxy")
        let tokens = keystoneLog.newLines().filter { $0.contains("\"POST /v3/auth/tokens HTTP/1.1\" 201") }
        #expect(tokens.count >= 6, "Keystone issued \(tokens.count) tokens")
    }

    /// The backup is held (SIGSTOP) right after its first pack arrived, every token is revoked,
    /// and it goes on: its next requests meet 401, it authenticates again and finishes.
    @Test func tokensRevokedInTheMiddleOfABackupAreRenewed() throws {
        let keystone = try LiveKeystone.require()
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch, initialize: false, on: .swift, serverEnvironment: keystone.clientEnvironment)
        try cairn.ok(["init", "--pack-size", "1"])
        let container = try Self.container(of: cairn)
        let source = try ObjectStoreFaultTests.makeData(scratch, "data", megabytes: 16, seed: 41)
        let log = ProxyLog(path: keystone.proxyLog)
        let keystoneLog = ProxyLog(path: keystone.log)

        let backup = try cairn.start(["backup", "--json", source])
        defer { kill(backup.pid, SIGCONT) }
        let packArrived = eventually(timeout: 60) {
            backup.hasEnded || log.newLines().contains { $0.isUpload(into: container) && $0.contains("/data/") && $0.status == 201 }
        }
        try #require(packArrived && !backup.hasEnded, "the backup ended before its first pack arrived, or no pack arrived in 60 s")
        kill(backup.pid, SIGSTOP)
        let beforeRevoking = log.newLines().filter { $0.contains("/\(container)/") }
        try keystone.revokeTokens()
        let afterRevoking = ProxyLog(path: keystone.proxyLog)
        let renewals = ProxyLog(path: keystone.log)
        kill(backup.pid, SIGCONT)
        let result = backup.wait()
        #expect(result.status == 0, "\(result.stderr)")
        let summary = try #require(result.json as? [String: Any], "\(result.stdout)")
        #expect(summary["bytes"] as? Int == 16 << 20)

        let later = afterRevoking.newLines().filter { $0.contains("/\(container)/") }
        let refused = try #require(later.firstIndex { $0.status == 401 }, "no request of the backup met the revoked token: \(later.map(\.text))")
        #expect(later[refused...].contains { $0.isUpload(into: container) && $0.contains("/data/") && $0.status == 201 },
                "no pack was uploaded after the 401")
        #expect(beforeRevoking.allSatisfy { $0.status != 401 })
        #expect(renewals.newLines().contains { $0.contains("\"POST /v3/auth/tokens HTTP/1.1\" 201") }, "cairn did not authenticate again")
        #expect(!keystoneLog.newLines().contains { $0.contains("\"POST /v3/auth/tokens HTTP/1.1\" 401") })

        #expect(try cairn.snapshots().count == 1)
        let checked = try cairn.ok(["check", "--read-data", "--cache-dir", scratch.path("fresh-cache")])
        #expect(checked.stdout.contains("no errors"), "\(checked.stdout)")
    }

    @Test func aWrongPasswordFailsNamingKeystoneAndWritesNothing() throws {
        let keystone = try LiveKeystone.require()
        let scratch = try Scratch()
        var environment = keystone.clientEnvironment
        environment["OS_PASSWORD"] = "not-" + (environment["OS_PASSWORD"] ?? "")
        let wrong = try CairnRunner(scratch, initialize: false, on: .swift, serverEnvironment: environment)
        let container = try Self.container(of: wrong)
        let proxyLog = ProxyLog(path: keystone.proxyLog)
        let keystoneLog = ProxyLog(path: keystone.log)

        let refused = try wrong.run(["init"])
        #expect(refused.status == 1, "exit \(refused.status) (1: failure): \(refused.stderr)")
        #expect(refused.stderr.contains("Keystone refused the credentials of backup for project redis"), "\(refused.stderr)")
        #expect(refused.stderr.contains("OS_PASSWORD"), "the hint names the variables: \(refused.stderr)")
        #expect(refused.stdout.isEmpty, "\(refused.stdout)")
        // Nothing written: no request reached Swift, no catalog cache, and Keystone was asked once
        // (a command that retried a refused password would lock the user out where lockout is on).
        #expect(!proxyLog.newLines().contains { $0.contains("/\(container)") }, "the Keystone proxy saw requests for \(container)")
        #expect(!FileManager.default.fileExists(atPath: scratch.path("xdg/cairn")))
        let attempts = keystoneLog.newLines().filter { $0.contains("\"POST /v3/auth/tokens HTTP/1.1\"") }
        #expect(attempts.count == 1 && attempts[0].contains("\" 401 "), "\(attempts.map(\.text))")

        // The container does not exist: the right password finds no repository there (and
        // snapshots does not create one).
        var right = wrong
        right.environment["OS_PASSWORD"] = keystone.clientEnvironment["OS_PASSWORD"]
        let none = try right.run(["snapshots"])
        #expect(none.status == 10, "exit \(none.status): \(none.stderr)")
        #expect(!proxyLog.newLines().contains { $0.method == "PUT" && $0.contains("/\(container)") })

        // A repository that exists: a backup with the wrong password fails and changes nothing.
        try right.ok(["init", "--pack-size", "1"])
        let source = try ObjectStoreFaultTests.makeData(scratch, "data", megabytes: 1, seed: 51)
        let writes = ProxyLog(path: keystone.proxyLog)
        let failed = try wrong.run(["backup", source])
        #expect(failed.status != 0)
        #expect(!writes.newLines().contains { ($0.method == "PUT" || $0.method == "DELETE") && $0.contains("/\(container)/") })
        #expect(try right.snapshots().isEmpty)
        // Reported as the refused login it is, not as "there is no Cairn repository" (exit 10).
        #expect(failed.status == 1, "exit \(failed.status)")
        #expect(failed.stderr.contains("Keystone refused the credentials"), "\(failed.stderr)")
    }

    @Test func aRegionWithoutAnObjectStoreEndpointIsAClearError() throws {
        let keystone = try LiveKeystone.require()
        let scratch = try Scratch()
        let emptyRegion = try #require(keystone.environment["KEYSTONE_EMPTY_REGION"])
        let right = try CairnRunner(scratch, initialize: false, on: .swift, serverEnvironment: keystone.clientEnvironment)
        let container = try Self.container(of: right)
        let proxyLog = ProxyLog(path: keystone.proxyLog)

        for (name, value, message) in [("OS_REGION_NAME", emptyRegion, "no public object-store endpoint in region \(emptyRegion)"),
                                       ("OS_REGION_NAME", "Atlantis", "no public object-store endpoint in region Atlantis"),
                                       ("OS_INTERFACE", "internal", "no internal object-store endpoint in region RegionOne")] {
            let result = try right.run(["init"], environment: [name: value])
            #expect(result.status == 1, "\(name)=\(value): exit \(result.status): \(result.stderr)")
            #expect(result.stderr.contains("the Keystone catalog has \(message)"), "\(name)=\(value): \(result.stderr)")
        }
        #expect(!proxyLog.newLines().contains { $0.contains("/\(container)") })

        try right.ok(["init"])
        let result = try right.run(["snapshots"], environment: ["OS_REGION_NAME": emptyRegion])
        #expect(result.status != 0)
        #expect(result.status == 1, "exit \(result.status): \(result.stderr)")
        #expect(result.stderr.contains("no public object-store endpoint in region \(emptyRegion)"), "\(result.stderr)")
        // The catalog's older interface spelling names the same endpoint.
        try right.ok(["snapshots"], environment: ["OS_INTERFACE": "publicURL"])
    }

    /// Project `redis` exists in two domains; the domain variables decide which one (and so
    /// which Swift account) the token is for.
    @Test func theDomainVariablesChooseTheProject() throws {
        let keystone = try LiveKeystone.require()
        let scratch = try Scratch()
        let other = keystone.environment
        var environment = keystone.clientEnvironment
        environment["OS_USERNAME"] = other["KEYSTONE_DOMAIN2_USERNAME"]
        environment["OS_PASSWORD"] = other["KEYSTONE_DOMAIN2_PASSWORD"]
        environment["OS_USER_DOMAIN_NAME"] = other["KEYSTONE_DOMAIN2_NAME"]
        environment["OS_PROJECT_DOMAIN_NAME"] = other["KEYSTONE_DOMAIN2_NAME"]
        let byName = try CairnRunner(scratch, initialize: false, on: .swift, serverEnvironment: environment)
        let container = try Self.container(of: byName)
        let proxyLog = ProxyLog(path: keystone.proxyLog)
        try byName.ok(["init"])
        let account = try #require(URL(string: other["KEYSTONE_DOMAIN2_STORAGE_URL"] ?? "")).path
        let uploads = proxyLog.newLines().filter { $0.isUpload(into: container) && $0.status == 201 }
        #expect(!uploads.isEmpty && uploads.allSatisfy { $0.contains(" \(account)/\(container)/") }, "\(uploads.map(\.text))")

        // The dashboard's openrc file names the domains by ID (OS_PROJECT_DOMAIN_ID,
        // OS_USER_DOMAIN_ID): with no *_NAME set, those pick the same project and account.
        var byID = byName
        byID.environment["OS_USER_DOMAIN_NAME"] = nil
        byID.environment["OS_PROJECT_DOMAIN_NAME"] = nil
        byID.environment["OS_USER_DOMAIN_ID"] = other["KEYSTONE_DOMAIN2_ID"]
        byID.environment["OS_PROJECT_DOMAIN_ID"] = other["KEYSTONE_DOMAIN2_ID"]
        let listed = try byID.run(["snapshots", "--json"])
        #expect(listed.status == 0, "exit \(listed.status): \(listed.stderr)")
        #expect((listed.json as? [Any]) != nil, "\(listed.stdout)")
    }

    /// The container of a swift:// repository of `cairn`.
    static func container(of cairn: CairnRunner) throws -> String {
        try #require(cairn.repository.split(separator: "/").dropFirst().first.map(String.init))
    }
}

/// scripts/objectstore/keystone.sh started on the directory of the suite's Swift All-In-One.
final class LiveKeystone: Sendable {
    let directory: String
    /// Every line of DIR/keystone-env.
    let environment: [String: String]

    static var script: String { LiveSwiftAllInOne.scriptsDirectory + "/keystone.sh" }

    init(on server: LiveSwiftAllInOne) throws {
        directory = server.directory
        let log = directory + "/log/keystone-start.log"
        let started = Date()
        let pid = try Spawn.start("/bin/bash", [Self.script, "start", directory],
                                  environment: LiveSwiftAllInOne.ownedEnvironment, stdout: log, stderr: log)
        let exit = Spawn.wait(pid)
        guard exit.status == 0, !exit.signaled else {
            throw LiveServerError(description: "could not start Keystone (\(Self.script) start, exit \(exit.status)); "
                                  + "set CAIRN_SKIP_OBJECTSTORE=1 to leave the object-store tests out.\n"
                                  + ((try? String(contentsOfFile: log, encoding: .utf8)) ?? ""))
        }
        var values: [String: String] = [:]
        for line in ((try? String(contentsOfFile: directory + "/keystone-env", encoding: .utf8)) ?? "").split(separator: "\n") {
            if let equals = line.firstIndex(of: "=") { values[String(line[..<equals])] = String(line[line.index(after: equals)...]) }
        }
        environment = values
        print("Keystone harness (CLI): ready in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
    }

    /// What a client needs: the OS_* lines only.
    var clientEnvironment: [String: String] { environment.filter { $0.key.hasPrefix("OS_") } }
    /// Keystone's own log, with one access line per request (`"POST /v3/auth/tokens HTTP/1.1" 201 …`).
    var log: String { environment["KEYSTONE_LOG"] ?? directory + "/log/keystone.log" }
    /// The Keystone proxy's log, access lines like the TempAuth proxy's.
    var proxyLog: String { environment["KEYSTONE_PROXY_LOG"] ?? directory + "/log/proxy-keystone.log" }

    func stop() {
        let pid = try? Spawn.start("/bin/bash", [Self.script, "stop", directory])
        if let pid { _ = Spawn.wait(pid) }
    }

    /// `keystone.sh revoke-tokens`, which itself checks that a token issued before is refused.
    func revokeTokens() throws {
        let log = directory + "/log/keystone-control.log"
        let pid = try Spawn.start("/bin/bash", [Self.script, "revoke-tokens", directory], stdout: log, stderr: log)
        let exit = Spawn.wait(pid)
        guard exit.status == 0, !exit.signaled else {
            throw LiveServerError(description: "keystone.sh revoke-tokens failed: " + ((try? String(contentsOfFile: log, encoding: .utf8)) ?? ""))
        }
    }

    @TaskLocal static var current: Result<LiveKeystone, LiveServerError>?

    static func require() throws -> LiveKeystone {
        guard let current else { throw LiveServerError(description: "the suite needs the .liveKeystone trait") }
        return try current.get()
    }
}

/// Starts Keystone on the suite's Swift All-In-One (so it comes after `.privateSwiftAllInOne`)
/// before the suite's first test and stops it after the last, whatever happened.
struct LiveKeystoneTrait: SuiteTrait, TestScoping {
    var isRecursive: Bool { false }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        guard !LiveSwiftAllInOne.skipped else { return try await function() }
        let keystone: Result<LiveKeystone, LiveServerError>
        do {
            keystone = .success(try LiveKeystone(on: try LiveSwiftAllInOne.require()))
        } catch let error as LiveServerError {
            keystone = .failure(error)
        } catch {
            keystone = .failure(LiveServerError(description: "\(error)"))
        }
        defer { if case .success(let running) = keystone { running.stop() } }
        try await LiveKeystone.$current.withValue(keystone) { try await function() }
    }
}

extension Trait where Self == LiveKeystoneTrait {
    /// A Keystone of the suite's own in front of its private Swift All-In-One.
    static var liveKeystone: Self { Self() }
}
