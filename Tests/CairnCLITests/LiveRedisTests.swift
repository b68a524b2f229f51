import Foundation
import Glibc
import Testing

/// Tests that start their own redis-server (127.0.0.1, free port, temporary dir, stopped by pid).
@Suite("Live Redis: capture and restore", .serialized)
struct LiveRedisTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/redis7-datadir").path

    @Test(arguments: [false, true])
    func backupThenRedisRestoreGivesTheSameDataset(appendOnly: Bool) throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let redis = try LiveRedis(directory: scratch.path("data"), appendOnly: appendOnly)
        try redis.loadDataset()
        let original = redis.digest
        #expect(original.count == 40)

        let summary = try cairn.backup([], extra: ["--redis", redis.url])
        #expect((summary["files"] as? Int ?? 0) >= (appendOnly ? 4 : 1))
        let snapshot = try #require(try cairn.snapshots().last)
        let facts = try #require(snapshot["redis"] as? [String: String])
        #expect(facts["capture"] == "bgsave")
        #expect(facts["aof"] == (appendOnly ? "yes" : "no"))
        #expect(facts["keys_per_db"]?.contains("db2=60") == true)
        #expect(facts["functions"] == "1")

        try redis.loadDataset(prefix: "later-")
        #expect(redis.digest != original)

        let restored = try cairn.ok(["redis-restore", "latest", "--redis", redis.url, "--conf", redis.configFile,
                                     "--start-command", redis.startCommand])
        #expect(restored.stdout.contains("SHUTDOWN SAVE"))
        try redis.waitReady()
        #expect(redis.digest == original)
        // Nothing was deleted: the previous files are kept.
        #expect(FileManager.default.fileExists(atPath: redis.directory + "/dump.rdb.old"))
        if appendOnly {
            #expect(FileManager.default.fileExists(atPath: redis.directory + "/appendonlydir.old"))
        }
        try cairn.ok(["drill", "latest"])
    }

    /// Keys that never reached the AOF (`DEBUG POPULATE` writes none) would be lost when the server
    /// restarts, since it loads its AOF: the drill, which loads the captured AOF on its own too,
    /// says so (and passes: the RDB is whole). After a BGREWRITEAOF the AOF holds them all.
    @Test func drillWarnsWhenTheAOFDoesNotHoldTheDataset() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let redis = try LiveRedis(directory: scratch.path("data"), appendOnly: true)
        try redis.loadDataset()
        _ = try redis.cli(["DEBUG", "POPULATE", "5000", "populated:"])
        _ = try cairn.backup([], extra: ["--redis", redis.url])
        let warned = try cairn.ok(["drill", "latest", "--json"])
        #expect(warned.stderr.contains("db0: 812 keys in the AOF, 5812 in the RDB"), "\(warned.stderr)")
        let warnings = try #require(warned.json as? [String: Any])["warnings"] as? [String]
        #expect(warnings?.count == 1)

        _ = try redis.cli(["BGREWRITEAOF"])
        _ = try cairn.backup([], extra: ["--redis", redis.url])
        let clean = try cairn.ok(["drill", "latest"])
        #expect(!clean.stderr.contains("warning"), "\(clean.stderr)")
    }

    /// The RDB pulled over the replication protocol holds the same dataset as the one BGSAVE wrote,
    /// in both transfer forms (`$<length>` from disk, and diskless `$EOF:<mark>`).
    @Test(arguments: ["no", "yes"])
    func replicationPullEqualsTheFileCapture(diskless: String) throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let redis = try LiveRedis(directory: scratch.path("data"), appendOnly: true,
                                  extra: ["repl-diskless-sync \(diskless)", "repl-diskless-sync-delay 0", "requirepass s3cret"])
        try redis.loadDataset(count: 3000)
        let original = redis.digest
        let auth = ["REDISCLI_AUTH": "s3cret"]
        let files = try cairn.ok(["backup", "--json", "--redis", redis.url], environment: auth)
        let pulled = try cairn.ok(["backup", "--json", "--redis", redis.url, "--via", "replication"], environment: auth)
        let pulledSummary = try #require(pulled.json as? [String: Any])
        #expect(pulledSummary["files"] as? Int == 1)
        // The streamed RDB is cut at key records too, so it deduplicates against the file capture.
        let filesStored = try #require((files.json as? [String: Any])?["added_stored_bytes"] as? Int)
        let pulledStored = try #require(pulledSummary["added_stored_bytes"] as? Int)
        #expect(pulledStored * 5 < filesStored, "replication capture stored \(pulledStored) after the file capture's \(filesStored)")
        let snapshots = try cairn.snapshots()
        let facts = try #require(snapshots.last?["redis"] as? [String: String])
        #expect(facts["capture"] == "replication")
        #expect(facts["transfer"] == (diskless == "yes" ? "diskless" : "disk"))
        #expect(facts["keys"] == (snapshots.first?["redis"] as? [String: String])?["keys"])

        var digests: [String] = []
        for (index, snapshot) in snapshots.enumerated() {
            let target = scratch.path("restored-\(index)")
            try cairn.ok(["restore", try #require(snapshot["id"] as? String), "--target", target, "--include", "dump.rdb"])
            let copy = try LiveRedis(directory: target, appendOnly: false)
            digests.append(copy.digest)
            copy.stop()
        }
        #expect(digests == [original, original])
        try cairn.ok(["drill", "latest"])
    }

    /// What earlier redis-restore runs moved aside (`*.old`, `*.old.N`, files and folders) is not
    /// captured: old datasets, often far larger than the current one.
    @Test func captureSkipsWhatRestoresMovedAside() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let redis = try LiveRedis(directory: scratch.path("data"), appendOnly: true)
        try redis.loadDataset(count: 50)
        let olderRDB = Self.fixture + "/dump.rdb"
        try FileManager.default.copyItem(atPath: olderRDB, toPath: redis.directory + "/dump.rdb.old")
        try FileManager.default.copyItem(atPath: olderRDB, toPath: redis.directory + "/dump.rdb.old.1")
        try FileManager.default.copyItem(atPath: Self.fixture + "/appendonlydir", toPath: redis.directory + "/appendonlydir.old")
        try "kept\n".write(toFile: redis.directory + "/notes.txt", atomically: true, encoding: .utf8)

        let backup = try cairn.ok(["backup", "--verbose", "--redis", redis.url])
        #expect(backup.stderr.contains("not capturing 3 entries named *.old or *.old.N"), "\(backup.stderr)")
        let listed = try #require(try cairn.ok(["ls", "latest", "--json"]).json as? [[String: Any]])
        let paths = listed.compactMap { $0["path"] as? String }
        #expect(paths.contains("dump.rdb"))
        #expect(paths.contains("notes.txt"))
        #expect(paths.contains { $0.hasPrefix("appendonlydir/") })
        #expect(!paths.contains { $0.contains(".old") }, "\(paths)")
        let facts = try #require(try cairn.snapshots().last?["redis"] as? [String: String])
        #expect(facts["rdb_file"] == "dump.rdb")
    }

    /// A server whose `dbfilename` is not dump.rdb, beside a stale dump.rdb: the snapshot's RDB is
    /// the server's, and redis-restore puts exactly that one back.
    @Test func snapshotRDBIsTheServersDBFilename() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let redis = try LiveRedis(directory: scratch.path("data"), appendOnly: false, extra: ["dbfilename redis-6379.rdb"])
        try FileManager.default.copyItem(atPath: Self.fixture + "/dump.rdb", toPath: redis.directory + "/dump.rdb")
        try redis.loadDataset(count: 50)
        let original = redis.digest

        _ = try cairn.backup([], extra: ["--redis", redis.url])
        let facts = try #require(try cairn.snapshots().last?["redis"] as? [String: String])
        #expect(facts["dbfilename"] == "redis-6379.rdb")
        #expect(facts["rdb_file"] == "redis-6379.rdb")
        #expect(facts["keys_per_db"]?.contains("db2=10") == true)

        try redis.cli(["FLUSHALL"])
        try cairn.ok(["redis-restore", "latest", "--redis", redis.url, "--conf", redis.configFile,
                      "--start-command", redis.startCommand])
        try redis.waitReady()
        #expect(redis.digest == original)
        try cairn.ok(["drill", "latest"])
    }

    @Test func dryRunChangesNothing() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let redis = try LiveRedis(directory: scratch.path("data"), appendOnly: true)
        try redis.loadDataset(count: 50)
        _ = try cairn.backup([], extra: ["--redis", redis.url])
        try redis.loadDataset(prefix: "more-", count: 50)
        let digest = redis.digest
        let plan = try cairn.ok(["redis-restore", "latest", "--redis", redis.url, "--dry-run", "--start-command", "false"])
        #expect(plan.stdout.contains("dry run"))
        #expect(redis.digest == digest)
        #expect(!FileManager.default.fileExists(atPath: redis.directory + "/dump.rdb.old"))
    }

    @Test func captureWhileAWriterWritesIsConsistent() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let redis = try LiveRedis(directory: scratch.path("data"), appendOnly: true)
        try redis.loadDataset(count: 2000)
        let writer = try Spawn.start("/bin/sh", ["-c", "i=0; while true; do i=$((i+1)); echo \"SET w:$i $i\"; echo \"INCR counter\"; done | redis-cli -p \(redis.port) >/dev/null 2>&1"],
                                     newProcessGroup: true)
        usleep(200_000)
        _ = try cairn.backup([], extra: ["--redis", redis.url])
        _ = try cairn.backup([], extra: ["--redis", redis.url])
        kill(-writer, SIGKILL)
        _ = Spawn.wait(writer)
        _ = try? redis.cli(["CLIENT", "KILL", "TYPE", "normal"])

        // The captured RDB and the captured AOF each load on their own.
        let drill = try cairn.ok(["drill", "latest", "--json"])
        let result = try #require(drill.json as? [String: Any])
        #expect(result["passed"] as? Bool == true)
        #expect(result["aof_keys"] != nil)

        // Restoring gives exactly the captured RDB's dataset.
        let alone = scratch.path("alone")
        try cairn.ok(["restore", "latest", "--target", alone, "--include", "dump.rdb"])
        let reference = try LiveRedis(directory: alone, appendOnly: false)
        let expected = reference.digest
        reference.stop()
        try cairn.ok(["redis-restore", "latest", "--redis", redis.url, "--conf", redis.configFile, "--start-command", redis.startCommand])
        try redis.waitReady()
        #expect(redis.digest == expected)
    }
}

