import Foundation
import Glibc

/// Starts programs with posix_spawn and waits for them with waitpid.
///
/// Foundation's `Process` on Linux learns that a child exited when a descriptor the child holds is
/// closed; a child that starts a daemon (`redis-server --daemonize yes`, which `redis-restore`
/// does) passes that descriptor on, so `waitUntilExit()` never returns. waitpid has no such trap.
enum Spawn {
    struct Exit {
        var status: Int32
        var signaled: Bool
    }

    /// Starts `executable` (a path, or a name looked up on PATH) with stdin, stdout and stderr
    /// connected to the given files. With `newProcessGroup` the child leads its own group, so
    /// `kill(-pid, …)` reaches everything it starts.
    static func start(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                      directory: String? = nil, stdin: String = "/dev/null", stdout: String = "/dev/null",
                      stderr: String = "/dev/null", newProcessGroup: Bool = false) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The child starts with no signal blocked, as from a shell: tests run on pool threads that
        // block SIGINT and SIGTERM, and a child would inherit that (and never see them).
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        posix_spawnattr_setsigmask(&attributes, &unblocked)
        var flags = Int32(POSIX_SPAWN_SETSIGMASK)
        if newProcessGroup {
            flags |= Int32(POSIX_SPAWN_SETPGROUP)
            posix_spawnattr_setpgroup(&attributes, 0)
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))
        // glibc's posix_spawn_file_actions_addchdir_np is not imported into Swift; `env -C` does it.
        let command = directory.map { ["/usr/bin/env", "-C", $0, executable] } ?? [executable]
        let argv = (command + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let envStrings = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer { envStrings?.forEach { free($0) } }
        var pid: pid_t = 0
        let result: Int32
        if let envStrings {
            result = posix_spawnp(&pid, command[0], &actions, &attributes, argv, envStrings)
        } else {
            result = posix_spawnp(&pid, command[0], &actions, &attributes, argv, environ)
        }
        guard result == 0 else { throw POSIXError(POSIXErrorCode(rawValue: result) ?? .EIO) }
        return pid
    }

    /// Waits for `pid` to end.
    static func wait(_ pid: pid_t) -> Exit {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let signal = status & 0x7f
        return signal == 0 ? Exit(status: (status >> 8) & 0xff, signaled: false) : Exit(status: signal, signaled: true)
    }

    /// Runs to the end and returns the exit and what it printed on stdout.
    static func output(_ executable: String, _ arguments: [String], input: String? = nil) throws -> (Exit, String) {
        let scratch = FileManager.default.temporaryDirectory.path + "/cairn-spawn-\(UUID().uuidString)"
        let inFile = scratch + ".in", outFile = scratch + ".out"
        defer { unlink(inFile); unlink(outFile) }
        try (input ?? "").write(toFile: inFile, atomically: false, encoding: .utf8)
        let pid = try start(executable, arguments, stdin: inFile, stdout: outFile)
        let exit = wait(pid)
        return (exit, (try? String(contentsOfFile: outFile, encoding: .utf8)) ?? "")
    }
}
