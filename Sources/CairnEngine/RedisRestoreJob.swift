import CairnCore
import CairnRedis
import CairnRepository
import Foundation
import Glibc
import Logging

/// What `cairn redis-restore` needs.
public struct RedisRestoreRequest: Sendable {
    public var dataDirectory: String?
    public var address: RedisAddress?
    /// redis.conf of the server, read for dir, dbfilename, appendonly, appenddirname, appendfilename.
    public var configFile: String?
    public var stopCommand: String?
    public var startCommand: String?
    /// Numeric owner for every placed file (else the snapshot's ids).
    public var owner: (uid: UInt32, gid: UInt32)?
    public var dryRun = false
    public var loadTimeout: TimeInterval = 600
    /// Write the restored files with direct I/O (see `RestoreRequest.directIO`).
    public var directIO = true
    /// Restore large files two at a time (see `RestoreRequest.sideBySideMinimumBytes`).
    public var sideBySideMinimumBytes: Int64? = 64 << 20

    public init() {}
}

/// `cairn redis-restore`: stop the server so it cannot overwrite the restored files, move current
/// files aside as `*.old`, place the snapshot's files with numeric owners, make the server load
/// them when AOF is on (the RDB becomes the AOF base with a fresh manifest), start, wait for the
/// load, and check key counts against the snapshot. Every step is reported before it is taken.
public struct RedisRestoreJob {
    let repository: Repository
    let snapshot: Snapshot
    let request: RedisRestoreRequest
    let report: (String) -> Void
    let logger: Logger

    public init(repository: Repository, snapshot: Snapshot, request: RedisRestoreRequest, logger: Logger, report: @escaping (String) -> Void) {
        self.repository = repository
        self.snapshot = snapshot
        self.request = request
        self.logger = logger
        self.report = report
    }

    struct Layout {
        var dataDirectory: String
        var dbFilename: String
        var appendOnly: Bool
        var appendDirectory: String
        var appendFilename: String
        var logFile: String?
    }

    /// Runs the procedure; returns the key-count check (nil when the server was not started by us).
    ///
    /// The snapshot's files are restored next to the live ones (and the AOF folder built there)
    /// while Redis still runs; only then is it stopped, and the swap is a few renames. So the
    /// server is down for the swap and its restart, not for the download, and a restore that fails
    /// before the stop (a wrong password, an unwritable directory, a damaged chunk) leaves the
    /// server running on its own data.
    @discardableResult
    public func run() throws -> KeyCountCheck? {
        let metadata = snapshot.document.redis ?? [:]
        guard let rdbName = metadata["rdb_file"] else { throw EngineError.noServerRDB(snapshot: snapshot.id.short) }
        if request.startCommand != nil && request.address == nil {
            throw EngineError(.usage, "--start-command needs --redis URL to check the loaded server", hint: "nothing was changed")
        }
        let client = try connect()
        let layout = try discoverLayout(client)
        let data = layout.dataDirectory
        let aofFolder = data + "/" + layout.appendDirectory
        let staging = data + "/.cairn-restore-\(getpid())"
        if client != nil && request.stopCommand == nil { try refuseSupervised(client!) }
        report("snapshot \(snapshot.id.short) from \(RFC3339.format(snapshot.document.time)) (\(metadata["keys"] ?? "?") keys) → \(data)")
        report("1. restore \(rdbName) from the snapshot into \(staging) while Redis runs, owner "
               + (request.owner.map { "\($0.uid):\($0.gid)" } ?? "as recorded")
               + (layout.appendOnly ? "; AOF is on: build \(layout.appendDirectory) there, the RDB as its base with a fresh manifest" : ""))
        report("2. stop Redis so it cannot overwrite the restored files: " + (request.stopCommand
            ?? (client != nil ? "SHUTDOWN SAVE on \(request.address!) (its current data is saved first, and kept below as *.old)"
                : request.address.map { "nothing answers at \($0): it is stopped" } ?? "(no --redis or --stop-command: Redis must already be stopped)")))
        report("3. move current files aside: \(layout.dbFilename) → \(layout.dbFilename).old" + (layout.appendOnly ? ", \(layout.appendDirectory) → \(layout.appendDirectory).old" : ""))
        report("4. move the restored files into place as \(data)/\(layout.dbFilename)" + (layout.appendOnly ? " and \(aofFolder)" : ""))
        report("5. start Redis: " + (request.startCommand ?? "(no --start-command: start it yourself)"))
        report("6. " + (request.startCommand != nil ? "wait for loading to finish and compare key counts with the snapshot"
            : "(no --start-command: once Redis runs, compare INFO keyspace with the snapshot's key counts)"))
        if request.dryRun {
            report("dry run: nothing was changed")
            return nil
        }

        removeLeftoverStaging(in: data)
        let staged = try stage(rdbName: rdbName, into: staging, layout: layout)
        defer { FileCopy.removeTree(staging) }
        try stopServer(client, dataDirectory: data)
        try refuseIfRunningAgain()
        try swap(staged, layout: layout)
        guard let start = request.startCommand else {
            report("files are in place; start Redis and check it with INFO keyspace")
            return nil
        }
        try runShell(start, what: "start command")
        let check = try waitAndVerify(metadata: metadata, logFile: layout.logFile)
        report("   loaded: \(check.description)" + (check.matches ? "" : " — MISMATCH"))
        guard check.matches else {
            throw EngineError(.integrity, "the restored server's key counts do not match the snapshot (\(check.description))",
                              hint: "the previous files are kept as *.old")
        }
        return check
    }

