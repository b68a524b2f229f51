import ArgumentParser
import CairnRepository
import Foundation
import Glibc

/// `--metrics-file PATH`: a Prometheus textfile (node_exporter's textfile collector) describing
/// the last run of each command, so a monitor can alert on a nightly backup that did not happen.
struct MetricsOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Write a Prometheus textfile with this run's end time, success, duration, bytes added, snapshot count and repository size (atomically; other commands' lines in the file are kept).", valueName: "path"))
    var metricsFile: String?
}

/// What one run reports.
struct RunMetrics {
    var command: String
    var repository: String
    var started = Date()
    var addedBytes: Int64?
    var snapshots: Int?
    var repositoryBytes: Int64?

    /// Fills the repository gauges from its catalog (cheaply: this runs after every backup,
    /// forget and prune, with or without a metrics file).
    mutating func measure(_ repository: Repository) {
        if let totals = try? repository.catalog.totals() {
            snapshots = totals.snapshotCount
            repositoryBytes = totals.packBytes
        }
    }
}

enum MetricsFile {
    /// Runs `body`, then writes the metrics file (when asked) whether it succeeded or not.
    static func recording(_ options: MetricsOptions, _ metrics: inout RunMetrics, _ body: (inout RunMetrics) throws -> Void) throws {
        do {
            try body(&metrics)
        } catch let exit as ExitCode where exit.rawValue == ExitCodes.nothingToDo {
            if let path = options.metricsFile { try write(path, metrics, success: true) }
            throw exit
        } catch {
            if let path = options.metricsFile { try? write(path, metrics, success: false) }
            throw error
        }
        if let path = options.metricsFile { try write(path, metrics, success: true) }
    }

    static func write(_ path: String, _ metrics: RunMetrics, success: Bool) throws {
        let ended = Date()
        let labels = "command=\"\(escape(metrics.command))\",repository=\"\(escape(metrics.repository))\""
        let previous = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        // Keep other commands' samples, and this command's last success time across failures.
        var kept: [String] = []
        var lastSuccess: String?
        for line in previous.split(separator: "\n") where !line.hasPrefix("#") {
            if line.contains("{\(labels)}") {
                if line.hasPrefix("cairn_last_success_timestamp_seconds{") { lastSuccess = line.split(separator: " ").last.map(String.init) }
                if !success, let sample = carriedOver(line) { kept.append(sample) }
            } else {
                kept.append(String(line))
            }
        }
        var samples: [(String, String)] = [
            ("cairn_last_run_end_timestamp_seconds", format(ended.timeIntervalSince1970)),
            ("cairn_last_run_success", success ? "1" : "0"),
            ("cairn_last_run_duration_seconds", format(ended.timeIntervalSince(metrics.started))),
        ]
        if success {
            samples.append(("cairn_last_success_timestamp_seconds", format(ended.timeIntervalSince1970)))
        } else if let lastSuccess {
            samples.append(("cairn_last_success_timestamp_seconds", lastSuccess))
        }
        if let value = metrics.addedBytes { samples.append(("cairn_last_run_added_bytes", String(value))) }
        if let value = metrics.snapshots { samples.append(("cairn_snapshots", String(value))) }
        if let value = metrics.repositoryBytes { samples.append(("cairn_repository_bytes", String(value))) }
        let mine = Set(samples.map(\.0))
        kept.removeAll { line in mine.contains { line.hasPrefix($0 + "{\(labels)}") } }
        var lines = kept + samples.map { "\($0.0){\(labels)} \($0.1)" }
        lines.sort()
        var text = ""
        var typed = Set<String>()
        for line in lines {
            let name = String(line.prefix { $0 != "{" && $0 != " " })
            if typed.insert(name).inserted, let help = help[name] {
                text += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n"
            }
            text += line + "\n"
        }
        try writeAtomically(text, to: path)
    }

    /// Gauges a failed run does not measure keep their last value.
    private static func carriedOver(_ line: Substring) -> String? {
        for name in ["cairn_snapshots", "cairn_repository_bytes", "cairn_last_run_added_bytes"] where line.hasPrefix(name + "{") {
            return String(line)
        }
        return nil
    }

    static let help: [String: String] = [
        "cairn_last_run_end_timestamp_seconds": "When the last run of this command ended (Unix time).",
        "cairn_last_run_success": "1 if the last run of this command succeeded, else 0.",
        "cairn_last_run_duration_seconds": "How long the last run took.",
        "cairn_last_success_timestamp_seconds": "When this command last succeeded (Unix time); alert when it is too old.",
        "cairn_last_run_added_bytes": "Bytes the last backup added to the repository (after compression and encryption).",
        "cairn_snapshots": "Snapshots in the repository after the run.",
        "cairn_repository_bytes": "Bytes of pack data in the repository after the run.",
    ]

    private static func format(_ value: Double) -> String { String(format: "%.3f", value) }

    private static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }

    /// Temporary file in the same directory, fsync, rename: a collector never reads half a file.
    private static func writeAtomically(_ text: String, to path: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CLIError(.failure, "cannot write the metrics file \(path): \(String(cString: strerror(errno)))") }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd)
        close(fd)
        guard written == bytes.count, synced == 0, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw CLIError(.failure, "cannot write the metrics file \(path): \(String(cString: strerror(errno)))")
        }
    }
}
