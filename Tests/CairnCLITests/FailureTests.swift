import Foundation
import Glibc
import Testing

@Suite("Bad input: clear message, documented exit code, nothing written")
struct FailureTests {
    func objectCount(_ repository: String) -> Int {
        let enumerator = FileManager.default.enumerator(atPath: repository)
        var count = 0
        while let path = enumerator?.nextObject() as? String {
            if !path.hasPrefix("cache") && !path.hasPrefix("tmp") && !path.hasSuffix("/") {
                var info = stat()
                if lstat(repository + "/" + path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG { count += 1 }
            }
        }
        return count
    }

    /// A server's socket in the directory is nothing to back up and no failure (else every nightly
    /// run exits 3); a fifo is still reported.
    @Test func aSocketIsSkippedQuietlyAFifoIsReported() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        try TreeFixtures.write(source + "/dump.bin", TreeFixtures.bytes(count: 1000, seed: 29))
        let made = Spawn.wait(try Spawn.start("/usr/bin/python3", ["-c", "import socket; socket.socket(socket.AF_UNIX).bind('\(source)/redis.sock')"]))
        try #require(made.status == 0)
        var info = stat()
        try #require(lstat(source + "/redis.sock", &info) == 0 && (info.st_mode & S_IFMT) == S_IFSOCK)

        let quiet = try cairn.run(["backup", source])
        #expect(quiet.status == 0, "\(quiet.stderr)")
        #expect(!quiet.stderr.contains("redis.sock"), "\(quiet.stderr)")

        #expect(mkfifo(source + "/pipe", 0o600) == 0)
        let reported = try cairn.run(["backup", source])
        #expect(reported.status == 3)
        #expect(reported.stderr.contains("pipe: skipped"), "\(reported.stderr)")
    }

    /// A password file with CRLF line ends opens the repository its LF twin made; and a repository
    /// whose key an earlier cairn made from such a file (line end included) still opens with it.
    @Test func passwordFilesWithCRLFLineEnds() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let crlf = scratch.path("password-crlf")
        try "correct horse battery staple\r\n".write(toFile: crlf, atomically: true, encoding: .utf8)
        try cairn.ok(["snapshots"], environment: ["CAIRN_PASSWORD_FILE": crlf])
        try cairn.ok(["snapshots"], environment: ["CAIRN_PASSWORD_FILE": "", "CAIRN_PASSWORD_COMMAND": "printf 'correct horse battery staple\\r\\n'"])