@Suite("Live Redis: failures leave no snapshot", .serialized)
struct LiveRedisFailureTests {
    @Test func wrongPasswordAndUnreachableServer() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let redis = try LiveRedis(directory: scratch.path("data"), appendOnly: false, extra: ["requirepass s3cret"])
        let noPassword = try cairn.run(["backup", "--redis", redis.url])
        #expect(noPassword.status == 14)
        #expect(noPassword.stderr.contains("requires a password"))
        let wrong = try cairn.run(["backup", "--redis", redis.url], environment: ["REDISCLI_AUTH": "nope"])
        #expect(wrong.status == 14)
        let passwordFile = scratch.path("redis-pass")
        try "s3cret\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        try cairn.ok(["backup", "--redis", redis.url, "--redis-password-file", passwordFile])
        #expect(try cairn.snapshots().count == 1)

        let unreachable = try cairn.run(["backup", "--redis", "redis://127.0.0.1:\(LiveRedis.freePort())"])
        #expect(unreachable.status == 14)
        #expect(unreachable.stderr.contains("cannot connect"))
        #expect(try cairn.snapshots().count == 1)
    }

    /// Ctrl-C or SIGTERM while the capture is stored: its hard links leave the Redis data
    /// directory with the process, rather than waiting there for the next capture and holding the
    /// old dump's blocks once Redis saves a new one.
    @Test(arguments: [SIGINT, SIGTERM])
    func interruptedCaptureLeavesNoLinksInTheDataDirectory(_ signal: Int32) throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let redis = try LiveRedis(directory: scratch.path("data"), appendOnly: false)
        try redis.cli(["DEBUG", "POPULATE", "100000", "key", "64"])
        func staging() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: redis.directory)) ?? []).filter { $0.hasPrefix(".cairn-capture-") }
        }
        // It stops itself once 1 MiB of the capture is chunked, with its links in place.
        let running = try cairn.start(["backup", "--redis", redis.url], environment: ["CAIRN_TEST_PAUSE_AT": "chunking"])
        #expect(eventually(timeout: 60) { running.isStopped || running.hasEnded })
        try #require(running.isStopped && staging().count == 1, "not paused mid-capture: \(running.stderrSoFar)")
        kill(running.pid, signal)
        kill(running.pid, SIGCONT)
        let interrupted = running.resumeToEnd(timeout: 60)
        #expect(interrupted.signaled && interrupted.status == signal, "\(interrupted.status) \(interrupted.stderr)")
        #expect(staging().isEmpty, "left in the data directory: \(staging())")
        var info = stat()
        #expect(stat(redis.directory + "/dump.rdb", &info) == 0 && info.st_nlink == 1)
        #expect(try cairn.snapshots().isEmpty)
    }

    @Test func failingBGSAVELeavesNoSnapshot() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let redis = try LiveRedis(directory: scratch.path("data"), appendOnly: false)
        try redis.loadDataset(count: 20)
        // The server's working directory disappears: BGSAVE cannot create its temp file.
        try FileManager.default.removeItem(atPath: redis.directory)
        let result = try cairn.run(["backup", "--redis", redis.url, "--data-dir", scratch.root])
        #expect(result.status == 14, "\(result.stderr)")
        #expect(result.stderr.contains("BGSAVE failed"))
        #expect(try cairn.snapshots().isEmpty)
    }

    @Test func renamedConfigNeedsDataDir() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let redis = try LiveRedis(directory: scratch.path("data"), appendOnly: false, extra: ["rename-command CONFIG \"\""])
        try redis.loadDataset(count: 20)
        let refused = try cairn.run(["backup", "--redis", redis.url])
        #expect(refused.status == 14)
        #expect(refused.stderr.contains("--data-dir"))
        #expect(try cairn.snapshots().isEmpty)
        _ = try cairn.backup([], extra: ["--redis", redis.url, "--data-dir", redis.directory])
        #expect(try cairn.snapshots().count == 1)
    }

    @Test func truncatedOrFlippedRDBIsRefused() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/redis7-datadir").path
        for damage in ["truncate", "flip"] {
            let copy = scratch.path("redis-\(damage)")
            try FileManager.default.copyItem(atPath: fixture, toPath: copy)
            let dump = copy + "/dump.rdb"
            if damage == "truncate" {
                truncate(dump, 20_000)
            } else {
                let fd = open(dump, O_RDWR)
                var byte: UInt8 = 0
                pread(fd, &byte, 1, 15_000)
                byte ^= 0x10
                pwrite(fd, &byte, 1, 15_000)
                close(fd)
            }
            let backup = try cairn.run(["backup", copy])
            #expect(backup.status == 13, "\(damage): \(backup.stderr)")
            let inspect = try cairn.run(["inspect-rdb", dump])
            #expect(inspect.status == 13)
        }
        #expect(try cairn.snapshots().isEmpty)
        let good = try cairn.ok(["inspect-rdb", "--json", fixture + "/dump.rdb"])
        let summary = try #require(good.json as? [String: Any])
        #expect(summary["keys"] as? Int == 445)
        #expect(summary["functions"] as? Int == 1)
    }
}

