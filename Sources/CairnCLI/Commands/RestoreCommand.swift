import ArgumentParser
import CairnCore
import CairnEngine
import CairnRepository
import Foundation

struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore a snapshot into a directory.",
        discussion: """
        Files are written under temporary names and renamed into place; numeric owners (as root), modes, \
        mtimes, symlinks and hard links are restored, and every chunk is verified as it is read. Existing \
        files are never overwritten without --force, and with it each is moved aside as NAME.old.

        An interrupted restore (Ctrl-C, kill -9, a crash) into a directory it created leaves \
        CAIRN-RESTORE-UNFINISHED there: the same command again finishes it, keeping what is in place.

        Files are written with direct I/O (O_DIRECT, bypassing the page cache) where the file system \
        allows it, and through the page cache elsewhere; CAIRN_RESTORE_DIRECT_IO=0 turns it off. From a \
        local repository, files of 64 MiB or more are restored two at a time, and a chunk both hold (a dump.rdb and the AOF \
        base share most of theirs) is decoded once for the two; CAIRN_RESTORE_SIDE_BY_SIDE_BYTES sets \
        that size (0: one file at a time).

        For a live Redis server use `cairn redis-restore`, which also stops and restarts the server.

        EXAMPLES:
          cairn restore latest --target /tmp/restore
          cairn restore 3f2a9c1e --target /var/lib/redis --force
          cairn restore latest --target /tmp/r --include 'appendonlydir/*'
          cairn restore --at 3D --target /tmp/three-days-ago
          cairn restore --at 2026-11-20T00:00 --target /tmp/r
        """)

    @OptionGroup var options: RepositoryOptions

    @OptionGroup var selection: SnapshotSelectionOptions

    @Option(help: "Directory to restore into (created when missing).")
    var target: String

    @Option(name: .customLong("include"), help: "Restore only paths matching this glob (repeatable).")
    var includes: [String] = []

    @Flag(help: "Restore over existing files, moving each aside as NAME.old.")
    var force = false

    @Flag(help: "Do not restore owners (and do not warn when not root).")
    var noOwner = false

    @Flag(help: "Print a JSON summary.")
    var json = false

    func run() throws {
        let repository = try options.openToRestore()
        let lock = try options.readLock(repository, command: "restore")
        defer { lock?.release() }
        let chosen = try selection.resolve(in: repository, quiet: options.quiet || json)
        var request = RestoreRequest(target: target)
        request.includes = includes
        request.force = force
        request.restoreOwnership = !noOwner
        request.directIO = Environment.value("CAIRN_RESTORE_DIRECT_IO") != "0"
        request.sideBySideMinimumBytes = try RestoreTuning.sideBySideMinimumBytes()
        request.shouldStop = {
            FaultSetup.pause(at: "restore-batch")
            return Interruption.requested
        }
        let progress = WorkProgress()
        let renderer = ProgressRenderer(progress, verb: "restore", enabled: !options.quiet && !json)
        let started = Date()
        let result: RestoreResult
        do {
            // SIGINT or SIGTERM stops the restore between batches, so that it removes the file it was writing.
            result = try Interruption.watching {
                try RestoreJob(repository: repository, snapshot: chosen, request: request, progress: progress, logger: options.logger).run()
            }
            renderer.stop()
        } catch {
            renderer.stop()
            throw error
        }
        let seconds = Date().timeIntervalSince(started)
        for warning in result.warnings where !noOwner { Console.error("cairn: warning: \(warning)") }
        for moved in result.movedAside where !options.quiet && !json { Console.error("moved aside: \(moved)") }
        if json {
            Console.json(["snapshot_id": chosen.id.hex, "target": target, "files": result.files, "directories": result.directories,
                          "links": result.links, "bytes": result.bytes, "copied_bytes": result.copiedBytes,
                          "shared_bytes": result.sharedBytes, "direct_io_files": result.directIOFiles, "moved_aside": result.movedAside,
                          "kept": result.kept, "failures": result.failures, "duration_s": seconds] as [String: Any])
        } else if !options.quiet {
            Console.out("restored snapshot \(chosen.id.short) to \(target): \(result.files) files, \(result.directories) directories, "
                        + "\(Rendering.size(result.bytes)) in \(String(format: "%.2f", seconds))s"
                        + (result.kept > 0 ? " (\(result.kept) already in place from the interrupted restore, kept)" : ""))
        }
        if !result.failures.isEmpty {
            for failure in result.failures { Console.error("cairn: failed: \(failure)") }
            throw CLIError(.integrity, "\(result.failures.count) file(s) could not be restored because their data is damaged",
                           hint: "run `cairn check --read-data` to see the damage; other files were restored")
        }
    }
}
