import ArgumentParser
import CairnEngine
import CairnRepository

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Verify the repository's structure, and with --read-data every byte.",
        discussion: """
        Without --read-data: every snapshot's chunks are indexed and every indexed pack exists with the \
        right size. With --read-data: every pack is read, hashed, and every blob authenticated, decompressed \
        and matched to its id; damage is traced to the snapshots and files that need it. Exit code 13 on damage.

        A repository too large to read at once can be read a part at a time: --read-data-subset N/T reads \
        group N of T fixed groups of packs (split by pack name, so reading 1/7 … 7/7 on seven nights reads \
        every pack once a week), and P% a random P percent of the packs, different each run. The \
        structural checks always cover the whole repository.

        EXAMPLES:
          cairn check
          cairn check --read-data --json
          cairn check --read-data-subset "$(date +%u)/7"     # a seventh each night
          cairn check --read-data-subset 5%
        """)

    @OptionGroup var options: RepositoryOptions

    @Flag(help: "Read and verify all data.")
    var readData = false

    @Option(help: ArgumentHelp("Read and verify only group N of T groups of packs, or a random P% of them.",
                               valueName: "N/T|P%"))
    var readDataSubset: String?

    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        if let readDataSubset, PackSubset(parsing: readDataSubset) == nil {
            throw ValidationError("--read-data-subset takes N/T with 1 <= N <= T (e.g. 3/7) or a percentage above 0 (e.g. 10%), not \(readDataSubset)")
        }
    }

    func run() throws {
        let subset = readDataSubset.flatMap { PackSubset(parsing: $0) } ?? .all
        let readData = readData || readDataSubset != nil
        let repository = try options.openToLock()
        let lock = try options.readLock(repository, command: "check")
        defer { lock?.release() }
        let progress = WorkProgress()
        let renderer = ProgressRenderer(progress, verb: "check", unit: "packs", enabled: readData && !options.quiet && !json)
        defer { renderer.stop() }
        let report = try CheckJob(repository: repository, readData: readData, subset: subset, progress: progress,
                                  logger: options.logger).run()
        renderer.stop()
        if json {
            Console.json(["clean": report.isClean, "snapshots": report.snapshotsChecked, "packs_read": report.packsChecked,
                          "packs_total": report.packsToRead, "read_data_subset": readData ? subset.description : "none",
                          "blobs_verified": report.blobsChecked, "bytes_read": report.bytesRead, "errors": report.errors,
                          "notes": report.notes,
                          "damage": report.damage.map { ["pack": $0.pack.hex, "reason": $0.reason, "affected": $0.affected] }]
                         as [String: Any])
        } else {
            for note in report.notes where !options.quiet { Console.out("note: \(note)") }
            for error in report.errors { Console.out("error: \(error)") }
            for damage in report.damage {
                Console.out("damaged pack \(damage.pack) (\(damage.reason)) is needed by:")
                for affected in damage.affected { Console.out("  \(affected)") }
                if damage.affected.isEmpty { Console.out("  no snapshot") }
            }
            if !options.quiet {
                Console.out("checked \(report.snapshotsChecked) snapshots"
                            + (readData ? ", read \(packsRead(report, subset)) (\(Rendering.size(report.bytesRead))), verified \(report.blobsChecked) blobs" : "")
                            + (report.isClean ? ": no errors" : ": \(report.errors.count) error(s)"))
            }
        }
        if !report.isClean {
            throw CLIError(.integrity, "the repository has \(report.errors.count) error(s)",
                           hint: "see above; `cairn repair index` rebuilds a damaged catalog or index")
        }
    }

    private func packsRead(_ report: CheckReport, _ subset: PackSubset) -> String {
        subset == .all ? "\(report.packsChecked) packs" : "\(report.packsChecked) of \(report.packsToRead) packs (subset \(subset))"
    }
}
