import ArgumentParser
import CairnBackends
import CairnCore
import CairnEngine
import CairnRepository
import Foundation

struct MirrorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mirror",
        abstract: "Copy the repository, as it is, to another location (an off-site copy).",
        discussion: """
        Copies every object the destination lacks, unchanged: the copy is the same repository, opened \
        with the same passwords, with the same snapshot ids, and later runs copy only what is new. \
        Run it after the nightly backup to keep an off-site copy in Swift or S3 of a local repository \
        (restores then come from the fast local disk, and from the copy when the host is lost), or once \
        to move a repository.

        No password is needed: objects are copied sealed, and each pack, index and snapshot object is \
        checked against its name (the SHA-256 of its bytes) on the way, so damage in the source is \
        refused, not copied. Packs go first, then index objects, then snapshots, so the destination is \
        a valid repository at every moment, also if the mirror is interrupted: run it again to finish.

        With --delete, what the source no longer has (after forget and prune) is deleted from the \
        destination, snapshots first. Without it, the destination keeps snapshots the source forgot \
        (`cairn forget` and `cairn prune` on the copy remove them).

        The source takes a shared lock (a prune there waits), the destination an exclusive one; only \
        mirror should write to the destination. A destination that holds another repository, or other \
        files, is refused.

        EXAMPLES:
          cairn mirror --repo /srv/backups/redis --to swift://redis-backups/db1
          cairn mirror --to s3://s3.example.com/backups/redis --delete \\
              --limit-upload 20MiB
          cairn mirror --to /mnt/usb/redis-backups --dry-run
        """)

    @OptionGroup var options: RepositoryOptions

    @Option(help: ArgumentHelp("Where the copy goes: a local path, swift://CONTAINER/PREFIX or s3://HOST[:PORT]/BUCKET/PREFIX.",
                               valueName: "location"))
    var to: String

    @Flag(help: "Also delete from the destination what the source no longer has.")
    var delete = false

    @Flag(help: "Print what would be copied and deleted, and change nothing.")
    var dryRun = false

    @Flag(help: "Print a JSON summary.")
    var json = false

    @OptionGroup var metricsOptions: MetricsOptions

    func run() throws {
        var metrics = RunMetrics(command: "mirror", repository: to)
        try MetricsFile.recording(metricsOptions, &metrics) { try perform(&$0) }
    }

    private func perform(_ metrics: inout RunMetrics) throws {
        let (source, destination) = try options.mirrorStores(to: to)
        if source.location == destination.location {
            throw CLIError(.usage, "the destination is the repository itself (\(source.location))", hint: "give --to another location")
        }
        let progress = WorkProgress()
        let job = MirrorJob(source: source, destination: destination, deleteExtraneous: delete, dryRun: dryRun,
                            progress: progress, logger: options.logger,
                            listed: { kind in FaultSetup.pause(at: "mirror-listed-\(kind.rawValue)") })
        try job.prepare()
        let sourceLock = try options.lockIfWritable { try options.lock(source, exclusive: false, command: "mirror") }
        defer { sourceLock?.release() }
        let destinationLock = dryRun ? nil : try options.lock(destination, exclusive: true, command: "mirror")
        defer { destinationLock?.release() }

        let renderer = ProgressRenderer(progress, verb: "mirror", unit: "objects", enabled: !options.quiet && !json)
        defer { renderer.stop() }
        let report = try job.run()
        renderer.stop()
        metrics.addedBytes = report.bytesCopied
        if json {
            Console.out(String(decoding: try JSONEncoder.sorted.encode(report), as: UTF8.self))
        } else if !options.quiet {
            let verb = dryRun ? "would copy" : "copied"
            var line = "\(verb) \(report.objectsCopied) object(s) (\(Rendering.size(report.bytesCopied)), \(report.snapshotsCopied) snapshot(s)) to \(destination.location)"
            if report.createdRepository { line += ", a new copy" }
            line += "; \(report.objectsPresent) already there"
            if delete { line += "; \(dryRun ? "would delete" : "deleted") \(report.objectsDeleted) (\(report.snapshotsDeleted) snapshot(s))" }
            Console.out(line + (dryRun ? "" : " (\(String(format: "%.2f", report.durationSeconds))s)"))
        }
    }
}
