import CairnEngine
import Foundation
import Glibc
import Synchronization

/// Finds the repository password: CAIRN_PASSWORD, CAIRN_PASSWORD_FILE, CAIRN_PASSWORD_COMMAND,
/// or a prompt without echo when standard input is a terminal.
enum PasswordSource {
    static func read(prompt: String = "repository password: ") throws -> String {
        if let value = Environment.value("CAIRN_PASSWORD") { return value }
        if let file = Environment.value("CAIRN_PASSWORD_FILE") {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw CLIError(.usage, "CAIRN_PASSWORD_FILE names \(file), which cannot be read")
            }
            // No repository has an empty password: say what is wrong rather than "wrong password".
            let password = firstLine(text)
            guard !password.isEmpty else {
                throw CLIError(.usage, "CAIRN_PASSWORD_FILE names \(file), whose first line is empty",
                               hint: "put the repository password on the file's first line")
            }
            return password
        }
        if let command = Environment.value("CAIRN_PASSWORD_COMMAND") {
            let password = try run(command)
            guard !password.isEmpty else {
                throw CLIError(.usage, "CAIRN_PASSWORD_COMMAND printed no password",
                               hint: "run the command by hand: it must print the password on its first line and exit 0")
            }
            return password
        }
        guard isatty(0) == 1 else {
            throw CLIError(.usage, "no password given and no terminal to ask on",
                           hint: "set CAIRN_PASSWORD_FILE (a root-only file) or CAIRN_PASSWORD_COMMAND for cron")
        }
        return try ask(prompt)
    }

    /// For `init` and `key add`: asks twice on a terminal; otherwise takes the same sources as `read`.
    static func readNew(prompt: String = "new password: ") throws -> String {
        if isatty(0) != 1 || Environment.value("CAIRN_PASSWORD") != nil || Environment.value("CAIRN_PASSWORD_FILE") != nil
            || Environment.value("CAIRN_PASSWORD_COMMAND") != nil {
            return try read()
        }
        let first = try ask(prompt)
        let second = try ask("again: ")
        guard first == second else { throw CLIError(.usage, "the passwords differ") }
        return first
    }

    /// A new password from CAIRN_NEW_PASSWORD(_FILE), or a prompt (for `key add` and `key passwd`).
    static func readAdditional() throws -> String {
        if let value = Environment.value("CAIRN_NEW_PASSWORD") { return value }
        if let file = Environment.value("CAIRN_NEW_PASSWORD_FILE") {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw CLIError(.usage, "CAIRN_NEW_PASSWORD_FILE names \(file), which cannot be read")
            }
            return firstLine(text)
        }
        guard isatty(0) == 1 else {
            throw CLIError(.usage, "no new password given", hint: "set CAIRN_NEW_PASSWORD_FILE, or run on a terminal")
        }
        let first = try ask("new password: ")
        let second = try ask("again: ")
        guard first == second else { throw CLIError(.usage, "the passwords differ") }
        return first
    }

    /// The text up to the first line feed, without a carriage return before it (a file written
    /// on Windows, or by a tool that ends lines with CRLF).
    private static func firstLine(_ text: String) -> String {
        var line = String(text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).first.map(Substring.init) ?? "")
        if line.unicodeScalars.last == "\r" { line.unicodeScalars.removeLast() }
        return line
    }

    /// What earlier cairn took from the same text: Swift's String makes "\r\n" one character,
    /// so a CRLF file was read whole, line ending included. A repository whose key was made from
    /// such a file still opens with that (see `legacyReading`).
    private static func legacyFirstLine(_ text: String) -> String {
        String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
    }

    /// The password as earlier versions read CAIRN_PASSWORD_FILE or CAIRN_PASSWORD_COMMAND's output,
    /// when that differs from `read()`'s (only for text with CRLF line ends); nil otherwise.
    static func legacyReading() -> String? {
        guard Environment.value("CAIRN_PASSWORD") == nil else { return nil }
        let text: String?
        if let file = Environment.value("CAIRN_PASSWORD_FILE") {
            text = try? String(contentsOfFile: file, encoding: .utf8)
        } else if let command = Environment.value("CAIRN_PASSWORD_COMMAND") {
            text = try? output(of: command)
        } else {
            text = nil
        }
        guard let text, legacyFirstLine(text) != firstLine(text), !legacyFirstLine(text).isEmpty else { return nil }
        return legacyFirstLine(text)
    }

    private static func run(_ command: String) throws -> String {
        firstLine(try output(of: command))
    }

    /// Seconds CAIRN_PASSWORD_COMMAND may run when CAIRN_PASSWORD_COMMAND_TIMEOUT does not say.
    private static let defaultCommandTimeout = 60.0

    private static func output(of command: String) throws -> String {
        let seconds = try commandTimeout()
        let outcome: ShellCommand.Outcome
        if ownsTerminal {
            // In cairn's own process group: Ctrl-C reaches both.
            outcome = try ShellCommand.output(of: command, timeout: nil)
        } else {
            // In a group of its own, which nothing else would stop if cairn were (cron's SIGTERM,
            // a `timeout` wrapper, systemd stopping the job): the command and what it started
            // would run on until they ended by themselves. A signal now kills that group first.
            let group = CommandGroup()
            outcome = try Interruption.cleaningUp(with: { group.kill() }) {
                try ShellCommand.output(of: command, timeout: .seconds(seconds), started: { group.started($0) })
            }
        }
        switch outcome {
        case .timedOut:
            let shown = seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
            throw CLIError(.usage, "CAIRN_PASSWORD_COMMAND did not finish within \(shown) s and was stopped",
                           hint: "run the command by hand to see what it waits for (a locked vault, a prompt with no terminal); "
                               + "CAIRN_PASSWORD_COMMAND_TIMEOUT=SECONDS gives it longer")
        case .exited(let status, _) where status != 0:
            throw CLIError(.usage, "CAIRN_PASSWORD_COMMAND exited with status \(status)")
        case .exited(_, let output):
            return String(decoding: output, as: UTF8.self)
        }
    }

    /// The process group of a running password command, for a signal's cleanup to kill.
    private final class CommandGroup: Sendable {
        private let leader = Atomic<Int32>(0)

        func started(_ pid: pid_t) { leader.store(pid, ordering: .relaxed) }

        func kill() {
            let pid = leader.load(ordering: .relaxed)
            if pid > 0 { Glibc.kill(-pid, SIGKILL) }
        }
    }

    /// True when standard input is a terminal and this process is in its foreground: a person is
    /// there to answer the command's prompt and to press Ctrl-C, so it shares the terminal and has
    /// no time limit. (In a process group of its own it would be stopped at its first prompt, by
    /// SIGTTIN or SIGTTOU.)
    private static var ownsTerminal: Bool {
        guard isatty(0) == 1 else { return false }
        let fd = open("/dev/tty", O_RDONLY | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return tcgetpgrp(fd) == getpgrp()
    }

    /// CAIRN_PASSWORD_COMMAND_TIMEOUT in seconds, or the default.
    private static func commandTimeout() throws -> Double {
        guard let text = Environment.value("CAIRN_PASSWORD_COMMAND_TIMEOUT") else { return defaultCommandTimeout }
        guard let seconds = Double(text), seconds.isFinite, seconds > 0, seconds <= 86_400 else {
            throw CLIError(.usage, "CAIRN_PASSWORD_COMMAND_TIMEOUT=\(text) is not a number of seconds above 0 and at most 86400",
                           hint: "e.g. 60, the default")
        }
        return seconds
    }

    private static func ask(_ prompt: String) throws -> String {
        FileHandle.standardError.write(Data(prompt.utf8))
        var saved = termios()
        tcgetattr(0, &saved)
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(0, TCSAFLUSH, &quiet)
        defer {
            tcsetattr(0, TCSAFLUSH, &saved)
            FileHandle.standardError.write(Data("\n".utf8))
        }
        guard let line = readLine(strippingNewline: true) else { throw CLIError(.usage, "no password entered") }
        return line
    }
}
