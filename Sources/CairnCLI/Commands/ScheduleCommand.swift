import ArgumentParser
import Foundation
import Glibc

struct ScheduleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule",
        abstract: "Print (or install) a cron entry for a nightly backup followed by forget --prune.",
        discussion: """
        The entry runs `cairn backup --redis URL`, then (only if the backup succeeded) `cairn forget \
        POLICY --prune`, both with --quiet (cron mails only errors), a lock wait (a long prune or another \
        backup delays the run instead of failing it), the repository password from a root-only file, \
        output appended to a log file, and a Prometheus textfile for monitoring. Without --install it \
        prints the entry; with --install it writes /etc/cron.d/cairn (mode 0644) — review it first.

        EXAMPLES:
          cairn schedule --repo /srv/backups/redis --redis redis://127.0.0.1:6379
          cairn schedule --repo /srv/backups/redis --redis redis://127.0.0.1:6379 \\
              --at 02:30 --keep-daily 14 --keep-weekly 8 --keep-monthly 12 --install
        """)

    @Option(name: [.customLong("repo"), .customShort("r")], help: ArgumentHelp("Repository location: an absolute path (a local repository only). Default: $CAIRN_REPOSITORY.", valueName: "repo"))
    var repository: String?

    @Option(help: ArgumentHelp("Redis server to back up.", valueName: "url"))
    var redis: String

    @Option(help: ArgumentHelp("File (mode 0600, owned by root) with the repository password.", valueName: "file"))
    var passwordFile: String = "/etc/cairn/password"

    @Option(help: ArgumentHelp("File with the Redis password, if the server needs one.", valueName: "file"))
    var redisPasswordFile: String?

    @Option(help: ArgumentHelp("Local time of the nightly run, HH:MM.", valueName: "time"))
    var at: String = "00:30"

    @Option(help: ArgumentHelp("Keep the newest snapshot of each of the last N days.", valueName: "n")) var keepDaily: Int = 7
    @Option(help: ArgumentHelp("Keep the newest snapshot of each of the last N weeks.", valueName: "n")) var keepWeekly: Int = 4
    @Option(help: ArgumentHelp("Keep the newest snapshot of each of the last N months.", valueName: "n")) var keepMonthly: Int = 6
    @Option(help: ArgumentHelp("Keep the newest snapshot of each of the last N years.", valueName: "n")) var keepYearly: Int = 0

    @Option(help: ArgumentHelp("How long a run waits for another process's lock.", valueName: "duration"))
    var lockWait: String = "2h"

    @Option(help: ArgumentHelp("Where the output of each run is appended.", valueName: "file"))
    var logFile: String = "/var/log/cairn.log"

    @Option(help: ArgumentHelp("Prometheus textfile (node_exporter's textfile directory); `none` to leave it out.", valueName: "path"))
    var metricsFile: String = "/var/lib/prometheus/node-exporter/cairn.prom"

    @Option(help: ArgumentHelp("The cairn binary the entry runs.", valueName: "path"))
    var cairn: String = "/usr/local/bin/cairn"

    @Flag(help: "Write the entry to --cron-file instead of printing it.")
    var install = false

    @Option(help: ArgumentHelp("Where --install writes.", valueName: "path"))
    var cronFile: String = "/etc/cron.d/cairn"

    func validate() throws {
        let parts = at.split(separator: ":")
        guard parts.count == 2, let hour = Int(parts[0]), let minute = Int(parts[1]), (0..<24).contains(hour), (0..<60).contains(minute) else {
            throw ValidationError("--at takes a local time HH:MM, e.g. 00:30")
        }
        if [keepDaily, keepWeekly, keepMonthly, keepYearly].allSatisfy({ $0 == 0 }) {
            throw ValidationError("keep at least something: --keep-daily, --keep-weekly, --keep-monthly or --keep-yearly")
        }
        _ = try DurationText.seconds(lockWait)
    }

    func run() throws {
        guard let repository = repository ?? Environment.value("CAIRN_REPOSITORY") else {
            throw CLIError(.usage, "no repository given", hint: "pass --repo PATH or set CAIRN_REPOSITORY")
        }
        if repository.hasPrefix("swift://") || repository.hasPrefix("s3://") {
            throw CLIError(.usage, "schedule writes entries for local repositories only, not \(repository)",
                           hint: "an object store needs its credentials in cron's environment, and /etc/cron.d files are "
                             + "readable by every user: write the entry yourself, reading them from a root-only file")
        }
        guard repository.hasPrefix("/") else {
            throw CLIError(.usage, "cron runs in another directory: give the repository as an absolute path, not \(repository)")
        }
        for warning in passwordFileWarnings() { Console.error("cairn: warning: \(warning)") }
        let text = entry(repository: repository)
        guard install else {
            Console.out(text, terminator: "")
            return
        }
        let temporary = cronFile + ".tmp"
        do {
            try text.write(toFile: temporary, atomically: false, encoding: .utf8)
        } catch {
            throw CLIError(.failure, "cannot write \(cronFile): \(error.localizedDescription)", hint: "run as root")
        }
        chmod(temporary, 0o644)
        guard rename(temporary, cronFile) == 0 else {
            unlink(temporary)
            throw CLIError(.failure, "cannot install \(cronFile): \(String(cString: strerror(errno)))", hint: "run as root")
        }
        Console.out("installed \(cronFile) (mode 0644); cron picks it up by itself. Logs go to \(logFile).")
    }

    func entry(repository: String) -> String {
        let parts = at.split(separator: ":")
        var keep: [String] = []
        for (flag, value) in [("--keep-daily", keepDaily), ("--keep-weekly", keepWeekly), ("--keep-monthly", keepMonthly), ("--keep-yearly", keepYearly)]
            where value > 0 { keep += [flag, String(value)] }
        let metrics = metricsFile == "none" ? [] : ["--metrics-file", metricsFile]
        let common = ["--quiet", "--lock-wait", lockWait] + metrics
        let backup = [cairn, "backup", "--redis", redis] + (redisPasswordFile.map { ["--redis-password-file", $0] } ?? [])
            + ["--tag", "nightly"] + common
        let forget = [cairn, "forget"] + keep + ["--prune"] + common
        let log = ">>" + Self.quote(logFile) + " 2>&1"
        // Exit 7 from forget means "nothing to do", not a failure.
        let command = backup.map(Self.quote).joined(separator: " ") + " " + log + " && { "
            + forget.map(Self.quote).joined(separator: " ") + " " + log + " || [ $? -eq 7 ]; }"
        // cron ignores a last line without a newline, and `%` means newline to it.
        let lines = [
            "# Cairn: nightly Redis backup, then retention (written by `cairn schedule`).",
            "# Exit codes are listed in `cairn --help`; 7 means there was nothing to do.",
            "SHELL=/bin/sh",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "CAIRN_REPOSITORY=\(repository)",
            "CAIRN_PASSWORD_FILE=\(passwordFile)",
            "\(Int(parts[1])!) \(Int(parts[0])!) * * * root \(command.replacingOccurrences(of: "%", with: "\\%"))",
        ]
        return lines.joined(separator: "\n") + "\n"
    }

    /// The password file must exist and be readable by root alone.
    func passwordFileWarnings() -> [String] {
        var info = stat()
        guard stat(passwordFile, &info) == 0 else {
            return ["\(passwordFile) does not exist yet: create it with the repository password, owned by root, mode 0600"]
        }
        var warnings: [String] = []
        if info.st_uid != 0 { warnings.append("\(passwordFile) is not owned by root") }
        if info.st_mode & 0o077 != 0 {
            warnings.append("\(passwordFile) is readable by others (mode \(String(info.st_mode & 0o777, radix: 8))): chmod 600 \(passwordFile)")
        }
        return warnings
    }

    /// Single-quotes a word for /bin/sh when it needs it.
    static func quote(_ word: String) -> String {
        let plain = word.allSatisfy { $0.isLetter || $0.isNumber || "-_./:@=,+".contains($0) }
        return plain && !word.isEmpty ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
