import Foundation
import Glibc
import Testing

@Suite("Unattended: cron entry, metrics file, quiet output", .serialized)
struct UnattendedTests {
    /// Installs the entry `cairn schedule` writes, then runs its command line the way cron would.
    @Test func scheduledEntryRunsBackupThenForgetAndWritesMetrics() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let redis = try LiveRedis(directory: scratch.path("redis"), appendOnly: true)
        defer { redis.stop() }
        try redis.loadDataset(count: 50)
        let passwordFile = scratch.path("password")
        chmod(passwordFile, 0o600)
        let cronFile = scratch.path("cairn.cron"), logFile = scratch.path("cairn.log"), metricsFile = scratch.path("cairn.prom")
        let copy = scratch.path("offsite")
        try cairn.ok(["schedule", "--repo", cairn.repository, "--redis", redis.url, "--password-file", passwordFile,
                      "--at", "02:30", "--keep-daily", "2", "--keep-weekly", "0", "--keep-monthly", "0", "--cairn", CairnRunner.binary,
                      "--log-file", logFile, "--metrics-file", metricsFile, "--mirror-to", copy, "--install", "--cron-file", cronFile])
        var info = stat()
        #expect(stat(cronFile, &info) == 0 && info.st_mode & 0o777 == 0o644)
        let text = try String(contentsOfFile: cronFile, encoding: .utf8)
        #expect(text.hasSuffix("\n"), "cron ignores a last line without a newline")

        var environment: [String: String] = ["HOME": scratch.root]
        var command = ""
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let fields = line.split(separator: " ", maxSplits: 6, omittingEmptySubsequences: true)
            if fields.count == 7 {
                #expect(fields[0] == "30" && fields[1] == "2" && fields[5] == "root")
                command = String(fields[6]).replacingOccurrences(of: "\\%", with: "%")
            } else if let equals = line.firstIndex(of: "=") {
                environment[String(line[..<equals])] = String(line[line.index(after: equals)...])
            }
        }
        #expect(environment["CAIRN_PASSWORD_FILE"] == passwordFile)
        for night in 1...3 {
            try redis.cli(["SET", "night", String(night)])
            let run = try Spawn.start("/bin/sh", ["-c", command], environment: environment)
            #expect(Spawn.wait(run).status == 0, "night \(night): \((try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "")")
        }
        // --quiet: nothing but errors in the log.
        #expect(try String(contentsOfFile: logFile, encoding: .utf8).isEmpty)
        // Three backups on one day; keep-daily 2 keeps one per day.
        #expect(try cairn.snapshots().count == 1)
        // The mirror followed, the forgotten snapshots included.
        let mirrored = cairn.on(copy)
        #expect(try mirrored.snapshots().compactMap { $0["id"] as? String } == (try cairn.snapshots()).compactMap { $0["id"] as? String })
        let metrics = try String(contentsOfFile: metricsFile, encoding: .utf8)
        let labels = "repository=\"\(cairn.repository)\""
        #expect(metrics.contains("cairn_last_run_success{command=\"backup\",\(labels)} 1"))
        #expect(metrics.contains("cairn_last_run_success{command=\"forget --prune\",\(labels)} 1"))
        #expect(metrics.contains("cairn_snapshots{command=\"forget --prune\",\(labels)} 1"))
        #expect(metrics.contains("# TYPE cairn_last_success_timestamp_seconds gauge"))
        #expect(metrics.contains("cairn_repository_bytes{command=\"backup\""))
        #expect(metrics.contains("cairn_last_run_added_bytes{command=\"backup\""))
        #expect(metrics.contains("cairn_last_run_success{command=\"mirror\",repository=\"\(copy)\"} 1"))

        // A failed run says so and keeps the time of the last success.
        let lastSuccess = Self.sample(metrics, "cairn_last_success_timestamp_seconds{command=\"backup\"")
        let failed = try cairn.run(["backup", "--quiet", "--metrics-file", metricsFile, "--redis", "redis://127.0.0.1:\(LiveRedis.freePort())"])
        #expect(failed.status == 14)
        #expect(failed.stdout.isEmpty)
        let after = try String(contentsOfFile: metricsFile, encoding: .utf8)
        #expect(after.contains("cairn_last_run_success{command=\"backup\",\(labels)} 0"))
        #expect(Self.sample(after, "cairn_last_success_timestamp_seconds{command=\"backup\"") == lastSuccess)
        #expect(after.contains("cairn_last_run_success{command=\"forget --prune\",\(labels)} 1"))
    }

    /// A copy in object storage reads its credentials from a root-only file at run time; without
    /// one the entry would fail every night, so it is refused.
    @Test func aMirrorToAnObjectStoreReadsItsCredentialsFromAFile() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let common = ["schedule", "--repo", cairn.repository, "--redis", "redis://127.0.0.1:6379", "--mirror-to", "swift://offsite/db1"]
        let refused = try cairn.run(common)
        #expect(refused.status == 64 && refused.stderr.contains("--mirror-env-file"), "\(refused.stderr)")
        let entry = try cairn.ok(common + ["--mirror-env-file", "/etc/cairn/offsite.env"]).stdout
        #expect(entry.contains("&& { set -a && . /etc/cairn/offsite.env && set +a && "), "\(entry)")
        #expect(entry.contains("mirror --to swift://offsite/db1 --delete --quiet"), "\(entry)")
        #expect(!entry.contains("ST_AUTH"))
        let kept = try cairn.ok(common + ["--mirror-env-file", "/etc/cairn/offsite.env", "--mirror-keep-deleted"]).stdout
        #expect(kept.contains("mirror --to swift://offsite/db1 --quiet"), "\(kept)")
    }

    /// An object-store repository is refused for what it is, not as a relative path.
    @Test func scheduleSaysItWritesEntriesForLocalRepositoriesOnly() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch, initialize: false)
        for location in ["swift://redis-backups/prod", "s3://127.0.0.1:9000/bucket/prod"] {
            let result = try cairn.run(["schedule", "--repo", location, "--redis", "redis://127.0.0.1:6379"])
            #expect(result.status == 64 && result.stderr.contains("local repositories only") && !result.stderr.contains("absolute path"),
                    "\(location): exit \(result.status), \(result.stderr)")
        }
    }

    static func sample(_ text: String, _ prefix: String) -> String? {
        text.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { $0.split(separator: " ").last.map(String.init) }
    }
}
