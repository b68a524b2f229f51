import ArgumentParser
import CairnCore
import CairnEngine
import CairnRepository
import CairnRedis
import Foundation
import Glibc

struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Back up directories or files into a new snapshot.",
        discussion: """
        Only what changed since the last snapshot of the same host and paths is read and stored: files \
        whose size, mtime, ctime and inode are unchanged reuse their chunks, and new data is cut into \
        content-defined chunks that deduplicate against everything in the repository.

        With --redis, Cairn captures a live server consistently: it runs BGSAVE and waits for it (by \
        INFO persistence, not LASTSAVE), freezes dump.rdb and exactly one generation of the multi-part AOF \
        with hard links, validates every RDB (structure and CRC64) and commits the snapshot only if all is \
        well. Plain directories are validated the same way: a truncated or corrupt dump.rdb is refused. A path \
        named here that is a symlink (/var/lib/redis pointing at a data disk) is followed; symlinks inside it are \
        stored as links.

        EXAMPLES:
          cairn backup --redis redis://127.0.0.1:6379 --tag nightly
          REDISCLI_AUTH=secret cairn backup --redis redis://10.0.0.5:6379 \\
              --data-dir /var/lib/redis
          # from another host:
          cairn backup --redis redis://10.0.0.5:6379 --via replication
          # TLS (tls-port, tls-auth-clients yes):
          cairn backup --redis rediss://redis.internal:6379 \\
              --redis-tls-ca /etc/redis/ca.crt \\
              --redis-tls-cert /etc/cairn/redis.crt \\
              --redis-tls-key /etc/cairn/redis.key
          # a stopped server's directory:
          cairn backup /var/lib/redis
          cairn backup --tag nightly --json /var/lib/redis
        """)

    @OptionGroup var options: RepositoryOptions

    @OptionGroup var redisOptions: RedisOptions

    @OptionGroup var metricsOptions: MetricsOptions

    @Option(help: ArgumentHelp("The server's data directory, when CONFIG GET dir is renamed or not permitted.", valueName: "dir"))
    var dataDir: String?

    @Option(help: ArgumentHelp("With --redis: `files` (BGSAVE, then the data directory's dump.rdb and AOF; needs this machine to read it) or `replication` (the RDB streamed over the replication protocol, as a replica gets it; works from any host).", valueName: "method"))
    var via: CaptureMethod = .files

    @Option(help: ArgumentHelp("Seconds to wait for BGSAVE (or, with --via replication, for the server between bytes).", valueName: "seconds"))
    var bgsaveTimeout: Double = 3600

    @Flag(help: "Do not validate RDB files in plain directory backups.")
    var skipRDBCheck = false

    @Option(name: .customLong("tag"), help: "Tag the snapshot (repeatable).")
    var tags: [String] = []

    @Option(help: ArgumentHelp("Record this host name instead of this machine's (containers whose name changes, imports).", valueName: "name"))
    var host: String?

    @Option(help: ArgumentHelp("Record this time (RFC 3339) instead of now (imports, tests).", valueName: "time"))
    var time: String?

    @Flag(help: "Read every file, even those whose metadata is unchanged.")
    var forceReread = false

    @Flag(help: "Print one JSON summary object at the end.")
    var json = false

    @Argument(help: "Paths to back up.")
    var paths: [String] = []

    func validate() throws {
        if paths.isEmpty && redisOptions.redis == nil {
            throw ValidationError("name at least one path to back up (e.g. /var/lib/redis), or a server with --redis URL")
        }
        if !paths.isEmpty && redisOptions.redis != nil {
            throw ValidationError("give either paths or --redis, not both")
        }
        if via == .replication && redisOptions.redis == nil { throw ValidationError("--via replication needs --redis URL") }
        if via == .replication && dataDir != nil { throw ValidationError("--data-dir has no use with --via replication") }
        if let host, host.isEmpty || host.contains(where: { $0.isNewline }) { throw ValidationError("--host must be a non-empty name on one line") }
        if let time, RFC3339.parse(time) == nil { throw ValidationError("--time must be RFC 3339, e.g. 2026-11-20T00:00:00Z") }
    }

    func run() throws {
        var metrics = RunMetrics(command: "backup", repository: (try? options.location) ?? "")
        try MetricsFile.recording(metricsOptions, &metrics) { try perform(&$0) }
    }

    private func perform(_ metrics: inout RunMetrics) throws {
        let repository = try options.openToLock()
        let lock = try options.lock(repository, exclusive: false, command: "backup")
        defer { lock.release() }
        var capture: CapturedDataDirectory?
        var identity = options.identity
        if let host { identity.hostname = host }
        var request = BackupRequest(paths: paths, identity: identity, workingDirectory: Environment.workingDirectory)
        var replication: ReplicationCapture?
        if let address = try redisOptions.address(), via == .replication {
            let capture = ReplicationCapture(address: address, logger: options.logger)
            try capture.start(timeout: bgsaveTimeout)
            replication = capture
            request.recordedPaths = [address.description]
        } else if let address = try redisOptions.address() {
            var captureRequest = RedisCaptureRequest(address: address, dataDirectory: dataDir)
            captureRequest.bgsaveTimeout = bgsaveTimeout
            let captured = try RedisCapture(request: captureRequest, logger: options.logger).run()
            capture = captured
            request.paths = [captured.stagingDirectory]
            request.recordedPaths = [captured.dataDirectory]
            request.redis = captured.metadata
        } else if !skipRDBCheck {
            var metadata: [String: String] = [:]
            for path in paths where FileManager.default.fileExists(atPath: path) {
                metadata.merge(try RedisDirectoryValidator.validate(path, readRDBs: false)) { first, _ in first }
            }
            if !metadata.isEmpty {
                metadata["capture"] = "directory"
                request.redis = metadata
            }
        }
        defer { capture?.remove() }
        request.tags = tags
        request.time = time.flatMap(RFC3339.parse)
        request.forceReread = forceReread
        request.validateRDB = !skipRDBCheck
        request.faults = FaultSetup.fromEnvironment()
        request.lock = lock
        request.shouldStop = { Interruption.requested }
        let progress = WorkProgress()
        let renderer = ProgressRenderer(progress, verb: "backup", enabled: !options.quiet && !json)
        let result: BackupResult
        do {
            let job = BackupJob(repository: repository, request: request, progress: progress, logger: options.logger)
            // SIGINT or SIGTERM removes the capture's hard links from the Redis data directory before
            // the process ends: left there until the next capture, they would keep the old dump's
            // blocks allocated once Redis saves a new one.
            let captured = capture
            result = try Interruption.cleaningUp(with: { captured?.remove() }) {
                if let replication {
                    return try job.runRDBStream(name: "dump.rdb", recorded: request.recordedPaths ?? [], fill: replication.fill,
                                                metadata: replication.metadata)
                }
                return try job.run()
            }
            renderer.stop()
        } catch {
            renderer.stop()
            throw error
        }
        for warning in result.warnings { Console.error("cairn: warning: \(warning)") }
        let summary = result.summary
        metrics.addedBytes = summary.addedStoredBytes
        metrics.measure(repository)
        if json {
            Console.json([
                "snapshot_id": result.snapshot.hex, "short_id": result.snapshot.short,
                "parent": result.parent?.hex ?? NSNull(),
                "files": summary.files, "directories": summary.directories, "links": summary.links,
                "bytes": summary.bytes, "bytes_read": summary.bytesRead,
                "added_bytes": summary.addedBytes, "added_stored_bytes": summary.addedStoredBytes,
                "chunks": summary.chunks, "new_chunks": summary.newChunks,
                "duration_s": summary.durationSeconds, "warnings": result.warnings,
            ] as [String: Any])
        } else if !options.quiet {
            let rate = summary.durationSeconds > 0 ? Double(summary.bytesRead) / summary.durationSeconds : 0
            Console.out("snapshot \(result.snapshot.short) saved: \(summary.files) files, \(Rendering.size(summary.bytes)); "
                        + "read \(Rendering.size(summary.bytesRead)), added \(Rendering.size(summary.addedBytes)) "
                        + "(\(Rendering.size(summary.addedStoredBytes)) stored) in \(String(format: "%.2f", summary.durationSeconds))s "
                        + "(\(Rendering.size(Int64(rate)))/s)")
        }
        if !result.warnings.isEmpty {
            throw CLIError(.partial, "snapshot \(result.snapshot.short) saved with \(result.warnings.count) warning(s): "
                           + "path(s) it lacks or that changed while they were read, listed above")
        }
    }
}