        let old = cairn.on(scratch.path("made-from-crlf"))
        try old.ok(["init"], environment: ["CAIRN_PASSWORD_FILE": "", "CAIRN_PASSWORD": "pw\r\n"])
        let file = scratch.path("old-crlf")
        try "pw\r\n".write(toFile: file, atomically: true, encoding: .utf8)
        try old.ok(["snapshots"], environment: ["CAIRN_PASSWORD_FILE": file])
        let typed = try old.run(["snapshots"], environment: ["CAIRN_PASSWORD_FILE": "", "CAIRN_PASSWORD": "pw"])
        #expect(typed.status == 12, "only the file's reading falls back: \(typed.stderr)")
    }

    @Test func wrongPassword() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let result = try cairn.run(["snapshots"], environment: ["CAIRN_PASSWORD_FILE": "", "CAIRN_PASSWORD": "wrong"])
        #expect(result.status == 12)
        #expect(result.stderr.contains("password"))
    }

    /// Cron: a password command that prints nothing (a vault that is locked, a secret not yet
    /// provisioned) or an empty password file is named as such, not reported as a wrong password
    /// (exit 12 says the password changed; no repository has an empty one).
    @Test func emptyPasswordSourceIsNotAWrongPassword() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let empty = scratch.path("empty-password")
        try TreeFixtures.write(empty, [])
        let fromFile = try cairn.run(["snapshots"], environment: ["CAIRN_PASSWORD_FILE": empty])
        #expect(fromFile.status == 64, "\(fromFile.status) \(fromFile.stderr)")
        #expect(fromFile.stderr.contains("first line is empty"), "\(fromFile.stderr)")
        let fromCommand = try cairn.run(["snapshots", "--json"], environment: ["CAIRN_PASSWORD_FILE": "", "CAIRN_PASSWORD_COMMAND": "true"])
        #expect(fromCommand.status == 64, "\(fromCommand.status) \(fromCommand.stderr)")
        #expect(fromCommand.stderr.contains("printed no password") && fromCommand.stdout.isEmpty, "\(fromCommand.stderr)")
    }

    /// Cron: a password command that hangs (a secret store that never answers) is killed when
    /// CAIRN_PASSWORD_COMMAND_TIMEOUT runs out, with the `sleep` it started, and named as such;
    /// before, the run waited for it for ever. A timeout that is not a number is refused.
    @Test func aHangingPasswordCommandIsKilledAtItsTimeout() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let duration = Self.uniqueSleep()
        func sleeping() -> [pid_t] { Self.running(["sleep", duration]) }
        defer { for pid in sleeping() { kill(pid, SIGKILL) } }

        let started = Date()
        let hanging = try cairn.start(["snapshots"], environment: ["CAIRN_PASSWORD_FILE": "",
                                                                   "CAIRN_PASSWORD_COMMAND": "sleep \(duration); echo never",
                                                                   "CAIRN_PASSWORD_COMMAND_TIMEOUT": "1"])
        let result = hanging.wait(timeout: 20)
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(result.status == 64, "\(result.status) \(result.stderr)")
        #expect(result.stderr.contains("CAIRN_PASSWORD_COMMAND did not finish within 1 s"), "\(result.stderr)")
        #expect(result.stderr.contains("CAIRN_PASSWORD_COMMAND_TIMEOUT=SECONDS"), "\(result.stderr)")
        #expect(eventually(timeout: 2) { sleeping().isEmpty }, "the command's sleep is still running")

        let badTimeout = try cairn.run(["snapshots"], environment: ["CAIRN_PASSWORD_FILE": "", "CAIRN_PASSWORD_COMMAND": "echo pw",
                                                                   "CAIRN_PASSWORD_COMMAND_TIMEOUT": "1m"])
        #expect(badTimeout.status == 64 && badTimeout.stderr.contains("CAIRN_PASSWORD_COMMAND_TIMEOUT=1m is not a number of seconds"),
                "\(badTimeout.stderr)")
    }

    /// A `sleep` argument no other process has: 600 s and this test's pid and a random number.
    static func uniqueSleep() -> String { "600.\(getpid())\(UInt32.random(in: 1000...9999))" }

    /// Live (not zombie) processes whose arguments are exactly `arguments`.
    static func running(_ arguments: [String]) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(pid_t.init).filter { pid in
            guard let cmdline = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8),
                  cmdline.split(separator: "\0").map(String.init) == arguments,
                  let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
            return !stat.contains(") Z ")   // a zombie has ended
        }
    }

    /// Cron stops a run (SIGTERM from `timeout`, systemd, or an operator's kill) while its password
    /// command hangs: the command runs in a process group of its own, so before it was left running
    /// (with the `sleep` it started) until its own end. The signal now kills that group, and cairn
    /// still ends by the signal.
    @Test(arguments: [SIGTERM, SIGINT, SIGHUP])
    func aPasswordCommandEndsWithCairn(signal: Int32) throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let duration = Self.uniqueSleep()
        func sleeping() -> [pid_t] { Self.running(["sleep", duration]) }
        defer { for pid in sleeping() { kill(pid, SIGKILL) } }

        let hanging = try cairn.start(["snapshots"], environment: ["CAIRN_PASSWORD_FILE": "",
                                                                   "CAIRN_PASSWORD_COMMAND": "sleep \(duration); echo never"])
        try #require(eventually(timeout: 10) { !sleeping().isEmpty }, "the password command did not start")
        kill(hanging.pid, signal)
        let result = hanging.wait(timeout: 20)
        #expect(result.signaled && result.status == signal, "\(result.signaled) \(result.status) \(result.stderr)")
        #expect(eventually(timeout: 2) { sleeping().isEmpty }, "the command's sleep is still running")
    }

    /// On a terminal a password command may prompt there (`read </dev/tty`, a pinentry): it shares
    /// cairn's process group, the terminal's foreground, and is not timed. In a group of its own
    /// it was stopped at its first prompt (SIGTTOU) and killed at the timeout.
    @Test func aPasswordCommandOnATerminalMayPromptThere() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let script = """
            import os, pty, select, sys, time
            binary, repository = sys.argv[1], sys.argv[2]
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/"),
                   "CAIRN_REPOSITORY": repository, "CAIRN_PASSWORD_COMMAND_TIMEOUT": "5",
                   "CAIRN_PASSWORD_COMMAND": 'stty -echo </dev/tty; read p </dev/tty; stty echo </dev/tty; echo "$p"'}
            pid, fd = pty.fork()   # the child leads a session on a new terminal, in its foreground
            if pid == 0:
                os.execve(binary, [binary, "snapshots"], env)
            started, typed = time.time(), False
            while time.time() < started + 30:
                if not typed and time.time() > started + 1:
                    os.write(fd, b"correct horse battery staple\\n")
                    typed = True
                if select.select([fd], [], [], 0.2)[0]:
                    try:
                        if not os.read(fd, 4096): break
                    except OSError:
                        break
            _, status = os.waitpid(pid, 0)
            print(os.waitstatus_to_exitcode(status))
            """
        let (exit, printed) = try Spawn.output("/bin/sh", ["-c", "exec /usr/bin/python3 -c \"$0\" \"$1\" \"$2\" 2>&1", script,
                                                         CairnRunner.binary, cairn.repository])
        #expect(exit.status == 0, "python: \(printed)")
        #expect(printed.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "cairn exited \(printed)")
    }

    @Test func missingRepository() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch, initialize: false)
        let result = try cairn.run(["snapshots"])
        #expect(result.status == 10)
        #expect(result.stderr.contains("cairn init"))
        #expect(!FileManager.default.fileExists(atPath: cairn.repository))
    }

    @Test func pathThatDoesNotExist() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let before = objectCount(cairn.repository)
        let result = try cairn.run(["backup", scratch.path("no-such-dir")])
        #expect(result.status == 4)
        #expect(result.stderr.contains("no-such-dir"))
        #expect(objectCount(cairn.repository) == before)
    }

    @Test func restoreTargetThatIsAFile() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        try TreeFixtures.write(source + "/dump.bin", Array("x".utf8))
        _ = try cairn.backup([source])
        let file = scratch.path("a-file")
        try TreeFixtures.write(file, Array("keep me".utf8))
        let result = try cairn.run(["restore", "latest", "--target", file])
        #expect(result.status == 5)
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "keep me")
    }

    /// Exit 5 means "files are in the way, use --force": a target that cannot be created at all
    /// (read-only file system, no permission) is a plain failure; one under a file is a conflict.
    @Test(.enabled(if: canMountTmpfs, "needs root and a mountable tmpfs"))
    func restoreTargetThatCannotBeCreatedIsNoConflict() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        try TreeFixtures.write(source + "/dump.bin", Array("x".utf8))
        _ = try cairn.backup([source])
        let readOnly = scratch.path("read-only")
        try #require(Self.mountTmpfs(readOnly, size: "1m", flags: UInt(MS_RDONLY)))
        defer { Self.unmount(readOnly) }
        let refused = try cairn.run(["restore", "latest", "--target", readOnly + "/restore"])
        #expect(refused.status == 1, "\(refused.status) \(refused.stderr)")
        #expect(refused.stderr.contains("Read-only file system") && !refused.stderr.contains("--force"), "\(refused.stderr)")
        let file = scratch.path("a-file")
        try TreeFixtures.write(file, Array("keep me".utf8))
        let underFile = try cairn.run(["restore", "latest", "--target", file + "/restore"])
        #expect(underFile.status == 5, "\(underFile.status) \(underFile.stderr)")
    }

    /// Ctrl-C or SIGTERM (`timeout`, systemd) in the middle of a restore: the file being written
    /// under its temporary name is removed, not left behind as a hidden partial copy; the lock is
    /// released; the process still ends by the signal. The same restore run again (no --force)
    /// finishes it: it keeps the file already in place, moves nothing aside, and gives the target
    /// the first created the snapshot root's mode (the first left it 0700). After a SIGKILL, which
    /// leaves the half-written file and the lock, it removes that file too.
    @Test(arguments: [SIGINT, SIGTERM, SIGKILL])
    func interruptedRestoreLeavesNoPartialFile(_ signal: Int32) throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source, mode: 0o751)
        try TreeFixtures.write(source + "/a-small.txt", Array("first".utf8))
        try TreeFixtures.write(source + "/b-large.bin", TreeFixtures.bytes(count: 24 << 20, seed: 11))
        _ = try cairn.backup([source])
        let target = scratch.path("restored")
        func partialFiles() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: target)) ?? []).filter { $0.contains(".cairn-") }
        }
        // It stops itself before each file and each batch; let it go on until it writes the large file.
        let running = try cairn.start(["restore", "latest", "--target", target], environment: ["CAIRN_TEST_PAUSE_AT": "restore-batch"])
        let writing = eventually(timeout: 60) {
            if running.hasEnded { return true }
            guard running.isStopped else { return false }
            if partialFiles().contains(where: { $0.contains("b-large") }) { return true }
            kill(running.pid, SIGCONT)
            return false
        }
        try #require(writing && !running.hasEnded && !partialFiles().isEmpty, "never caught the restore writing: \(running.stderrSoFar)")
        kill(running.pid, signal)
        kill(running.pid, SIGCONT)
        let interrupted = running.resumeToEnd(timeout: 60)
        #expect(interrupted.signaled && interrupted.status == signal, "\(interrupted.status) \(interrupted.stderr)")
        if signal == SIGKILL {
            #expect(!partialFiles().isEmpty, "a killed restore cannot clean up")
        } else {
            #expect(interrupted.stderr.contains("interrupted"), "\(interrupted.stderr)")
            #expect(partialFiles().isEmpty, "left behind: \(partialFiles())")
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: cairn.repository + "/locks")) ?? []).isEmpty)
        }
        let marker = target + "/CAIRN-RESTORE-UNFINISHED"
        #expect(access(marker, F_OK) == 0, "the target says the restore did not finish")
        let finished = try #require(try cairn.ok(["restore", "latest", "--target", target, "--json"]).json as? [String: Any])
        #expect(finished["kept"] as? Int == 1, "a-small.txt was in place: \(finished)")
        #expect((finished["moved_aside"] as? [String])?.isEmpty == true, "\(finished)")
        #expect(TreeFixtures.contents(of: source) == TreeFixtures.contents(of: target))
        #expect(partialFiles().isEmpty, "left behind: \(partialFiles())")
        #expect(access(marker, F_OK) != 0)
        var info = stat()
        #expect(stat(target, &info) == 0 && info.st_mode & 0o7777 == 0o751, "mode \(String(info.st_mode & 0o7777, radix: 8))")
    }

    @Test func initTwiceAndUsageErrors() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        #expect(try cairn.run(["init"]).status == 64)
        #expect(try cairn.run(["backup"]).status == 64)
        #expect(try cairn.run(["restore", "zzzz", "--target", scratch.path("t")]).status == 64)
        #expect(try cairn.run(["restore", "abcdef12", "--target", scratch.path("t")]).status == 15)
        let help = try cairn.run(["--help"])
        #expect(help.status == 0 && help.stdout.contains("EXIT CODES"))
    }

    /// Makes `path` and mounts a tmpfs of `size` there (the caller unmounts it with `unmount`).
    static func mountTmpfs(_ path: String, size: String, flags: UInt = 0) -> Bool {
        mkdir(path, 0o700)
        return mount("tmpfs", path, "tmpfs", flags, "size=" + size) == 0
    }

    static func unmount(_ path: String) { umount2(path, Int32(MNT_DETACH)) }

    /// Whether this machine lets the test mount a small tmpfs (root, and mounts allowed).
    static let canMountTmpfs: Bool = {
        guard geteuid() == 0, let scratch = try? Scratch() else { return false }
        guard mount("tmpfs", scratch.root, "tmpfs", 0, "size=1m") == 0 else { return false }
        umount2(scratch.root, Int32(MNT_DETACH))
        return true
    }()

    @Test(.enabled(if: canMountTmpfs, "needs root and a mountable tmpfs"))
    func fullDisk() throws {
        let scratch = try Scratch()
        let small = scratch.path("small")
        try #require(Self.mountTmpfs(small, size: "2m"))
        defer { Self.unmount(small) }
        let cairn = try CairnRunner(scratch, initialize: false).on(small + "/repo")
        try cairn.ok(["init", "--pack-size", "1"])
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        try TreeFixtures.write(source + "/dump.bin", TreeFixtures.bytes(count: 6 << 20, seed: 5))
        let result = try cairn.run(["backup", source])
        #expect(result.status == 6, "status \(result.status): \(result.stderr)")
        #expect(result.stderr.contains("space"))
        #expect(try cairn.snapshots().isEmpty)
        let check = try cairn.run(["check"])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
    }

    /// A restore onto a full file system: exit 6, a hint that says what to do, and no file left
    /// half written under its temporary name.
    @Test(.enabled(if: canMountTmpfs, "needs root and a mountable tmpfs"))
    func restoreOntoAFullDisk() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        try TreeFixtures.write(source + "/dump.bin", TreeFixtures.bytes(count: 4 << 20, seed: 6))
        _ = try cairn.backup([source])
        let small = scratch.path("small")
        try #require(Self.mountTmpfs(small, size: "1m"))
        defer { Self.unmount(small) }

        let result = try cairn.run(["restore", "latest", "--target", small + "/restored"])
        #expect(result.status == 6, "status \(result.status): \(result.stderr)")
        #expect(result.stderr.contains("free space under --target"), "\(result.stderr)")
        // Only the note that this restore did not finish.
        let left = (try? FileManager.default.contentsOfDirectory(atPath: small + "/restored")) ?? []
        #expect(left == ["CAIRN-RESTORE-UNFINISHED"], "left behind: \(left)")
    }

    /// OPERATIONS: a repository on read-only media is still restored and checked. Its own
    /// cache/ cannot hold the catalog there (SQLite's WAL needs to write beside it), so the
    /// catalog moves to the user's cache, with a warning.
    @Test(.enabled(if: canMountTmpfs, "needs root and a mountable tmpfs"))
    func readOnlyRepositoryIsRestoredAndChecked() throws {
        let scratch = try Scratch()
        let media = scratch.path("media")
        try #require(Self.mountTmpfs(media, size: "8m"))
        defer { Self.unmount(media) }
        var cairn = try CairnRunner(scratch, initialize: false).on(media + "/repo")
        cairn.environment["XDG_CACHE_HOME"] = scratch.path("xdg")
        try cairn.ok(["init", "--pack-size", "1"])
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        try TreeFixtures.write(source + "/dump.bin", TreeFixtures.bytes(count: 300_000, seed: 9))
        _ = try cairn.backup([source])
        try #require(mount("tmpfs", media, "tmpfs", UInt(MS_REMOUNT | MS_RDONLY), "size=8m") == 0)

        let restored = try cairn.run(["restore", "latest", "--target", scratch.path("restored")])
        #expect(restored.status == 0, "restore from read-only media: \(restored.status) \(restored.stderr)")
        #expect(restored.stderr.contains("cannot write the catalog"), "\(restored.stderr)")
        #expect(TreeFixtures.contents(of: source) == TreeFixtures.contents(of: scratch.path("restored")))
        let check = try cairn.run(["check", "--read-data"])
        #expect(check.status == 0, "check of read-only media: \(check.status) \(check.stderr)")
        #expect(try cairn.snapshots().count == 1)
    }

    /// Prune on a nearly full disk: it cannot repack, fails with exit 6 and nothing lost, and
    /// says how to free space anyway (deleting wholly unused packs needs next to none), which works.
    @Test(.enabled(if: canMountTmpfs, "needs root and a mountable tmpfs"))
    func pruneOnAFullDiskSaysHowToFreeSpace() throws {
        let scratch = try Scratch()
        let small = scratch.path("small")
        try #require(Self.mountTmpfs(small, size: "24m"))
        defer { Self.unmount(small) }
        let cairn = try CairnRunner(scratch, initialize: false).on(small + "/repo")
        try cairn.ok(["init", "--pack-size", "1"])
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        // Every other small file changes, so each of their packs stays half used (a repack of about
        // 1.5 MiB); the large file changes whole, so its old packs become wholly unused.
        for index in 0..<24 {
            try TreeFixtures.write(source + "/a-\(index + 10).bin", TreeFixtures.bytes(count: 128 << 10, seed: UInt64(index)))
        }
        try TreeFixtures.write(source + "/b-large.bin", TreeFixtures.bytes(count: 3 << 20, seed: 100))
        let first = try #require(try cairn.backup([source])["snapshot_id"] as? String)
        for index in stride(from: 0, to: 24, by: 2) {
            try TreeFixtures.write(source + "/a-\(index + 10).bin", TreeFixtures.bytes(count: 128 << 10, seed: UInt64(index + 200)))
        }
        try TreeFixtures.write(source + "/b-large.bin", TreeFixtures.bytes(count: 3 << 20, seed: 101))
        _ = try cairn.backup([source])
        try cairn.ok(["forget", first])
        // Leave about 512 KiB: less than the repack needs.
        var info = statvfs()
        try #require(statvfs(small, &info) == 0)
        let free = Int(info.f_bavail) * Int(info.f_frsize)
        try TreeFixtures.write(small + "/filler", [UInt8](repeating: 1, count: free - (512 << 10)))

        let refused = try cairn.run(["prune", "--max-unused", "0%"])
        #expect(refused.status == 6, "\(refused.status) \(refused.stderr)")
        #expect(refused.stderr.contains("--max-unused 100%"), "\(refused.stderr)")
        let deleting = try cairn.run(["prune", "--max-unused", "100%"])
        #expect(deleting.status == 0 && deleting.stdout.contains("did delete"), "\(deleting.status) \(deleting.stdout) \(deleting.stderr)")
        unlink(small + "/filler")
        try cairn.ok(["check", "--read-data"])
        try cairn.ok(["prune", "--max-unused", "0%"])
    }
}