/// `redis-restore` replaces a server's files only once it has stopped that server itself, and
/// keeps what the server held until then.
@Suite("Live Redis: redis-restore changes nothing it cannot stop", .serialized)
struct RedisRestoreSafetyTests {
    /// A server that answers with an error (no or a wrong password), or nothing at `--redis`
    /// while the server in `--conf` listens on another port: none of these is a stopped server.
    /// The files stay where they are and the server keeps serving its data.
    @Test func aServerItCannotAskIsNotTakenForStopped() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let redis = try LiveRedis(directory: scratch.path("data"), appendOnly: true, extra: ["requirepass s3cret"])
        try redis.loadDataset(count: 100)
        try cairn.ok(["backup", "--redis", redis.url], environment: ["REDISCLI_AUTH": "s3cret"])
        try redis.loadDataset(prefix: "later-", count: 50)
        let digest = redis.digest
        let attempts: [(url: String, status: Int32, says: String)] = [
            ("redis://:wrong@127.0.0.1:\(redis.port)", 14, "cannot tell whether"),
            (redis.url, 14, "requires a password"),
            ("redis://127.0.0.1:\(try LiveRedis.freePort())", 64, "listens on port \(redis.port)"),
        ]
        for attempt in attempts {
            let result = try cairn.run(["redis-restore", "latest", "--redis", attempt.url, "--conf", redis.configFile,
                                        "--start-command", redis.startCommand])
            #expect(result.status == attempt.status && result.stderr.contains(attempt.says),
                    "\(attempt.url): exit \(result.status), \(result.stderr)")
            #expect(redis.digest == digest, "the server's data changed after \(attempt.url)")
            #expect(!FileManager.default.fileExists(atPath: redis.directory + "/appendonlydir.old"))
            #expect(!FileManager.default.fileExists(atPath: redis.directory + "/dump.rdb.old"))
        }
    }

    /// Given only --data-dir there is no server to ask: one still running in that directory (Redis
    /// changes into its `dir`) is found by its working directory, in the plan and in the run.
    @Test func onlyADataDirectoryIsNotTakenForAStoppedServer() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let redis = try LiveRedis(directory: scratch.path("data"), appendOnly: false)
        try redis.loadDataset(count: 50)
        _ = try cairn.backup([], extra: ["--redis", redis.url])
        try redis.loadDataset(prefix: "later-", count: 20)
        let digest = redis.digest
        for extra in [["--dry-run"], []] {
            let result = try cairn.run(["redis-restore", "latest", "--data-dir", redis.directory] + extra)
            #expect(result.status == 14 && result.stderr.contains("is running in \(redis.directory)"), "exit \(result.status): \(result.stderr)")
        }
        #expect(redis.digest == digest)
        #expect(!FileManager.default.fileExists(atPath: redis.directory + "/dump.rdb.old"))
    }

    /// Given only --data-dir, nothing says whether AOF is on; with it on, Redis would load the AOF
    /// folder and ignore a restored dump.rdb. An AOF folder there needs --conf first.
    @Test func anAOFFolderBesideTheDumpNeedsConf() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let redis = try LiveRedis(directory: scratch.path("data"), appendOnly: true)
        try redis.loadDataset(count: 50)
        _ = try cairn.backup([], extra: ["--redis", redis.url])
        let backedUp = redis.digest
        try redis.loadDataset(prefix: "later-", count: 20)
        // Still running: that is what it says first (--conf would not help).
        let running = try cairn.run(["redis-restore", "latest", "--data-dir", redis.directory])
        #expect(running.status == 14 && running.stderr.contains("is running in"), "exit \(running.status): \(running.stderr)")
        redis.stop()
        let refused = try cairn.run(["redis-restore", "latest", "--data-dir", redis.directory])
        #expect(refused.status == 64 && refused.stderr.contains("cannot tell whether AOF is on") && refused.stderr.contains("--conf"),
                "exit \(refused.status): \(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: redis.directory + "/dump.rdb.old"))
        #expect(!FileManager.default.fileExists(atPath: redis.directory + "/appendonlydir.old"))

        try cairn.ok(["redis-restore", "latest", "--data-dir", redis.directory, "--conf", redis.configFile])
        try redis.start()
        #expect(redis.digest == backedUp, "the server did not load the restored snapshot")
    }

    /// CONFIG renamed: --data-dir does not tell dbfilename or whether AOF is on, so the hint is
    /// --conf, and with it the restore goes through.
    @Test func aServerWithoutConfigIsRestoredWithConf() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let redis = try LiveRedis(directory: scratch.path("data"), appendOnly: true, extra: ["rename-command CONFIG \"\""])
        try redis.loadDataset(count: 50)
        _ = try cairn.backup([], extra: ["--redis", redis.url, "--data-dir", redis.directory])
        let backedUp = redis.digest
        try redis.loadDataset(prefix: "later-", count: 20)
        let digest = redis.digest
        let refused = try cairn.run(["redis-restore", "latest", "--redis", redis.url, "--data-dir", redis.directory,
                                     "--start-command", redis.startCommand])
        #expect(refused.status == 64 && refused.stderr.contains("pass --conf") && !refused.stderr.contains("pass --data-dir"),
                "exit \(refused.status): \(refused.stderr)")
        #expect(redis.digest == digest)
        try cairn.ok(["redis-restore", "latest", "--redis", redis.url, "--conf", redis.configFile, "--start-command", redis.startCommand])
        try redis.waitReady()
        #expect(redis.digest == backedUp)
    }

    /// With appendonly off, the writes since the server's last save exist only in its memory.
    /// The server is stopped with SHUTDOWN SAVE, so `dump.rdb.old` holds them.
    @Test func thePreviousDatasetIsKeptWholeInDotOld() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let redis = try LiveRedis(directory: scratch.path("data"), appendOnly: false)
        try redis.loadDataset(count: 100)
        _ = try cairn.backup([], extra: ["--redis", redis.url])
        try redis.loadDataset(prefix: "unsaved-", count: 60)
        let before = redis.digest
        try cairn.ok(["redis-restore", "latest", "--redis", redis.url, "--conf", redis.configFile, "--start-command", redis.startCommand])
        try redis.waitReady()
        #expect(redis.digest != before)

        let kept = scratch.path("kept")
        mkdir(kept, 0o755)
        try FileManager.default.copyItem(atPath: redis.directory + "/dump.rdb.old", toPath: kept + "/dump.rdb")
        let old = try LiveRedis(directory: kept, appendOnly: false)
        #expect(old.digest == before, "dump.rdb.old does not hold the dataset the server served before the restore")
        old.stop()
    }

    /// The snapshot is restored next to the live files before the server is stopped: a snapshot
    /// that cannot be placed (here: one with no RDB) leaves the server running on its own data.
    @Test func aFailedRestoreLeavesTheServerRunning() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let redis = try LiveRedis(directory: scratch.path("data"), appendOnly: true)
        try redis.loadDataset(count: 50)
        let notRedis = scratch.path("not-redis")
        TreeFixtures.makeDirectory(notRedis)
        try TreeFixtures.write(notRedis + "/notes.txt", Array("no RDB here\n".utf8))
        _ = try cairn.backup([notRedis])
        let digest = redis.digest
        let result = try cairn.run(["redis-restore", "latest", "--redis", redis.url, "--conf", redis.configFile,
                                    "--start-command", redis.startCommand])
        #expect(result.status == 15 && result.stderr.contains("names no RDB of the server"), "exit \(result.status): \(result.stderr)")
        #expect(redis.digest == digest, "the server is not serving its own data any more")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: redis.directory).filter { $0.hasPrefix(".cairn-restore") || $0.hasSuffix(".old") }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }
}
