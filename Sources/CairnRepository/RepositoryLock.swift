import CairnBackends
import CairnCodec
import CairnCore
import Foundation
import Glibc
import Logging

/// The `locks/ID` object: who holds the repository and how.
public struct LockRecord: Codable, Sendable, Equatable {
    public var exclusive: Bool
    public var hostname: String
    public var pid: Int32
    public var created: Date
    /// Refreshed while held; a lock not refreshed for `RepositoryLock.staleAfter` is stale.
    public var refreshed: Date
    public var command: String
}

/// A lock held on the repository: backups hold shared locks, prune and repair an exclusive one.
/// The lock object is refreshed (rewritten) every few minutes while held. A lock is stale when
/// its pid is dead on this host, or when it has not been refreshed for 30 minutes; stale locks
/// are removed with a message when they are in the way, so a crashed nightly run never wedges cron.
public final class RepositoryLock: @unchecked Sendable {
    public static let staleAfter: TimeInterval = 30 * 60
    static let refreshEvery: TimeInterval = 5 * 60

    private let store: any ObjectStore
    private let logger: Logger
    private let mutex = NSLock()
    private var key: ObjectKey
    private var record: LockRecord
    private var timer: DispatchSourceTimer?
    private var released = false

    private init(store: any ObjectStore, key: ObjectKey, record: LockRecord, logger: Logger) {
        self.store = store
        self.key = key
        self.record = record
        self.logger = logger
    }

    /// Takes a lock, waiting up to `wait` seconds for conflicting locks to go away.
    public static func acquire(store: any ObjectStore, exclusive: Bool, command: String, identity: Identity,
                               wait: TimeInterval, logger: Logger) throws -> RepositoryLock {
        let deadline = Date().addingTimeInterval(wait)
        var announced = false
        while true {
            try removeStaleLocks(store: store, hostname: identity.hostname, logger: logger)
            let now = Date()
            let record = LockRecord(exclusive: exclusive, hostname: identity.hostname, pid: getpid(), created: now,
                                    refreshed: now, command: command)
            if try conflicts(store: store, exclusive: exclusive, ignoring: nil).isEmpty {
                let key = try write(record, store: store)
                // Someone may have written a lock at the same moment: look again, back off if so.
                let others = try conflicts(store: store, exclusive: exclusive, ignoring: key)
                if others.isEmpty {
                    let lock = RepositoryLock(store: store, key: key, record: record, logger: logger)
                    lock.startRefreshing()
                    return lock
                }
                try? store.delete(key)
            }
            let holders = try conflicts(store: store, exclusive: exclusive, ignoring: nil)
            guard Date() < deadline else {
                let who = holders.map { "\($0.record.exclusive ? "exclusive" : "shared") lock by \($0.record.command) "
                    + "(pid \($0.record.pid) on \($0.record.hostname), since \(RFC3339.format($0.record.created)))" }
                throw RepositoryError(.locked, "the repository is locked: " + (who.isEmpty ? "by another process" : who.joined(separator: "; ")),
                                      hint: "wait for it to finish, pass --lock-wait 30m, or `cairn unlock` if that process is gone")
            }
            if !announced {
                logger.warning("waiting up to \(Int(wait))s for a conflicting lock to be released")
                announced = true
            }
            Thread.sleep(forTimeInterval: Double.random(in: 0.2...1.0))
        }
    }

    private static func write(_ record: LockRecord, store: any ObjectStore) throws -> ObjectKey {
        var random = [UInt8](repeating: 0, count: 32)
        for index in random.indices { random[index] = UInt8.random(in: 0...255) }
        let key = ObjectKey(.locks, Hex.encode(random))
        try store.put(key, bytes: Array(try JSONCoding.encoder.encode(record)))
        return key
    }

    struct Held {
        var key: ObjectKey
        var record: LockRecord
    }

    static func locks(store: any ObjectStore) throws -> [Held] {
        try store.list(.locks).compactMap { info in
            guard let bytes = try? store.get(info.key),
                  let record = try? JSONCoding.decoder.decode(LockRecord.self, from: Data(bytes)) else { return nil }
            return Held(key: info.key, record: record)
        }
    }

    private static func conflicts(store: any ObjectStore, exclusive: Bool, ignoring: ObjectKey?) throws -> [Held] {
        try locks(store: store).filter { $0.key != ignoring && (exclusive || $0.record.exclusive) }
    }

    /// True when the lock's process is gone (same host) or it has not been refreshed for long.
    static func isStale(_ record: LockRecord, hostname: String, now: Date) -> Bool {
        if now.timeIntervalSince(record.refreshed) > staleAfter { return true }
        if record.hostname == hostname && kill(record.pid, 0) != 0 && errno == ESRCH { return true }
        return false
    }

    @discardableResult
    static func removeStaleLocks(store: any ObjectStore, hostname: String, logger: Logger) throws -> Int {
        var removed = 0
        for held in try locks(store: store) where isStale(held.record, hostname: hostname, now: Date()) {
            logger.warning("removing stale lock of \(held.record.command) (pid \(held.record.pid) on \(held.record.hostname), last refreshed \(RFC3339.format(held.record.refreshed)))")
            try store.delete(held.key)
            removed += 1
        }
        return removed
    }

    /// Removes every lock (`cairn unlock --remove-all`), or only stale ones.
    public static func unlock(store: any ObjectStore, all: Bool, hostname: String, logger: Logger) throws -> Int {
        guard all else { return try removeStaleLocks(store: store, hostname: hostname, logger: logger) }
        let held = try locks(store: store)
        for lock in held { try store.delete(lock.key) }
        return held.count
    }

    private func startRefreshing() {
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue.global())
        timer.schedule(deadline: .now() + Self.refreshEvery, repeating: Self.refreshEvery)
        timer.setEventHandler { [weak self] in self?.refresh() }
        timer.resume()
        self.timer = timer
    }

    /// Writes a fresh lock object, then removes the old one, so a lock is never missing.
    private func refresh() {
        mutex.lock(); defer { mutex.unlock() }
        guard !released else { return }
        var updated = record
        updated.refreshed = Date()
        do {
            let newKey = try Self.write(updated, store: store)
            try? store.delete(key)
            key = newKey
            record = updated
        } catch {
            logger.warning("could not refresh the repository lock: \(error)")
        }
    }

    /// Releases the lock (idempotent).
    public func release() {
        mutex.lock(); defer { mutex.unlock() }
        guard !released else { return }
        released = true
        timer?.cancel()
        try? store.delete(key)
    }

    deinit { release() }
}
