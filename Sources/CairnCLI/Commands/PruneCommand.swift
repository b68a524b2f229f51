import ArgumentParser
import CairnCore
import CairnEngine
import CairnRepository
import Foundation
import Glibc

struct PruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Delete data that no snapshot uses; repack packs that are mostly unused.",
        discussion: """
        Marks every chunk the snapshots use, deletes packs none of whose chunks are used (and packs an \
        interrupted backup left behind), and copies the used chunks out of packs whose unused share is \
        largest into new packs until the unused bytes left are within --max-unused. The order makes it \
        crash-safe: new packs and their index objects are written first, then the catalog switches to \
        them, then old index objects and packs are deleted. Killed at any point, no snapshot loses data; \
        run prune again to finish. Takes the exclusive lock: backups wait for it (see --lock-wait).

        In a local repository, prune also deletes the files in tmp/ older than 30 minutes (a stale \
        lock's age): packs and objects a killed backup or prune was writing.

        Exit code 7 means there was nothing to reclaim.

        EXAMPLES:
          cairn prune --dry-run
          cairn prune --max-unused 0%          # repack every pack with unused data
          cairn forget --keep-daily 7 --keep-weekly 4 --prune
        """)

    @OptionGroup var options: RepositoryOptions

    @Option(help: ArgumentHelp("Unused data tolerated in kept packs, as a percentage of used data (0%–100%).", valueName: "percent"))
    var maxUnused: String = "5%"

    @Flag(help: "Show what would be deleted and repacked; change nothing.")
    var dryRun = false

    @Flag(help: "Print one JSON object with what prune found and did.")
    var json = false

    @OptionGroup var metricsOptions: MetricsOptions

    func validate() throws { _ = try PruneRunner.fraction(maxUnused) }

    func run() throws {
        var metrics = RunMetrics(command: "prune", repository: (try? options.location) ?? "")
        try MetricsFile.recording(metricsOptions, &metrics) { try perform(&$0) }
    }

    private func perform(_ metrics: inout RunMetrics) throws {
        let repository = try options.openToLock()
        let lock = try options.lock(repository, exclusive: true, command: "prune")
        defer { lock.release() }
        defer { metrics.measure(repository) }
        let report = try PruneRunner.run(repository, options: options, lock: lock, maxUnused: try PruneRunner.fraction(maxUnused),
                                         dryRun: dryRun, json: json)
        if !dryRun && !report.reclaimedAnything { throw ExitCode(ExitCodes.nothingToDo) }
    }
}

/// Runs prune for `prune` and `forget --prune`, and prints its report.
enum PruneRunner {
    static func fraction(_ text: String) throws -> Double {
        let number = text.hasSuffix("%") ? String(text.dropLast()) : text
        guard let value = Double(number), value >= 0, value <= 100 else {
            throw ValidationError("--max-unused takes a percentage such as 5% or 0%")
        }
        return value / 100
    }

    static func run(_ repository: Repository, options: RepositoryOptions, lock: RepositoryLock, maxUnused: Double, dryRun: Bool,
                    json: Bool, print: Bool = true) throws -> PruneReport {
        let showProgress = !options.quiet && !json && Console.stderrIsTerminal
        let job = PruneJob(repository: repository, maxUnused: maxUnused, dryRun: dryRun, logger: options.logger, lock: lock,
                           progress: { line in if showProgress { FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8)) } },
                           fault: { point in
                               if Environment.value("CAIRN_TEST_CRASH_AT") == point.rawValue { kill(getpid(), SIGKILL) }
                           })
        let report: PruneReport
        do {
            report = try job.run()
        } catch let failure as any CairnFailure where failure.category == .noSpace && !dryRun && maxUnused < 1 {
            // Prune is what frees space, so "use a larger disk" is no answer: it needs room for the
            // repacked packs before it deletes the old ones; deleting unused packs alone needs next to none.
            throw CLIError(.noSpace, failure.message,
                           hint: "prune writes repacked packs before it deletes old ones: free some space, or first run "
                               + "`cairn prune --max-unused 100%`, which only deletes packs no snapshot uses", cause: failure.underlying)
        }
        if showProgress { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        if !print {
            return report
        } else if json {
            let data = try JSONEncoder.sorted.encode(report)
            Console.out(String(decoding: data, as: UTF8.self))
        } else if !options.quiet {
            Console.out(describe(report))
        }
        return report
    }

    static func describe(_ report: PruneReport) -> String {
        var lines = [
            "\(report.snapshots) snapshot(s) use \(Rendering.size(report.usedBytes)) of \(Rendering.size(report.repositoryBytes)) in \(report.packs) pack(s); "
                + "\(Rendering.size(report.unusedBytes)) unused",
        ]
        let verb = report.dryRun ? "would" : "did"
        if report.packsToDelete == 0 && report.packsToRepack == 0 {
            lines.append("nothing to reclaim (unused data within the limit: \(Rendering.size(report.unusedBytesKept)))")
        } else {
            lines.append("\(verb) delete \(report.packsToDelete) pack(s)"
                         + (report.unreferencedPacks > 0 ? " (\(report.unreferencedPacks) left by interrupted backups)" : "")
                         + " and repack \(report.packsToRepack) (copying \(Rendering.size(report.bytesToCopy))"
                         + (report.dryRun ? ")" : " into \(report.newPacks) new pack(s))"))
            lines.append("\(report.dryRun ? "would reclaim" : "reclaimed") \(Rendering.size(report.reclaimedBytes)); "
                         + "\(Rendering.size(report.unusedBytesKept)) unused data stays in partly used packs"
                         + (report.dryRun ? "" : " (\(String(format: "%.2f", report.durationSeconds))s)"))
        }
        if report.spoolFilesToDelete > 0 {
            lines.append("\(report.dryRun ? "would delete" : "deleted") \(report.spoolFilesToDelete) spool file(s) "
                         + "(\(Rendering.size(report.spoolBytesToDelete))) left in tmp/ by interrupted runs")
        }
        return lines.joined(separator: "\n")
    }
}

extension PruneReport {
    /// Whether prune deleted or repacked packs or deleted spool files (exit code 7 when not).
    var reclaimedAnything: Bool { packsToDelete > 0 || packsToRepack > 0 || spoolFilesToDelete > 0 }
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return encoder
    }
}
