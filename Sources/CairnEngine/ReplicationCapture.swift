import CairnRedis
import Foundation
import Logging

/// `backup --redis URL --via replication`: pulls the RDB over the replication protocol (as a
/// replica would, RDB only) and hands it to the backup as it arrives — no temporary file, and no
/// access to the server's disk needed. The backup walks the RDB while it chunks it (structure to
/// EOF, CRC64), cutting at key records; if the RDB is not valid, the backup commits nothing.
public final class ReplicationCapture {
    private let address: RedisAddress
    private let logger: Logger
    private var client: RESPClient?
    private var source: ReplicationPayloadSource?
    private var facts: [String: String] = [:]

    public init(address: RedisAddress, logger: Logger) {
        self.address = address
        self.logger = logger
    }

    /// Connects, records the server's facts and sends SYNC; the payload follows through `fill`.
    public func start(timeout: Double) throws {
        let client = try RESPClient(address: address)
        _ = try client.command(["PING"])
        let server = try client.info("server")
        let replication = try client.info("replication")
        let memory = try client.info("memory")
        let persistence = try client.info("persistence")
        facts = [
            "redis_version": server["redis_version"] ?? "unknown", "role": replication["role"] ?? "unknown",
            "master_repl_offset": replication["master_repl_offset"] ?? "0", "used_memory": memory["used_memory"] ?? "0",
            "aof": persistence["aof_enabled"] == "1" ? "yes" : "no", "capture": "replication",
            "address": address.description,
        ]
        client.setTimeout(timeout)
        logger.info("SYNC with \(address)")
        source = try client.requestReplicationPayload()
        facts["transfer"] = source!.isDiskless ? "diskless" : "disk"
        self.client = client
    }

    /// The next payload bytes; 0 at its end.
    public func fill(_ buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard source != nil else { throw EngineError(.failure, "replication capture was not started") }
        return try source!.read(into: buffer)
    }

    /// The snapshot's Redis metadata, given the summary of the RDB that was read.
    public func metadata(_ summary: RDBSummary?) throws -> [String: String] {
        guard let summary else { throw EngineError(.integrity, "the replication payload from \(address) is not a complete RDB") }
        var metadata = facts
        metadata.merge(RedisDirectoryValidator.metadata(of: summary, file: "dump.rdb")) { _, new in new }
        metadata["payload_bytes"] = String(source?.delivered ?? 0)
        client = nil
        return metadata
    }
}
