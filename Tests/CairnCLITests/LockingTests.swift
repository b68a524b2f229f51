import Foundation
import Glibc
import Testing

@Suite("Locks: concurrent backups, prune waits, stale locks")
struct LockingTests {
    /// Waits up to 5 s for a lock object to appear in `locks` (a process started a moment ago
    /// taking its lock); false if none did.
    static func waitForALock(in locks: String) -> Bool {
        for _ in 0..<500 {
            if !((try? FileManager.default.contentsOfDirectory(atPath: locks)) ?? []).isEmpty { return true }
            usleep(10_000)
        }
        return false
    }

    /// Writes a fresh exclusive lock of `command` held on another host (so never stale while the
    /// test runs) into `locks` and returns its path: remove the file to release it.
    static func forgeExclusiveLock(in locks: String, command: String) throws -> String {
        let now = ISO8601DateFormatter().string(from: Date())
        let record = "{\"command\":\"\(command)\",\"created\":\"\(now)\",\"exclusive\":true,\"hostname\":\"elsewhere\","
            + "\"pid\":4242,\"refreshed\":\"\(now)\"}"
        let path = locks + "/" + String(repeating: "ab", count: 32)
        try record.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

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
        #expect(Self.waitForALock(in: cairn.repository + "/locks"), "the backup never took a lock")

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

    /// A restore reads packs for minutes: it holds a shared lock, so a prune meanwhile is refused
    /// instead of deleting packs under it; a prune at work stops a restore (and a check) before
    /// it writes anything. A repository no lock can be written into is still restored.
    @Test func restoreAndPruneKeepOutOfEachOthersWay() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        try TreeFixtures.write(source + "/big.bin", TreeFixtures.bytes(count: 160 << 20, seed: 53))
        _ = try cairn.backup([source])
        let locks = cairn.repository + "/locks"
        func lockFiles() -> [String] { (try? FileManager.default.contentsOfDirectory(atPath: locks)) ?? [] }
        #expect(lockFiles().isEmpty)

        let target = scratch.path("restored")
        let restore = try Spawn.start(CairnRunner.binary, ["restore", "latest", "--target", target], environment: cairn.environment,
                                      stdout: scratch.path("restore.out"), stderr: scratch.path("restore.err"))
        #expect(Self.waitForALock(in: locks), "the restore never took a lock")
        let refused = try cairn.run(["prune"])
        if waitpid(restore, nil, WNOHANG) == 0 {
            #expect(refused.status == 11, "prune during a restore: \(refused.status) \(refused.stderr)")
            #expect(refused.stderr.contains("shared lock by restore"), "\(refused.stderr)")
        }
        #expect(Spawn.wait(restore).status == 0)
        #expect(TreeFixtures.contents(of: source) == TreeFixtures.contents(of: target))
        #expect(lockFiles().isEmpty, "the restore left its lock behind")

        // A prune at work on another host (its lock fresh, so not stale).
        let forged = try Self.forgeExclusiveLock(in: locks, command: "prune")
        let blocked = try cairn.run(["restore", "latest", "--target", scratch.path("blocked")])
        #expect(blocked.status == 11 && blocked.stderr.contains("exclusive lock by prune"), "\(blocked.status) \(blocked.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.path("blocked")))
        #expect(try cairn.run(["check"]).status == 11)
        try FileManager.default.removeItem(atPath: forged)

        // Read-only media or credentials: no lock can be written, the restore goes on and says so.
        try FileManager.default.removeItem(atPath: locks)
        try "not a directory".write(toFile: locks, atomically: true, encoding: .utf8)
        let unlocked = try cairn.run(["restore", "latest", "--target", scratch.path("unlocked")])
        #expect(unlocked.status == 0 && unlocked.stderr.contains("without a lock"), "\(unlocked.status) \(unlocked.stderr)")
        #expect(TreeFixtures.contents(of: source) == TreeFixtures.contents(of: scratch.path("unlocked")))
        try FileManager.default.removeItem(atPath: locks)
        try FileManager.default.createDirectory(atPath: locks, withIntermediateDirectories: false)
    }

