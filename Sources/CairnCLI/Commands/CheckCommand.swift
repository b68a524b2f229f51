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

        EXAMPLES:
          cairn check
          cairn check --read-data --json
        """)

    @OptionGroup var options: RepositoryOptions

    @Flag(help: "Read and verify all data.")
    var readData = false

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let repository = try options.open()
        let lock = try options.readLock(repository, command: "check")
        defer { lock?.release() }
        let report = try CheckJob(repository: repository, readData: readData, logger: options.logger).run()
        if json {
            Console.json(["clean": report.isClean, "snapshots": report.snapshotsChecked, "packs_read": report.packsChecked,
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
                            + (readData ? ", read \(report.packsChecked) packs (\(Rendering.size(report.bytesRead))), verified \(report.blobsChecked) blobs" : "")
                            + (report.isClean ? ": no errors" : ": \(report.errors.count) error(s)"))
            }
        }
        if !report.isClean {
            throw CLIError(.integrity, "the repository has \(report.errors.count) error(s)",
                           hint: "see above; `cairn repair index` rebuilds a damaged catalog or index")
        }
    }
}