    /// The restored files, ready in the staging folder.
    private struct Staged {
        var rdb: String
        /// The new AOF folder, when AOF is on.
        var aofFolder: String?
    }

    /// Restores the snapshot's RDB into `staging` (on the data directory's file system, so the swap
    /// is renames) and, with AOF on, builds the AOF folder there. Redis is still running.
    private func stage(rdbName: String, into staging: String, layout: Layout) throws -> Staged {
        FileCopy.removeTree(staging)
        var restore = RestoreRequest(target: staging)
        restore.includes = [rdbName]
        restore.directIO = request.directIO
        restore.sideBySideMinimumBytes = request.sideBySideMinimumBytes
        do {
            _ = try RestoreJob(repository: repository, snapshot: snapshot, request: restore, logger: logger).run()
        } catch {
            FileCopy.removeTree(staging)
            throw error
        }
        let rdb = staging + "/" + rdbName
        guard FileManager.default.fileExists(atPath: rdb) else {
            FileCopy.removeTree(staging)
            throw EngineError(.noMatch, "snapshot \(snapshot.id.short) has no \(rdbName)", hint: "is it a snapshot of a Redis data directory? Redis was not stopped")
        }
        if let owner = request.owner { chown(rdb, owner.uid, owner.gid) }
        warnIfOwnedByAnother(rdb, dataDirectory: layout.dataDirectory)
        var staged = Staged(rdb: rdb)
        if layout.appendOnly {
            let folder = staging + "/" + layout.appendDirectory
            try installAOFBase(from: rdb, folder: folder, layout: layout)
            staged.aofFolder = folder
        }
        report("   restored \(rdbName) into \(staging)")
        return staged
    }

