import CairnRedis
import Foundation

/// What Cairn learns from a live server before capturing it.
struct RedisServerFacts {
    var dataDirectory: String
    var dbFilename: String
    var appendOnly: Bool
    /// Redis 7's multi-part AOF folder, relative to the data directory (nil for ≤ 6.2).
    var appendDirectory: String?
    var appendFilename: String
    var version: String
    var role: String
    var replicationOffset: String
    var usedMemory: String

    /// CONFIG GET for the paths (falling back to `dataDirectory` when CONFIG is renamed or not
    /// permitted), INFO for the version, role and offsets.
    static func discover(_ client: RESPClient, dataDirectory override: String?) throws -> RedisServerFacts {
        // PING first, so a missing or wrong password is reported as such and not mistaken for a
        // CONFIG that is renamed or not permitted.
        _ = try client.command(["PING"])
        func config(_ name: String) -> String? { try? client.config(name) }
        let directory = config("dir")
        guard let dataDirectory = override ?? directory else {
            throw EngineError(.redis, "cannot ask \(client.address) where its data directory is (CONFIG GET dir failed)",
                              hint: "CONFIG may be renamed or not permitted: pass --data-dir /var/lib/redis")
        }
        let server = try client.info("server")
        let replication = try client.info("replication")
        let memory = try client.info("memory")
        let appendDirectory = config("appenddirname")
        return RedisServerFacts(
            dataDirectory: dataDirectory, dbFilename: config("dbfilename") ?? "dump.rdb",
            appendOnly: config("appendonly") == "yes", appendDirectory: appendDirectory,
            appendFilename: config("appendfilename") ?? "appendonly.aof",
            version: server["redis_version"] ?? "unknown", role: replication["role"] ?? "unknown",
            replicationOffset: replication["master_repl_offset"] ?? "0", usedMemory: memory["used_memory"] ?? "0")
    }
}

/// Runs BGSAVE and waits for it, robustly: LASTSAVE has one-second resolution, so completion is
/// read from INFO persistence (`rdb_saves`, `rdb_bgsave_in_progress`, `rdb_last_bgsave_status`).
struct BackgroundSave {
    let client: RESPClient
    let timeout: TimeInterval
    let pollInterval: TimeInterval = 0.05

    func run() throws {
        try waitWhileSaving()
        let before = try client.info("persistence")
        let savesBefore = Int(before["rdb_saves"] ?? "")
        let lastSaveBefore = before["rdb_last_save_time"]
        var started = false
        let deadline = Date().addingTimeInterval(timeout)
        while !started {
            do {
                let reply = try client.command(["BGSAVE", "SCHEDULE"])
                started = reply.string != nil
            } catch let error as RedisError where error.message.contains("already in progress") {
                try waitWhileSaving()
            }
            guard Date() < deadline else { throw timedOut() }
        }
        var sawRunning = false
        while true {
            let info = try client.info("persistence")
            let running = info["rdb_bgsave_in_progress"] == "1"
            sawRunning = sawRunning || running
            if !running {
                let finished: Bool
                if let savesBefore, let saves = Int(info["rdb_saves"] ?? "") {
                    finished = saves > savesBefore
                } else {
                    finished = sawRunning || info["rdb_last_save_time"] != lastSaveBefore
                }
                if finished {
                    guard info["rdb_last_bgsave_status"] == "ok" else {
                        throw EngineError(.redis, "BGSAVE failed on \(client.address) (rdb_last_bgsave_status:\(info["rdb_last_bgsave_status"] ?? "?"))",
                                          hint: "see the Redis log: the data directory may be unwritable or full; no snapshot was made. "
                                            + "Until a save succeeds, a server with stop-writes-on-bgsave-error yes (the default) refuses "
                                            + "writes (MISCONF): fix the cause and run BGSAVE, or back up again")
                    }
                    return
                }
            }
            guard Date() < deadline else { throw timedOut() }
            Thread.sleep(forTimeInterval: pollInterval)
        }
    }

    private func waitWhileSaving() throws {
        let deadline = Date().addingTimeInterval(timeout)
        while try client.info("persistence")["rdb_bgsave_in_progress"] == "1" {
            guard Date() < deadline else { throw timedOut() }
            Thread.sleep(forTimeInterval: pollInterval)
        }
    }

    private func timedOut() -> EngineError {
        EngineError(.redis, "BGSAVE on \(client.address) did not finish within \(Int(timeout))s", hint: "raise --bgsave-timeout")
    }
}