enum CaptureMethod: String, ExpressibleByArgument, CaseIterable {
    case files, replication
}

/// Crash points for tests: CAIRN_TEST_CRASH_AT=chunking|after-pack-upload|after-index-write|catalog-commit
/// kills the process with SIGKILL when the backup reaches that point. CAIRN_TEST_PAUSE_AT names a
/// point where the process stops itself (SIGSTOP) instead, each time it gets there, so a test can
/// act in between and send SIGCONT: one of the backup's points, `after-lock`, right after any
/// command has taken the repository lock (see `RepositoryOptions.lock`), or `restore-batch`, before
/// each file and each batch `cairn restore` writes.
enum FaultSetup {
    static func fromEnvironment() -> FaultInjector {
        if let name = Environment.value("CAIRN_TEST_PAUSE_AT"), let point = FaultInjector.Point(rawValue: name) {
            return FaultInjector(point: point) { _ in pause() }
        }
        guard let name = Environment.value("CAIRN_TEST_CRASH_AT"), let point = FaultInjector.Point(rawValue: name) else {
            return .none
        }
        let threshold = Environment.value("CAIRN_TEST_CRASH_AFTER_BYTES").flatMap { Int64($0) } ?? (1 << 20)
        return FaultInjector(point: point, chunkedBytesThreshold: threshold) { _ in
            kill(getpid(), SIGKILL)
        }
    }

    /// Stops the process here if CAIRN_TEST_PAUSE_AT names `point`.
    static func pause(at point: String) {
        if Environment.value("CAIRN_TEST_PAUSE_AT") == point { pause() }
    }

    private static func pause() {
        kill(getpid(), SIGSTOP)
    }
}