    /// Moves the live files aside and the staged ones into place; if a rename fails halfway, the
    /// files moved aside are put back.
    private func swap(_ staged: Staged, layout: Layout) throws {
        let data = layout.dataDirectory
        let placed = data + "/" + layout.dbFilename
        let aofFolder = data + "/" + layout.appendDirectory
        var undo: [(from: String, to: String)] = []
        func rollBack() {
            for step in undo.reversed() { rename(step.to, step.from) }
            try? Self.fsyncFile(data)
        }
        do {
            if let moved = try moveAside(placed) {
                undo.append((placed, moved))
                report("   moved \(placed) → \(moved)")
            }
            if layout.appendOnly, let moved = try moveAside(aofFolder) {
                undo.append((aofFolder, moved))
                report("   moved \(aofFolder) → \(moved)")
            }
            if let folder = staged.aofFolder {
                guard rename(folder, aofFolder) == 0 else {
                    throw EngineError(.failure, "cannot move the new AOF folder into \(aofFolder): \(errnoMessage(errno))")
                }
                undo.append((folder, aofFolder))
            }
            guard rename(staged.rdb, placed) == 0 else {
                throw EngineError(.failure, "cannot move the restored file into \(placed): \(errnoMessage(errno))")
            }
            try Self.fsyncFile(data)
        } catch {
            rollBack()
            throw EngineError(.failure, "\(error); the previous files were put back, and Redis is stopped",
                              hint: "start Redis again with its own data, fix the cause, and run redis-restore again")
        }
        report("   placed \(placed)" + (staged.aofFolder != nil ? " and \(aofFolder)" : ""))
    }

    /// Connects to the server at `--redis`: nil when nothing listens there (it is stopped). Any
    /// other outcome (a refused password, no answer, an error reply) means a server may be running
    /// with these files, so nothing may be replaced: it stops the restore before anything changes.
    private func connect() throws -> RESPClient? {
        guard let address = request.address else { return nil }
        do {
            let client = try RESPClient(address: address, timeout: 5)
            _ = try client.command(["PING"])
            return client
        } catch let error as RedisError where error.nothingListens {
            return nil
        } catch let error as any CairnFailure {
            throw EngineError(.redis, "cannot tell whether Redis at \(address) is stopped: \(error.message)",
                              hint: (error.hint.map { $0 + "; " } ?? "") + "nothing was changed")
        }
    }

    /// Whether anything listens at `address` (a server going down may accept a connection and
    /// close it: that still counts as there).
    private func answers(_ address: RedisAddress) -> Bool {
        do {
            _ = try RESPClient(address: address, timeout: 1)
            return true
        } catch let error as RedisError where error.nothingListens {
            return false
        } catch {
            return true
        }
    }

    /// The default stop (SHUTDOWN) is undone at once by a supervisor that restarts Redis (systemd's
    /// `Restart=always`): the server would come back on the old files, and overwrite the restored
    /// ones at its next save.
    private func refuseSupervised(_ client: RESPClient) throws {
        let supervised = (try? client.info("server"))?["process_supervised"] ?? "no"
        guard supervised == "no" else {
            throw EngineError(.usage, "Redis runs under a supervisor (process_supervised:\(supervised)), which would restart it after SHUTDOWN",
                              hint: "stop and start it through the supervisor: --stop-command 'systemctl stop redis-server' "
                                + "--start-command 'systemctl start redis-server'; nothing was changed")
        }
    }

