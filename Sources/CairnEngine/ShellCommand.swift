import Glibc

/// Runs `/bin/sh -c COMMAND` and waits for the shell alone (posix_spawn + waitpid), so a
/// command that starts a daemon returns when the shell does.
enum ShellCommand {
    static func run(_ command: String) throws -> Int32 {
        var pid: pid_t = 0
        let arguments = ["/bin/sh", "-c", command]
        var pointers: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in pointers { free(pointer) } }
        let result = posix_spawn(&pid, "/bin/sh", nil, nil, &pointers, environ)
        guard result == 0 else { throw EngineError(.failure, "cannot run /bin/sh: \(errnoMessage(result))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw EngineError(.failure, "waitpid failed: \(errnoMessage(errno))") }
        }
        // WIFEXITED / WEXITSTATUS, spelled out (the macros are not imported).
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}
