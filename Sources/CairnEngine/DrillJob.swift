import CairnRedis
import CairnRepository
import Foundation
import Logging

/// The outcome of a restore drill.
public struct DrillResult: Sendable {
    public var rdb: KeyCountCheck
    /// Keys per database after loading the snapshot's AOF on its own, when it has one. The AOF
    /// may hold writes after the BGSAVE, so these are reported, not compared; that it loads is the test.
    public var aofKeys: [Int: Int]?
    public var seconds: Double
    public var passed: Bool { rdb.matches }
}

/// `cairn drill`: restore into a temporary directory, load it in a throwaway redis-server on a
/// free loopback port, and compare key counts with the snapshot — the nightly restore test.
public struct DrillJob {
    let repository: Repository
    let snapshot: Snapshot
    let redisServer: String
    let logger: Logger

    public init(repository: Repository, snapshot: Snapshot, redisServer: String = "redis-server", logger: Logger) {
        self.repository = repository
        self.snapshot = snapshot
        self.redisServer = redisServer
        self.logger = logger
    }

    public func run() throws -> DrillResult {
        let started = Date()
        let metadata = snapshot.document.redis ?? [:]
        if !metadata.isEmpty && metadata["rdb_file"] == nil { throw EngineError.noServerRDB(snapshot: snapshot.id.short) }
        guard let rdbName = metadata["rdb_file"], let perDatabase = metadata["keys_per_db"] else {
            throw EngineError(.noMatch, "snapshot \(snapshot.id.short) records no Redis data", hint: "drill snapshots made from a Redis data directory")
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-drill-\(getpid())").path
        FileCopy.removeTree(scratch)
        defer { FileCopy.removeTree(scratch) }
        var request = RestoreRequest(target: scratch)
        request.restoreOwnership = false
        let restored = try RestoreJob(repository: repository, snapshot: snapshot, request: request, logger: logger).run()
        guard restored.failures.isEmpty else {
            throw EngineError(.integrity, "the snapshot could not be restored: \(restored.failures.joined(separator: "; "))")
        }
        chmod(scratch, 0o700)
        let expected = KeyCountCheck.parse(perDatabase)
        let expires = Int(metadata["expires"] ?? "0") ?? 0
        let rdbServer = try RedisServerProcess(directory: scratch, arguments: ["--dbfilename", rdbName, "--appendonly", "no"], binary: redisServer)
        let rdbCheck = KeyCountCheck(expected: expected, actual: try KeyCountCheck.live(try rdbServer.client()), expires: expires)
        _ = try? rdbServer.client().send([Array("SHUTDOWN".utf8), Array("NOSAVE".utf8)])
        rdbServer.stop()

        var aofKeys: [Int: Int]?
        if let manifest = metadata["aof_manifest"], let folder = manifest.split(separator: "/").first {
            let name = String(manifest.split(separator: "/").last!.dropLast(".manifest".count))
            let aofServer = try RedisServerProcess(directory: scratch, arguments: [
                "--dbfilename", "cairn-drill-unused.rdb", "--appendonly", "yes", "--appenddirname", String(folder),
                "--appendfilename", name], binary: redisServer)
            aofKeys = try KeyCountCheck.live(try aofServer.client())
            _ = try? aofServer.client().send([Array("SHUTDOWN".utf8), Array("NOSAVE".utf8)])
            aofServer.stop()
        }
        return DrillResult(rdb: rdbCheck, aofKeys: aofKeys, seconds: Date().timeIntervalSince(started))
    }
}
