import Foundation
import Glibc
import Testing

@Suite("Locks: concurrent backups, prune waits, stale locks")
struct LockingTests {
    @Test func twoBackupsAtOnceBothSucceed() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        var sources: [String] = []
        for index in 0..<2 {
            let source = scratch.path("data\(index)")
            TreeFixtures.makeDirectory(source)
            try TreeFixtures.write(source + "/dump.bin", TreeFixtures.bytes(count: 8 << 20, seed: UInt64(40 + index)))
            sources.append(source)
        }
        let pids = try sources.map { source in
            try Spawn.start(CairnRunner.binary, ["backup", source], environment: cairn.environment,
                            stdout: scratch.path("out-\(source.suffix(5))"), stderr: scratch.path("err-\(source.suffix(5))"))
        }
        for (pid, source) in zip(pids, sources) {
            let exit = Spawn.wait(pid)
            let errors = (try? String(contentsOfFile: scratch.path("err-\(source.suffix(5))"), encoding: .utf8)) ?? ""
            #expect(exit.status == 0 && !exit.signaled, "concurrent backup of \(source) failed: \(errors)")
        }
        #expect(try cairn.snapshots().count == 2)
        try cairn.ok(["check", "--read-data"])
    }

    @Test func pruneDuringABackupFailsClearlyOrWaits() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        try TreeFixtures.write(source + "/dump.bin", TreeFixtures.bytes(count: 1 << 20, seed: 50))
        _ = try cairn.backup([source])
        try TreeFixtures.write(source + "/big.bin", TreeFixtures.bytes(count: 160 << 20, seed: 51))

        let backup = try Spawn.start(CairnRunner.binary, ["backup", source], environment: cairn.environment,
                                     stdout: scratch.path("backup.out"), stderr: scratch.path("backup.err"))
        // Wait until the backup holds its lock.
        let locks = cairn.repository + "/locks"
        var held = false
        for _ in 0..<500 where !held {
            held = !((try? FileManager.default.contentsOfDirectory(atPath: locks)) ?? []).isEmpty
            if !held { usleep(10_000) }
        }
        #expect(held, "the backup never took a lock")

        let refused = try cairn.run(["prune"])
        let stillRunning = waitpid(backup, nil, WNOHANG) == 0
        if stillRunning {
            #expect(refused.status == 11, "prune during a backup: \(refused.status) \(refused.stderr)")
            #expect(refused.stderr.contains("locked") && refused.stderr.contains("backup") && refused.stderr.contains("--lock-wait"))
        }
        let waited = try cairn.run(["prune", "--lock-wait", "5m"])
        #expect(waited.status == 0 || waited.status == 7, "prune --lock-wait: \(waited.stderr)")
        #expect(Spawn.wait(backup).status == 0)
        #expect(try cairn.snapshots().count == 2)
        try cairn.ok(["check", "--read-data"])
    }

    @Test func lockOfAKilledBackupIsTakenOver() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        try TreeFixtures.write(source + "/dump.bin", TreeFixtures.bytes(count: 6 << 20, seed: 60))
        let killed = try cairn.run(["backup", source], environment: ["CAIRN_TEST_CRASH_AT": "chunking"])
        #expect(killed.signaled)
        #expect(!(try FileManager.default.contentsOfDirectory(atPath: cairn.repository + "/locks")).isEmpty,
                "a SIGKILLed backup cannot remove its lock; the test needs one left behind")
        // An exclusive lock conflicts with the dead backup's shared lock: it must take it over.
        let prune = try cairn.run(["prune"])
        #expect(prune.status == 0 || prune.status == 7, "\(prune.stderr)")
        #expect(prune.stderr.contains("stale lock"))
        _ = try cairn.backup([source])
        try cairn.ok(["check", "--read-data"])
    }
}