    /// Whose lock a test forges: where its (dead) pid was recorded, compared with this machine.
    enum ForgedHolder: String, CaseIterable, Sendable, CustomTestStringConvertible {
        /// Same host, boot and PID namespace: the pid is provably dead, so the lock is stale.
        case sameNamespace
        /// A container sharing the host name, with its own PID namespace.
        case otherPIDNamespace
        /// Another machine of the same short name (db1.eu and db1.us), or this one before a reboot.
        case otherBoot
        /// A lock written by a Cairn that recorded neither boot id nor PID namespace.
        case olderCairn

        var testDescription: String { rawValue }

        /// A fresh shared backup lock, as `RepositoryLock` encodes it, naming a pid that is dead here.
        func lockJSON() throws -> String {
            let dead = try Spawn.start("/bin/true", [])
            _ = Spawn.wait(dead)   // reaped: its pid names no process now
            let now = ISO8601DateFormatter().string(from: Date())
            let hostname = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "localhost"
            let bootID = try String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let namespace = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/pid")
            var fields = ["\"command\":\"backup\"", "\"created\":\"\(now)\"", "\"exclusive\":false",
                          "\"hostname\":\"\(hostname)\"", "\"pid\":\(dead)", "\"refreshed\":\"\(now)\""]
            switch self {
            case .sameNamespace: fields += ["\"boot_id\":\"\(bootID)\"", "\"pid_namespace\":\"\(namespace)\""]
            case .otherPIDNamespace: fields += ["\"boot_id\":\"\(bootID)\"", "\"pid_namespace\":\"pid:[1]\""]
            case .otherBoot: fields += ["\"boot_id\":\"\(UUID().uuidString.lowercased())\"", "\"pid_namespace\":\"\(namespace)\""]
            case .olderCairn: break
            }
            return "{" + fields.joined(separator: ",") + "}"
        }
    }

    /// A pid that is dead here proves a lock stale only when it was recorded on this boot of this
    /// host in this PID namespace: a backup in a container of the same host name (or on db1.us, seen
    /// from db1.eu) is alive though kill says ESRCH, and a prune taking its lock over deleted the
    /// packs it was writing. A lock from an older Cairn, which did not record where its pid lives,
    /// is judged by age alone, also on the same host.
    @Test(arguments: ForgedHolder.allCases)
    func deadPidTakesOverOnlyALockFromThisNamespace(_ holder: ForgedHolder) throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let forged = cairn.repository + "/locks/" + String(repeating: "cd", count: 32)
        try holder.lockJSON().write(toFile: forged, atomically: true, encoding: .utf8)

