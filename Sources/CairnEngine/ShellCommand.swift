import Glibc

/// Runs `/bin/sh -c COMMAND` with posix_spawn and waits for it with waitpid.
public enum ShellCommand {
    /// Runs the command and waits for the shell alone, so a command that starts a daemon returns
    /// when the shell does.
    static func run(_ command: String) throws -> Int32 {
        let pid = try spawn(command, actions: nil, attributes: nil)
        return exitStatus(try reap(pid))
    }

    /// How `output(of:timeout:)` ended.
    public enum Outcome: Sendable, Equatable {
        /// The command closed its standard output and exited with `status` (128+N for signal N).
        case exited(status: Int32, output: [UInt8])
        /// The time ran out; the command and everything it started in its group were killed.
        case timedOut
    }

    /// Standard output beyond this is read and dropped: callers want a line (a password), and a
    /// command that prints without end must not fill memory before its time runs out.
    static let maximumOutput = 1 << 20

    /// Runs the command with its standard output captured (standard input and error are this
    /// process's) and gives it `timeout` to close its output and exit. It runs in a process group
    /// of its own, so when the time runs out SIGKILL reaches everything it started there too: a
    /// `sleep` or a vault client left behind would keep the output open, and a run that waits for
    /// it (nightly cron) would wait for ever.
    ///
    /// With no `timeout` it runs in this process's group and is waited for as long as it takes:
    /// for a person at a terminal, whose command may prompt there (a process group in the
    /// background of a terminal is stopped when it reads it) and who can press Ctrl-C.
    ///
    /// `started` gets the command's pid (with a `timeout`, also its process group's id) as soon as
    /// it runs, for a caller that must stop it from elsewhere (a signal handler's cleanup).
    public static func output(of command: String, timeout: Duration?,
                              started: (pid_t) -> Void = { _ in }) throws -> Outcome {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        let (pid, readEnd) = try spawnCapturingOutput(command, newGroup: timeout != nil)
        started(pid)
        defer { close(readEnd) }
        let captured: [UInt8]?
        do {
            captured = try readToEnd(readEnd, before: deadline)
        } catch {
            _ = killGroup(of: pid)
            throw error
        }
        guard let output = captured else { return killGroup(of: pid) }
        // The output is closed; the shell may still be at work.
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid { return .exited(status: exitStatus(status), output: output) }
            if result < 0 && errno != EINTR { throw EngineError(.failure, "waitpid failed: \(errnoMessage(errno))") }
            if let deadline, milliseconds(until: deadline) == nil { return killGroup(of: pid) }
            usleep(10_000)
        }
    }

    /// Starts the command (in a new process group when `newGroup`) with its standard output on a
    /// pipe; returns its pid and the pipe's read end.
    private static func spawnCapturingOutput(_ command: String, newGroup: Bool) throws -> (pid_t, Int32) {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { throw EngineError(.failure, "cannot make a pipe: \(errnoMessage(errno))") }
        // Both ends close on exec (pipe2 is not imported): the command gets the write end only as
        // its standard output, and nothing else this process starts holds the pipe open.
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        defer { close(ends[1]) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, ends[1], 1)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        if newGroup { posix_spawnattr_setpgroup(&attributes, 0) }
        // No signal blocked, as from a shell: a caller on a pool thread blocks some, and the
        // command would inherit that.
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        posix_spawnattr_setsigmask(&attributes, &unblocked)
        posix_spawnattr_setflags(&attributes, Int16((newGroup ? Int32(POSIX_SPAWN_SETPGROUP) : 0) | Int32(POSIX_SPAWN_SETSIGMASK)))
        do {
            return (try spawn(command, actions: &actions, attributes: &attributes), ends[0])
        } catch {
            close(ends[0])
            throw error
        }
    }

    /// What arrives on `descriptor` until its writers close it (up to `maximumOutput` bytes kept),
    /// or nil if `deadline` passes first.
    private static func readToEnd(_ descriptor: Int32, before deadline: ContinuousClock.Instant?) throws -> [UInt8]? {
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            // poll's -1: no limit.
            var wait: Int32 = -1
            if let deadline {
                guard let left = milliseconds(until: deadline) else { return nil }
                wait = left
            }
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, wait)
            if ready < 0 && errno != EINTR { throw EngineError(.failure, "poll failed: \(errnoMessage(errno))") }
            guard ready > 0 else { continue }
            let got = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if got == 0 { return output }
            if got < 0 && errno != EINTR { throw EngineError(.failure, "cannot read the command's output: \(errnoMessage(errno))") }
            if got > 0 { output += chunk[0..<min(got, max(0, maximumOutput - output.count))] }
        }
    }

    /// Milliseconds left until `deadline` (at least 1), nil once it has passed.
    private static func milliseconds(until deadline: ContinuousClock.Instant) -> Int32? {
        let left = ContinuousClock.now.duration(to: deadline)
        guard left > .zero else { return nil }
        let (seconds, attoseconds) = left.components
        return Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
    }

    private static func killGroup(of pid: pid_t) -> Outcome {
        kill(-pid, SIGKILL)
        _ = try? reap(pid)
        return .timedOut
    }

    private static func spawn(_ command: String, actions: UnsafePointer<posix_spawn_file_actions_t>?,
                              attributes: UnsafePointer<posix_spawnattr_t>?) throws -> pid_t {
        var pid: pid_t = 0
        let arguments = ["/bin/sh", "-c", command]
        var pointers: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in pointers { free(pointer) } }
        let result = posix_spawn(&pid, "/bin/sh", actions, attributes, &pointers, environ)
        guard result == 0 else { throw EngineError(.failure, "cannot run /bin/sh: \(errnoMessage(result))") }
        return pid
    }

    /// Waits for `pid` to end and returns its wait status.
    private static func reap(_ pid: pid_t) throws -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw EngineError(.failure, "waitpid failed: \(errnoMessage(errno))") }
        }
        return status
    }

    /// WIFEXITED / WEXITSTATUS, spelled out (the macros are not imported): the exit status, or
    /// 128+N for a process ended by signal N.
    private static func exitStatus(_ status: Int32) -> Int32 {
        (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}
