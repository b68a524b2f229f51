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

    /// A warning when the AOF, loaded on its own, holds a tenth more or fewer keys in a database
    /// than the RDB (beyond keys with a TTL). The writes between the BGSAVE and the capture of the
    /// AOF move the counts a little; this much says the server's AOF does not hold its dataset
    /// (keys made by `DEBUG POPULATE` or a `DEBUG RELOAD`, which reach no AOF), and the server
    /// loads its AOF, not its RDB, when it restarts.
    public var aofWarning: String? {
        guard let aofKeys else { return nil }
        let databases = Set(rdb.expected.keys).union(aofKeys.keys).sorted().filter { db in
            let inRDB = rdb.expected[db] ?? 0, inAOF = aofKeys[db] ?? 0
            return abs(inAOF - inRDB) > rdb.expires + max(1, inRDB / 10)
        }
        guard !databases.isEmpty else { return nil }
        let counts = databases.map { "db\($0): \(aofKeys[$0] ?? 0) keys in the AOF, \(rdb.expected[$0] ?? 0) in the RDB" }
        return "the snapshot's AOF, loaded on its own, does not hold the RDB's dataset (\(counts.joined(separator: "; "))): "
            + "the server's AOF lacks what it holds in memory, and it loads the AOF if it restarts; "
            + "BGREWRITEAOF on the server rewrites it from memory (redis-restore builds the AOF it places from the RDB)"
    }
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
