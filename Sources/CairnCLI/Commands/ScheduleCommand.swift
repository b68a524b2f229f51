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

        With --mirror-to, the entry then runs `cairn mirror --to LOCATION --delete`: an off-site copy \
        that follows the repository, night by night. A swift:// or s3:// copy needs its credentials \
        from --mirror-env-file, a root-only file of KEY=value lines (ST_AUTH=…, OS_*=…, AWS_*=…) \
        that the entry reads just before the mirror; they never go into the world-readable cron file.

        EXAMPLES:
          cairn schedule --repo /srv/backups/redis --redis redis://127.0.0.1:6379
          cairn schedule --repo /srv/backups/redis --redis redis://127.0.0.1:6379 \\
              --at 02:30 --keep-daily 14 --keep-weekly 8 --keep-monthly 12 --install
          cairn schedule --repo /srv/backups/redis \\
              --redis rediss://redis.internal:6379 \\
              --redis-tls-ca /etc/redis/ca.crt \\
              --redis-tls-cert /etc/cairn/redis.crt \\
              --redis-tls-key /etc/cairn/redis.key
          cairn schedule --repo /srv/backups/redis --redis redis://127.0.0.1:6379 \\
              --mirror-to swift://redis-offsite/db1 \\
              --mirror-env-file /etc/cairn/offsite.env
        """)

    @Option(name: [.customLong("repo"), .customShort("r")], help: ArgumentHelp("Repository location: an absolute path (a local repository only). Default: $CAIRN_REPOSITORY.", valueName: "repo"))
    var repository: String?

    @Option(help: ArgumentHelp("Redis server to back up.", valueName: "url"))
    var redis: String

    @Option(help: ArgumentHelp("File (mode 0600, owned by root) with the repository password.", valueName: "file"))
    var passwordFile: String = "/etc/cairn/password"

    @Option(help: ArgumentHelp("File with the Redis password, if the server needs one.", valueName: "file"))
    var redisPasswordFile: String?

    @OptionGroup var redisTLS: RedisTLSOptions

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

    @Option(help: ArgumentHelp("After retention, mirror the repository here (a local path, swift:// or s3://), deleting what retention removed.", valueName: "location"))
    var mirrorTo: String?

    @Option(help: ArgumentHelp("Root-only file of KEY=value lines with the --mirror-to store's credentials, read just before the mirror.", valueName: "file"))
    var mirrorEnvFile: String?

    @Flag(help: "Keep in the mirror what retention removed (for credentials that cannot delete).")
    var mirrorKeepDeleted = false

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
        if let mirrorTo {
            let remote = mirrorTo.hasPrefix("swift://") || mirrorTo.hasPrefix("s3://")
            if remote && mirrorEnvFile == nil {
                throw ValidationError("--mirror-to \(mirrorTo) needs --mirror-env-file with its credentials (cron has none)")
            }
            if !remote && !mirrorTo.hasPrefix("/") {
                throw ValidationError("cron runs in another directory: give --mirror-to as an absolute path, not \(mirrorTo)")
            }
        } else if mirrorEnvFile != nil || mirrorKeepDeleted {
            throw ValidationError("--mirror-env-file and --mirror-keep-deleted go with --mirror-to")
        }
        if !redisTLS.isEmpty && !redis.hasPrefix("rediss://") {
            throw ValidationError("--redis-tls-* options need a rediss:// address, not \(redis)")
        }
        for file in [redisTLS.caFile, redisTLS.certificateFile, redisTLS.keyFile].compactMap({ $0 }) where !file.hasPrefix("/") {
            throw ValidationError("cron runs in another directory: give the --redis-tls-* files as absolute paths, not \(file)")
        }
        if let mirrorEnvFile, !mirrorEnvFile.hasPrefix("/") {
            throw ValidationError("give --mirror-env-file as an absolute path, not \(mirrorEnvFile)")
        }
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
        if let mirrorEnvFile {
            for warning in Self.secretFileWarnings(mirrorEnvFile, what: "the mirror's credentials") { Console.error("cairn: warning: \(warning)") }
        }
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
        let backup = [cairn, "backup", "--redis", redis] + (redisPasswordFile.map { ["--redis-password-file", $0] } ?? []) + redisTLS.arguments
            + ["--tag", "nightly"] + common
        let forget = [cairn, "forget"] + keep + ["--prune"] + common
        let log = ">>" + Self.quote(logFile) + " 2>&1"
        // Exit 7 from forget means "nothing to do", not a failure.
        var command = backup.map(Self.quote).joined(separator: " ") + " " + log + " && { "
            + forget.map(Self.quote).joined(separator: " ") + " " + log + " || [ $? -eq 7 ]; }"
        if let mirrorTo {
            let mirror = [cairn, "mirror", "--to", mirrorTo] + (mirrorKeepDeleted ? [] : ["--delete"]) + common
            // KEY=value lines become the mirror's environment only (set -a exports them).
            let credentials = mirrorEnvFile.map { "set -a && . " + Self.quote($0) + " && set +a && " } ?? ""
            command += " && { " + credentials + mirror.map(Self.quote).joined(separator: " ") + " " + log + "; }"
        }
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
        Self.secretFileWarnings(passwordFile, what: "the repository password")
    }

    /// A file of secrets must exist and be readable by root alone.
    static func secretFileWarnings(_ path: String, what: String) -> [String] {
        var info = stat()
        guard stat(path, &info) == 0 else {
            return ["\(path) does not exist yet: create it with \(what), owned by root, mode 0600"]
        }
        var warnings: [String] = []
        if info.st_uid != 0 { warnings.append("\(path) is not owned by root") }
        if info.st_mode & 0o077 != 0 {
            warnings.append("\(path) is readable by others (mode \(String(info.st_mode & 0o777, radix: 8))): chmod 600 \(path)")
        }
        return warnings
    }

    /// Single-quotes a word for /bin/sh when it needs it.
    static func quote(_ word: String) -> String {
        let plain = word.allSatisfy { $0.isLetter || $0.isNumber || "-_./:@=,+".contains($0) }
        return plain && !word.isEmpty ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
