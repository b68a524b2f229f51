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
    }

    /// Runs the procedure; returns the key-count check (nil when the server was not started by us).
    @discardableResult
    public func run() throws -> KeyCountCheck? {
        let layout = try discoverLayout()
        let metadata = snapshot.document.redis ?? [:]
        let rdbName = metadata["rdb_file"] ?? "dump.rdb"
        let data = layout.dataDirectory
        let aofFolder = data + "/" + layout.appendDirectory
        report("snapshot \(snapshot.id.short) from \(RFC3339.format(snapshot.document.time)) (\(metadata["keys"] ?? "?") keys) → \(data)")
        report("1. stop Redis so it cannot overwrite the restored files: " + (request.stopCommand ?? (request.address.map { "SHUTDOWN NOSAVE on \($0)" } ?? "(no --redis or --stop-command: Redis must already be stopped)")))
        report("2. move current files aside: \(layout.dbFilename) → \(layout.dbFilename).old" + (layout.appendOnly ? ", \(layout.appendDirectory) → \(layout.appendDirectory).old" : ""))
        report("3. place \(rdbName) from the snapshot as \(data)/\(layout.dbFilename), owner " + (request.owner.map { "\($0.uid):\($0.gid)" } ?? "as recorded"))
        if layout.appendOnly {
            report("4. AOF is on: install the RDB as \(layout.appendDirectory)/\(layout.appendFilename).1.base.rdb with a fresh manifest")
        }
        report("5. start Redis: " + (request.startCommand ?? "(no --start-command: start it yourself)"))
        report("6. wait for loading to finish and compare key counts with the snapshot")
        if request.dryRun {
            report("dry run: nothing was changed")
            return nil
        }

        try stopServer()
        let staging = data + "/.cairn-restore-\(getpid())"
        FileCopy.removeTree(staging)
        var restore = RestoreRequest(target: staging)
        restore.includes = [rdbName]
        restore.directIO = request.directIO
        restore.sideBySideMinimumBytes = request.sideBySideMinimumBytes
        _ = try RestoreJob(repository: repository, snapshot: snapshot, request: restore, logger: logger).run()
        defer { FileCopy.removeTree(staging) }
        guard FileManager.default.fileExists(atPath: staging + "/" + rdbName) else {
            throw EngineError(.noMatch, "snapshot \(snapshot.id.short) has no \(rdbName)", hint: "is it a snapshot of a Redis data directory?")
        }
        let placed = data + "/" + layout.dbFilename
        if let owner = request.owner { chown(staging + "/" + rdbName, owner.uid, owner.gid) }
        let moved = try moveAside(placed)
        if let moved { report("   moved \(placed) → \(moved)") }
        if layout.appendOnly, FileManager.default.fileExists(atPath: aofFolder), let folderMoved = try moveAside(aofFolder) {
            report("   moved \(aofFolder) → \(folderMoved)")
        }
        if layout.appendOnly {
            try installAOFBase(from: staging + "/" + rdbName, folder: aofFolder, layout: layout)
        }
        guard rename(staging + "/" + rdbName, placed) == 0 else {
            throw EngineError(.failure, "cannot move the restored file into \(placed): \(errnoMessage(errno))")
        }
        report("   placed \(placed)")
        guard let start = request.startCommand else {
            report("files are in place; start Redis and check it with INFO keyspace")
            return nil
        }
        try runShell(start, what: "start command")
        let check = try waitAndVerify(metadata: metadata)
        report("   loaded: \(check.description)" + (check.matches ? "" : " — MISMATCH"))
        guard check.matches else {
            throw EngineError(.integrity, "the restored server's key counts do not match the snapshot (\(check.description))",
                              hint: "the previous files are kept as *.old")
        }
        return check
    }

    private func discoverLayout() throws -> Layout {
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
        if let address = request.address, let client = try? RESPClient(address: address, timeout: 5) {
            for name in ["dir", "dbfilename", "appendonly", "appenddirname", "appendfilename"] {
                if let value = try? client.config(name) { values[name] = value }
            }
        }
        guard let directory = request.dataDirectory ?? values["dir"] else {
            throw EngineError(.usage, "cannot tell where the server's data directory is",
                              hint: "pass --data-dir, --conf /etc/redis/redis.conf, or --redis URL of the running server")
        }
        return Layout(dataDirectory: directory, dbFilename: values["dbfilename"] ?? "dump.rdb",
                      appendOnly: values["appendonly"] == "yes", appendDirectory: values["appenddirname"] ?? "appendonlydir",
                      appendFilename: values["appendfilename"] ?? "appendonly.aof")
    }

    private func stopServer() throws {
        if let stop = request.stopCommand {
            try runShell(stop, what: "stop command")
        } else if let address = request.address {
            do {
                let client = try RESPClient(address: address, timeout: 5)
                try? client.send([Array("SHUTDOWN".utf8), Array("NOSAVE".utf8)])
                _ = try? client.readReply()
            } catch {
                report("   \(address) does not answer; taking it as stopped")
                return
            }
        } else {
            return
        }
        if let address = request.address {
            let deadline = Date().addingTimeInterval(60)
            while (try? RESPClient(address: address, timeout: 1)) != nil {
                guard Date() < deadline else { throw EngineError(.redis, "\(address) is still running after the stop step") }
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
        report("   Redis is stopped")
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
        report("   installed \(folder)/\(baseName) and a fresh manifest")
    }

    private func waitAndVerify(metadata: [String: String]) throws -> KeyCountCheck {
        guard let address = request.address else {
            throw EngineError(.usage, "--start-command needs --redis URL to check the loaded server")
        }
        let deadline = Date().addingTimeInterval(request.loadTimeout)
        while true {
            if let client = try? RESPClient(address: address, timeout: 5), (try? client.command(["PING"]))?.string == "PONG",
               (try? client.info("persistence"))?["loading"] == "0" {
                return KeyCountCheck(expected: KeyCountCheck.parse(metadata["keys_per_db"] ?? ""),
                                     actual: try KeyCountCheck.live(client), expires: Int(metadata["expires"] ?? "0") ?? 0)
            }
            guard Date() < deadline else { throw EngineError(.redis, "\(address) did not finish loading in time") }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }

    private func runShell(_ command: String, what: String) throws {
        let status = try ShellCommand.run(command)
        guard status == 0 else {
            throw EngineError(.redis, "the \(what) `\(command)` exited with status \(status)")
        }
    }

}
