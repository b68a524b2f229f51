import CairnRedis
import Foundation
import Logging

/// `backup --redis URL --via replication`: pulls the RDB over the replication protocol (as a
/// replica would, RDB only) and hands it to the chunker as it arrives — no temporary file, and no
/// access to the server's disk needed. A reader thread walks the RDB (structure to EOF, CRC64)
/// while the backup thread chunks the same bytes; if validation fails, the stream fails, and the
/// backup commits nothing.
public final class ReplicationCapture: @unchecked Sendable {  // state crosses threads once, ordered by `finished`
    private let address: RedisAddress
    private let logger: Logger
    private let channel = ByteChannel(capacity: 8)
    private let finished = DispatchSemaphore(value: 0)
    private var summary: RDBSummary?
    private var failure: Error?
    private var facts: [String: String] = [:]
    private var payloadBytes: Int64 = 0
    private var diskless = false

    public init(address: RedisAddress, logger: Logger) {
        self.address = address
        self.logger = logger
    }

    /// Connects, records the server's facts, sends SYNC, and starts validating the payload.
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
        var source = try client.requestReplicationPayload()
        diskless = source.isDiskless
        let channel = self.channel
        source.tap = { bytes in channel.push(Array(bytes)) }
        let handoff = Handoff((source, client))
        let thread = Thread { [self] in
            do {
                summary = try RDBReader.read(handoff.value.0, name: "the RDB from \(address)")
                channel.close(nil)
            } catch {
                failure = error
                channel.close(error)
            }
            withExtendedLifetime(handoff.value.1) {}   // the connection lives until the payload is read
            finished.signal()
        }
        thread.stackSize = 4 << 20
        thread.start()
    }

    /// Fills `buffer` with payload bytes; 0 at the end; throws if the payload is invalid.
    public func fill(_ buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = try channel.pull(into: buffer)
        payloadBytes += Int64(count)
        return count
    }

    /// The snapshot's Redis metadata; valid once `fill` returned 0.
    public func metadata() throws -> [String: String] {
        finished.wait()
        if let failure { throw failure }
        guard let summary else { throw EngineError(.integrity, "the replication payload ended before the RDB did") }
        var metadata = facts
        metadata.merge(RedisDirectoryValidator.metadata(of: summary, file: "dump.rdb")) { _, new in new }
        metadata["transfer"] = diskless ? "diskless" : "disk"
        metadata["payload_bytes"] = String(payloadBytes)
        return metadata
    }
}

/// Moves a value to one other thread, once.
final class Handoff<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// A bounded, blocking queue of byte pieces from one producer thread to one consumer.
final class ByteChannel: @unchecked Sendable {
    private let condition = NSCondition()
    private var pieces: [[UInt8]] = []
    private var head: [UInt8] = []
    private var headOffset = 0
    private var closed = false
    private var error: Error?
    private let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    func push(_ piece: [UInt8]) {
        condition.lock()
        defer { condition.unlock() }
        while pieces.count >= capacity && !closed { condition.wait() }
        pieces.append(piece)
        condition.broadcast()
    }

    func close(_ error: Error?) {
        condition.lock()
        defer { condition.unlock() }
        closed = true
        self.error = error
        condition.broadcast()
    }

    func pull(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if headOffset == head.count {
            condition.lock()
            while pieces.isEmpty && !closed { condition.wait() }
            if pieces.isEmpty {
                let error = self.error
                condition.unlock()
                if let error { throw error }
                return 0
            }
            head = pieces.removeFirst()
            headOffset = 0
            condition.broadcast()
            condition.unlock()
        }
        let count = min(buffer.count, head.count - headOffset)
        head.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + headOffset, byteCount: count) }
        headOffset += count
        return count
    }
}
