import Foundation
import Glibc
import Testing

/// A redis-server that serves TLS only (`port 0`, `tls-port`, `tls-auth-clients yes`), with a CA,
/// server and client certificates made by openssl for each test: cairn reaches it as rediss://.
@Suite("Live Redis over TLS", .serialized)
struct RedisTLSTests {
    /// A TLS-only server, loaded with the usual dataset.
    private func server(_ scratch: Scratch, extra: [String] = [], count: Int = 300) throws -> LiveRedis {
        let certificates = try TestCertificates(in: scratch.path("tls"))
        let redis = try LiveRedis(directory: scratch.path("data"), appendOnly: true, extra: extra, tls: certificates)
        try redis.loadDataset(count: count)
        return redis
    }

    @Test func filesCaptureOverTLSThenDrill() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let redis = try server(scratch)
        defer { redis.stop() }
        let summary = try cairn.backup([], extra: ["--redis", redis.url] + redis.tlsOptions)
        #expect((summary["files"] as? Int ?? 0) >= 4)
        let facts = try #require(try cairn.snapshots().last?["redis"] as? [String: String])
        #expect(facts["capture"] == "bgsave")
        #expect(facts["keys_per_db"]?.contains("db2=60") == true)
        try cairn.ok(["drill", "latest"])
    }

    /// The RDB streamed over TLS (a few MiB: reading pauses and resumes while cairn stores it)
    /// restores to the same dataset.
    @Test func replicationCaptureOverTLSGivesTheSameDataset() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let redis = try server(scratch, extra: ["repl-diskless-sync yes", "repl-diskless-sync-delay 0"], count: 3000)
        defer { redis.stop() }
        try redis.cli(["DEBUG", "POPULATE", "100000", "populated:", "64"])
        let original = redis.digest
        #expect(original.count == 40)
        try cairn.ok(["backup", "--redis", redis.url, "--via", "replication"] + redis.tlsOptions)
        let snapshot = try #require(try cairn.snapshots().last)
        #expect((snapshot["redis"] as? [String: String])?["capture"] == "replication")

        let target = scratch.path("restored")
        try cairn.ok(["restore", try #require(snapshot["id"] as? String), "--target", target, "--include", "dump.rdb"])
        let copy = try LiveRedis(directory: target, appendOnly: false)
        defer { copy.stop() }
        #expect(copy.digest == original)
    }

    @Test func redisRestoreOverTLS() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let redis = try server(scratch)
        defer { redis.stop() }
        let original = redis.digest
        _ = try cairn.backup([], extra: ["--redis", redis.url] + redis.tlsOptions)
        try redis.loadDataset(prefix: "later-")
        #expect(redis.digest != original)

        let restored = try cairn.ok(["redis-restore", "latest", "--redis", redis.url, "--conf", redis.configFile,
                                     "--start-command", redis.startCommand] + redis.tlsOptions)
        #expect(restored.stdout.contains("SHUTDOWN SAVE on rediss://"), "\(restored.stdout)")
        try redis.waitReady()
        #expect(redis.digest == original)
    }

    /// Nothing answers at a rediss:// address while the server in --conf has its tls-port
    /// elsewhere (its `port` is 0): that is not a stopped server, and nothing is changed.
    @Test func redisRestoreComparesTheAddressWithTLSPort() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let redis = try server(scratch, count: 50)
        defer { redis.stop() }
        _ = try cairn.backup([], extra: ["--redis", redis.url] + redis.tlsOptions)
        try redis.loadDataset(prefix: "later-", count: 20)
        let digest = redis.digest
        let result = try cairn.run(["redis-restore", "latest", "--redis", "rediss://127.0.0.1:\(LiveRedis.freePort())",
                                    "--conf", redis.configFile, "--start-command", redis.startCommand] + redis.tlsOptions)
        #expect(result.status == 64 && result.stderr.contains("listens on tls-port \(redis.port)"), "exit \(result.status): \(result.stderr)")
        #expect(redis.digest == digest)
        #expect(!FileManager.default.fileExists(atPath: redis.directory + "/dump.rdb.old"))
    }

    /// A server certificate the CA given does not vouch for: exit 14 (Redis), the option to use,
    /// and no snapshot.
    @Test func aCertificateTheCADoesNotVouchForIsRefused() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let redis = try server(scratch, count: 10)
        defer { redis.stop() }
        let certificates = try #require(redis.tls)
        let result = try cairn.run(["backup", "--redis", redis.url, "--redis-tls-ca", certificates.otherCA,
                                    "--redis-tls-cert", certificates.clientCertificate, "--redis-tls-key", certificates.clientKey])
        #expect(result.status == 14, "\(result.stderr)")
        #expect(result.stderr.contains("the TLS certificate of \(redis.url) could not be verified"), "\(result.stderr)")
        #expect(result.stderr.contains("--redis-tls-ca"))
        #expect(try cairn.snapshots().isEmpty)
    }

    /// A certificate for a DNS name, reached by IP address: refused unless --redis-tls-server-name
    /// gives that name (the name is checked, not only the CA).
    @Test func aCertificateForAnotherNameNeedsTheServerName() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let redis = try server(scratch, count: 10)
        defer { redis.stop() }
        let certificates = try #require(redis.tls)
        try redis.cli(["CONFIG", "SET", "tls-cert-file", certificates.namedServerCertificate, "tls-key-file", certificates.namedServerKey])
        let byAddress = try cairn.run(["backup", "--redis", redis.url] + redis.tlsOptions)
        #expect(byAddress.status == 14 && byAddress.stderr.contains("could not be verified"), "exit \(byAddress.status): \(byAddress.stderr)")
        #expect(byAddress.stderr.contains("--redis-tls-server-name"))
        let wrongName = try cairn.run(["backup", "--redis", redis.url, "--redis-tls-server-name", "other.test"] + redis.tlsOptions)
        #expect(wrongName.status == 14 && wrongName.stderr.contains("could not be verified"), "exit \(wrongName.status): \(wrongName.stderr)")
        try cairn.ok(["backup", "--redis", redis.url, "--redis-tls-server-name", certificates.namedServerName] + redis.tlsOptions)
        #expect(try cairn.snapshots().count == 1)
    }

    /// tls-auth-clients yes and no client certificate: the server's refusal says which options to add.
    @Test func aServerThatWantsAClientCertificateSaysSo() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let redis = try server(scratch, count: 10)
        defer { redis.stop() }
        let certificates = try #require(redis.tls)
        let result = try cairn.run(["backup", "--redis", redis.url, "--redis-tls-ca", certificates.ca])
        #expect(result.status == 14, "\(result.stderr)")
        #expect(result.stderr.contains("\(redis.url) requires a client certificate"), "\(result.stderr)")
        #expect(result.stderr.contains("--redis-tls-cert FILE and --redis-tls-key FILE"))
        #expect(try cairn.snapshots().isEmpty)
    }

    /// TLS options with a plain redis:// address, or one without the other, are usage errors.
    @Test func tlsOptionsNeedARedissAddressAndGoTogether() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let plain = try cairn.run(["backup", "--redis", "redis://127.0.0.1:\(LiveRedis.freePort())", "--redis-tls-ca", "/etc/ssl/certs/ca-certificates.crt"])
        #expect(plain.status == 64 && plain.stderr.contains("need a rediss:// address"), "\(plain.stderr)")
        let alone = try cairn.run(["backup", "--redis", "rediss://127.0.0.1:\(LiveRedis.freePort())", "--redis-tls-cert", "/nonexistent"])
        #expect(alone.status == 64 && alone.stderr.contains("--redis-tls-cert and --redis-tls-key go together"), "\(alone.stderr)")
    }

    /// The cron entry's backup carries the TLS options, as absolute paths.
    @Test func scheduleCarriesTheTLSOptions() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch, initialize: false)
        let tls = ["--redis-tls-ca", "/etc/redis/ca.crt", "--redis-tls-cert", "/etc/cairn/client.crt", "--redis-tls-key", "/etc/cairn/client.key"]
        let entry = try cairn.ok(["schedule", "--repo", cairn.repository, "--redis", "rediss://redis.internal:6380"] + tls)
        #expect(entry.stdout.contains("backup --redis rediss://redis.internal:6380 " + tls.joined(separator: " ")), "\(entry.stdout)")
        let relative = try cairn.run(["schedule", "--repo", cairn.repository, "--redis", "rediss://redis.internal:6380",
                                      "--redis-tls-ca", "ca.crt"])
        #expect(relative.status == 64 && relative.stderr.contains("absolute paths"), "\(relative.stderr)")
    }
}