        let unlock = try cairn.ok(["unlock"])
        let prune = try cairn.run(["prune"])
        if holder == .sameNamespace {
            #expect(unlock.stdout.contains("removed 1 lock"), "\(unlock.stdout) \(unlock.stderr)")
            #expect(!FileManager.default.fileExists(atPath: forged))
            #expect(prune.status == 0 || prune.status == 7, "\(prune.stderr)")
        } else {
            #expect(unlock.stdout.contains("removed 0 lock"), "\(unlock.stdout) \(unlock.stderr)")
            #expect(prune.status == 11, "prune took over a live lock: \(prune.status) \(prune.stderr)")
            #expect(prune.stderr.contains("shared lock by backup") && prune.stderr.contains("--remove-all"), "\(prune.stderr)")
            #expect(FileManager.default.fileExists(atPath: forged), "the lock was removed")
        }
    }

    /// A backup whose lock another process removed as stale (by mistake: it is alive) may find
    /// its packs deleted by a prune: it stops before its next index object or its snapshot, and
    /// commits nothing.
    @Test func backupWhoseLockWasRemovedCommitsNothing() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        try TreeFixtures.write(source + "/big.bin", TreeFixtures.bytes(count: 160 << 20, seed: 61))
        let locks = cairn.repository + "/locks"

        let backup = try cairn.start(["backup", source])
        #expect(Self.waitForALock(in: locks), "the backup never took a lock")
        for name in try FileManager.default.contentsOfDirectory(atPath: locks) {
            try FileManager.default.removeItem(atPath: locks + "/" + name)
        }
        #expect(!backup.hasEnded, "the backup ended before its lock was removed; the test proves nothing")
        let result = backup.wait()
        #expect(result.status == 11, "a backup without its lock: \(result.status) \(result.stderr)")
        #expect(result.stderr.contains("treated it as stale") && result.stderr.contains("nothing was committed"),
                "\(result.stderr)")
        #expect(try cairn.snapshots().isEmpty, "a backup that lost its lock committed a snapshot")

        _ = try cairn.backup([source])
        try cairn.ok(["check", "--read-data"])
    }

    /// The same for prune: a prune whose exclusive lock was removed while it worked (another
    /// process took it for stale) switches no catalog and deletes nothing.
    @Test func pruneWhoseLockWasRemovedDeletesNothing() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        try TreeFixtures.write(source + "/a.bin", TreeFixtures.bytes(count: 2 << 20, seed: 62))
        let first = try #require(try cairn.backup([source])["snapshot_id"] as? String)
        try TreeFixtures.write(source + "/a.bin", TreeFixtures.bytes(count: 2 << 20, seed: 63))
        _ = try cairn.backup([source])
        try cairn.ok(["forget", first])
        let packs = { TreeFixtures.contents(of: cairn.repository + "/data").count }
        let before = packs()
        let locks = cairn.repository + "/locks"

        let prune = try cairn.start(["prune"], environment: ["CAIRN_TEST_PAUSE_AT": "after-lock"])
        defer { kill(prune.pid, SIGCONT) }
        try #require(eventually(timeout: 30) { prune.isStopped || prune.hasEnded } && !prune.hasEnded,
                     "prune did not stop after taking its lock")
        for name in try FileManager.default.contentsOfDirectory(atPath: locks) {
            try FileManager.default.removeItem(atPath: locks + "/" + name)
        }
        let result = prune.resumeToEnd()
        #expect(result.status == 11 && result.stderr.contains("nothing was committed"), "\(result.status) \(result.stderr)")
        #expect(packs() == before, "a prune that lost its lock deleted packs")
        try cairn.ok(["check", "--read-data"])
        let pruned = try cairn.run(["prune"])
        #expect(pruned.status == 0 && packs() < before, "the next prune: \(pruned.status) \(pruned.stderr)")
    }

    /// A lock object that cannot be read (a failed read, a damaged object) may be a live prune's
    /// or backup's: it counts as held, and says so, until the store's listing time puts it past
    /// the stale limit.
    @Test func unreadableLockIsHeldUntilItIsOld() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let unreadable = cairn.repository + "/locks/" + String(repeating: "ef", count: 32)
        try "{\"command\":\"pru".write(toFile: unreadable, atomically: true, encoding: .utf8)

        let refused = try cairn.run(["prune"])
        #expect(refused.status == 11, "prune beside an unreadable lock: \(refused.status) \(refused.stderr)")
        #expect(refused.stderr.contains("cannot be read") && refused.stderr.contains("30 minutes"), "\(refused.stderr)")
        #expect(FileManager.default.fileExists(atPath: unreadable))

        var times = [timeval(tv_sec: time(nil) - 31 * 60, tv_usec: 0), timeval(tv_sec: time(nil) - 31 * 60, tv_usec: 0)]
        #expect(utimes(unreadable, &times) == 0)
        let pruned = try cairn.run(["prune"])
        #expect(pruned.status == 0 || pruned.status == 7, "\(pruned.stderr)")
        #expect(pruned.stderr.contains("removing stale lock object"), "\(pruned.stderr)")
        #expect(!FileManager.default.fileExists(atPath: unreadable))
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