    /// Removes staging folders that earlier runs left (killed before they cleaned up): each holds
    /// a whole RDB. Only those whose process is gone.
    private func removeLeftoverStaging(in data: String) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: data)) ?? [] where name.hasPrefix(".cairn-restore-") {
            guard let pid = Int32(name.dropFirst(".cairn-restore-".count)), pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH {
                FileCopy.removeTree(data + "/" + name)
                report("   removed \(data)/\(name), left by an earlier run")
            }
        }
    }

    /// Files owned by another user than the data directory's may be unreadable to Redis (a
    /// snapshot from a server that ran as root, restored for one that runs as redis).
    private func warnIfOwnedByAnother(_ file: String, dataDirectory: String) {
        var fileInfo = stat(), folderInfo = stat()
        guard request.owner == nil, lstat(file, &fileInfo) == 0, lstat(dataDirectory, &folderInfo) == 0,
              fileInfo.st_uid != folderInfo.st_uid || fileInfo.st_gid != folderInfo.st_gid else { return }
        report("   warning: the restored files belong to \(fileInfo.st_uid):\(fileInfo.st_gid) as recorded, the data directory "
               + "to \(folderInfo.st_uid):\(folderInfo.st_gid); if Redis runs as the latter, pass --owner \(folderInfo.st_uid):\(folderInfo.st_gid)")
    }

    private func discoverLayout(_ client: RESPClient?) throws -> Layout {
        var values: [String: String] = [:]
        if let file = request.configFile {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw EngineError(.inputNotFound, "cannot read --conf \(file)")
            }
            for line in text.split(separator: "\n") {
                let parts = line.trimmingCharacters(in: .whitespaces).split(separator: " ", maxSplits: 1)
                guard parts.count == 2, !parts[0].hasPrefix("#") else { continue }
                values[parts[0].lowercased()] = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
            }
        }
        let configured = request.dataDirectory ?? values["dir"]
        if let client {
            do {
                for name in ["dir", "dbfilename", "appendonly", "appenddirname", "appendfilename"] {
                    if let value = try client.config(name) { values[name] = value }
                }
            } catch let error as RedisError where error.commandRefused {
                // CONFIG renamed or not permitted: --conf says what the server would have.
                guard request.configFile != nil else {
                    throw EngineError(.usage, "\(request.address!) refuses CONFIG GET (renamed or not permitted), so Cairn cannot ask it "
                                      + "for dir, dbfilename and the AOF settings",
                                      hint: "pass --conf /etc/redis/redis.conf (and --data-dir if its dir is relative); nothing was changed")
                }
            }
            if let configured, let live = values["dir"], !Self.sameDirectory(configured, live) {
                throw EngineError(.usage, "the server at \(request.address!) uses \(live), not \(configured)",
                                  hint: "point --redis at the server whose data directory this is; nothing was changed")
            }
        } else if let address = request.address {
            try refuseIfSeeminglyRunning(address: address, config: values)
        }
        guard let directory = request.dataDirectory ?? values["dir"] else {
            throw EngineError(.usage, "cannot tell where the server's data directory is",
                              hint: "pass --data-dir, --conf /etc/redis/redis.conf, or --redis URL of the running server")
        }
        if client == nil && request.stopCommand == nil { try refuseIfServed(directory) }
        if client == nil && request.configFile == nil {
            try refuseUnknownAOF(in: directory, dbFilename: values["dbfilename"] ?? "dump.rdb")
        }
        return Layout(dataDirectory: directory, dbFilename: values["dbfilename"] ?? "dump.rdb",
                      appendOnly: values["appendonly"] == "yes", appendDirectory: values["appenddirname"] ?? "appendonlydir",
                      appendFilename: values["appendfilename"] ?? "appendonly.aof", logFile: values["logfile"])
    }

    /// Nothing listens at `--redis`: before taking that as "stopped", make sure it is the address
    /// the server in `--conf` would listen on (its `tls-port` for a rediss:// address), and that the
    /// pid in its pidfile is not alive.
    private func refuseIfSeeminglyRunning(address: RedisAddress, config: [String: String]) throws {
        let portSetting = address.tls != nil ? "tls-port" : "port"
        if case .tcp(_, let port) = address.endpoint, let configured = config[portSetting].flatMap(Int.init), configured != 0, configured != port {
            throw EngineError(.usage, "nothing answers at \(address), but the server in --conf listens on \(portSetting) \(configured)",
                              hint: "check --redis; nothing was changed")
        }
        if let pidFile = config["pidfile"], let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
           let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0, kill(pid, 0) == 0 {
            throw EngineError(.redis, "nothing answers at \(address), but the pidfile \(pidFile) names a live process (\(pid))",
                              hint: "check --redis; stop Redis first if it is hung; nothing was changed")
        }
    }

    /// Only --data-dir: nothing says whether AOF is on. With it on, Redis loads the AOF folder
    /// and ignores dump.rdb, so placing only the RDB beside an AOF folder would restore nothing.
    private func refuseUnknownAOF(in directory: String, dbFilename: String) throws {
        var folders = ["appendonlydir"]
        if let manifest = snapshot.document.redis?["aof_manifest"], let folder = manifest.split(separator: "/").first, manifest.contains("/") {
            folders.append(String(folder))
        }
        guard let found = folders.first(where: { SystemPath(directory + "/" + $0).lstat() != nil }) else { return }
        throw EngineError(.usage, "cannot tell whether AOF is on: \(directory) holds \(found), which Redis loads instead of "
                          + "\(dbFilename) when appendonly is yes",
                          hint: "pass --conf /etc/redis/redis.conf (or --redis URL of the running server); nothing was changed")
    }

    /// Nothing to ask at --redis (none given, or nothing answers there): a redis-server whose
    /// working directory is the data directory (Redis changes into its `dir`) is still serving
    /// these files and would overwrite the restored ones.
    private func refuseIfServed(_ directory: String) throws {
        guard let pid = Self.redisServer(servingFrom: directory) else { return }
        throw EngineError(.redis, "a redis-server (pid \(pid)) is running in \(directory)",
                          hint: (request.address != nil ? "check --redis; " : "pass --redis URL so Cairn can stop it, or stop it first; ")
                            + "nothing was changed")
    }

    /// The pid of a redis-server whose working directory is `directory` (Linux /proc; nil when
    /// there is none, or none this user may look at).
    static func redisServer(servingFrom directory: String) -> Int32? {
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), pid != getpid(),
                  let name = try? String(contentsOfFile: "/proc/\(entry)/comm", encoding: .utf8),
                  name.trimmingCharacters(in: .whitespacesAndNewlines) == "redis-server",
                  let cwd = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(entry)/cwd"),
                  sameDirectory(cwd, directory) else { continue }
            return pid
        }
        return nil
    }

    private static func sameDirectory(_ a: String, _ b: String) -> Bool {
        let resolve = { (path: String) in URL(fileURLWithPath: path).resolvingSymlinksInPath().standardizedFileURL.path }
        return resolve(a) == resolve(b)
    }

    /// Stops the server. SHUTDOWN SAVE writes its current dataset first, so the `*.old` file kept
    /// below holds what it served until now (SHUTDOWN NOSAVE would keep only its last save: with
    /// appendonly off, the writes since then would be lost). If Redis cannot save, it refuses to
    /// stop, and the restore stops too with nothing changed.
    private func stopServer(_ client: RESPClient?, dataDirectory: String) throws {
        if let stop = request.stopCommand {
            try runShell(stop, what: "stop command")
        } else if let client {
            try? client.send([Array("SHUTDOWN".utf8), Array("SAVE".utf8)])
            if case .error(let text)? = try? client.readReply() {
                throw EngineError(.redis, "Redis refused to stop: \(text)",
                                  hint: "it still runs on its own data and nothing was changed; if it cannot save (disk full, MISCONF), "
                                    + "see its log, or stop it yourself and run again without --redis")
            }
        } else {
            return
        }
        if let address = request.address {
            let deadline = Date().addingTimeInterval(60)
            while answers(address) {
                guard Date() < deadline else { throw EngineError(.redis, "\(address) is still running after the stop step; nothing was changed") }
                Thread.sleep(forTimeInterval: 0.1)
            }
        } else {
            let deadline = Date().addingTimeInterval(60)
            while let pid = Self.redisServer(servingFrom: dataDirectory) {
                guard Date() < deadline else {
                    throw EngineError(.redis, "a redis-server (pid \(pid)) still runs in \(dataDirectory) after the stop step; nothing was changed")
                }
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
        report("   Redis is stopped")
    }

    /// Right before the swap: a server that answers again (a supervisor restarted it) would run on
    /// the old files and overwrite the restored ones at its next save.
    private func refuseIfRunningAgain() throws {
        guard let address = request.address, answers(address) else { return }
        throw EngineError(.redis, "\(address) answers again after the stop: something restarted it (a supervisor?); nothing was replaced",
                          hint: "stop it through its supervisor with --stop-command, and start it with --start-command")
    }

    /// `path.old` (or `.old.N`); nil when there is nothing to move.
    private func moveAside(_ path: String) throws -> String? {
        guard SystemPath(path).lstat() != nil else { return nil }
        var candidate = path + ".old"
        var counter = 1
        while SystemPath(candidate).lstat() != nil {
            candidate = path + ".old.\(counter)"
            counter += 1
        }
        guard rename(path, candidate) == 0 else { throw EngineError(.failure, "cannot move \(path) aside: \(errnoMessage(errno))") }
        return candidate
    }

    private func installAOFBase(from rdb: String, folder: String, layout: Layout) throws {
        try FileCopy.makeDirectory(folder, like: layout.dataDirectory)
        var info = stat()
        lstat(rdb, &info)
        chown(folder, info.st_uid, info.st_gid)
        chmod(folder, 0o755)
        let baseName = layout.appendFilename + ".1.base.rdb"
        try FileCopy.copyPrefix(rdb, folder + "/" + baseName, length: nil)
        let manifest = folder + "/" + layout.appendFilename + ".manifest"
        let text = AOFManifest.render([AOFManifest.Entry(name: baseName, sequence: 1, type: .base)])
        try Data(text.utf8).write(to: URL(fileURLWithPath: manifest))
        chown(manifest, info.st_uid, info.st_gid)
        chmod(manifest, 0o644)
        for file in [folder + "/" + baseName, manifest] { try Self.fsyncFile(file) }
        try Self.fsyncFile(folder)
        report("   built \(folder)/\(baseName) and a fresh manifest")
    }

    /// fsync of a file or a directory (its entries).
    private static func fsyncFile(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0, fsync(fd) == 0 else {
            let code = errno
            if fd >= 0 { close(fd) }
            throw EngineError(.failure, "cannot sync \(path): \(errnoMessage(code))")
        }
        close(fd)
    }

    /// Waits for the started server to finish loading. A server that has not accepted a connection
    /// for `startupSeconds` after the start command did not start (files it cannot read, a bad
    /// config): that fails at once rather than after the whole load timeout.
    private func waitAndVerify(metadata: [String: String], logFile: String?) throws -> KeyCountCheck {
        guard let address = request.address else {
            throw EngineError(.usage, "--start-command needs --redis URL to check the loaded server")
        }
        let started = Date()
        let deadline = started.addingTimeInterval(request.loadTimeout)
        var answered = false
        while true {
            do {
                let client = try RESPClient(address: address, timeout: 5)
                answered = true
                if (try? client.command(["PING"]))?.string == "PONG", (try? client.info("persistence"))?["loading"] == "0" {
                    return KeyCountCheck(expected: KeyCountCheck.parse(metadata["keys_per_db"] ?? ""),
                                         actual: try KeyCountCheck.live(client), expires: Int(metadata["expires"] ?? "0") ?? 0)
                }
            } catch let error as RedisError where error.nothingListens && !answered
                        && Date().timeIntervalSince(started) > Self.startupSeconds {
                throw EngineError(.redis, "\(address) accepts no connection \(Int(Self.startupSeconds)) s after the start command: Redis did not start",
                                  hint: "see its log" + (logFile.map { " (\($0))" } ?? "") + "; files it cannot read? pass --owner USER:GROUP of the "
                                    + "Redis user. The previous files are kept as *.old")
            } catch {
                // Not up yet, or loading: ask again.
            }
            guard Date() < deadline else { throw EngineError(.redis, "\(address) did not finish loading in time") }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }

    static let startupSeconds: TimeInterval = 30

    private func runShell(_ command: String, what: String) throws {
        let status = try ShellCommand.run(command)
        guard status == 0 else {
            throw EngineError(.redis, "the \(what) `\(command)` exited with status \(status)")
        }
    }

}
