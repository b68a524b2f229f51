import CairnBackends
import CairnCodec
import CairnCore
import Foundation
import Glibc
import Logging

/// The `locks/ID` object: who holds the repository and how. The format only grows: fields added
/// later are optional, so every version reads the locks of every other.
public struct LockRecord: Codable, Sendable, Equatable {
    public var exclusive: Bool
    public var hostname: String
    public var pid: Int32
    public var created: Date
    /// Refreshed while held; a lock not refreshed for `RepositoryLock.staleAfter` is stale.
    public var refreshed: Date
    public var command: String
    /// The holder's boot id (`boot_id`); absent in locks written before it was recorded.
    public var bootID: String?
    /// The holder's PID namespace (`pid_namespace`, e.g. `pid:[4026531836]`); absent in locks
    /// written before it was recorded.
    public var pidNamespace: String?

    enum CodingKeys: String, CodingKey {
        case exclusive, hostname, pid, created, refreshed, command, pidNamespace
        // The coders convert names to and from snake case: `bootId` is written as `boot_id` and
        // read back as `bootId` (a key named `bootID` would be written as `boot_i_d`).
        case bootID = "bootId"
    }
}

/// A lock held on the repository: backups hold shared locks, prune and repair an exclusive one.
/// The lock object is refreshed (rewritten) every few minutes while held. A lock is stale when it
/// has not been refreshed for 30 minutes, or when its pid is dead and the pid means the same
/// process here (see `holderIsGone`); stale locks are removed with a message when they are in the
/// way, so a crashed nightly run never wedges cron. A holder that is about to commit asks `verify()`
/// first, so a lock taken over by mistake stops the commit instead of losing data.
public final class RepositoryLock: VerifiableLock, @unchecked Sendable {
    public static let staleAfter: TimeInterval = 30 * 60
    static let refreshEvery: TimeInterval = 5 * 60

    private let store: any ObjectStore
    private let logger: Logger
    private let mutex = NSLock()
    private var key: ObjectKey
    private var record: LockRecord
    private var timer: DispatchSourceTimer?
    private var released = false
    /// Why the last refresh failed (nil once one succeeds); `verify()` then refuses.
    private var refreshFailure: (any Error)?
    /// Set when a refresh found the lock object gone: it is not written again.
    private var lost = false

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
            try removeStaleLocks(store: store, identity: identity, logger: logger)
            let now = Date()
            let record = LockRecord(exclusive: exclusive, hostname: identity.hostname, pid: getpid(), created: now,
                                    refreshed: now, command: command, bootID: identity.bootID,
                                    pidNamespace: identity.pidNamespace)
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
                let who = holders.map(\.description)
                throw RepositoryError(.locked, "the repository is locked: " + (who.isEmpty ? "by another process" : who.joined(separator: "; ")),
                                      hint: "wait for it to finish, pass --lock-wait 30m, or, only if you know that process is gone, "
                                        + "`cairn unlock --remove-all` (a lock from another host, container or older cairn is "
                                        + "stale only after 30 minutes without a refresh)")
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

    /// A lock object in the store: its record, or, when it could not be read or decoded, why.
    struct Held: CustomStringConvertible {
        var key: ObjectKey
        /// nil when unreadable: such a lock counts as exclusive (it may be a prune's), held until
        /// `staleAfter` past `written`.
        var record: LockRecord?
        var unreadable: (any Error)?
        /// When the store says the object was written (its listing time), nil if it does not say.
        var written: Date?

        var exclusive: Bool { record?.exclusive ?? true }

        var description: String {
            guard let record else {
                let since = written.map { "written \(RFC3339.format($0)), " } ?? ""
                return "lock object \(key) that cannot be read (\(unreadable.map { "\($0)" } ?? "unknown")); it counts as "
                    + "held, \(since)until 30 minutes after it was written by the store's listing time"
            }
            return "\(record.exclusive ? "exclusive" : "shared") lock by \(record.command) "
                + "(pid \(record.pid) on \(record.hostname), since \(RFC3339.format(record.created)))"
        }
    }

    /// Every lock object in the store. One that exists but cannot be read or decoded (a transient
    /// read failure, a damaged or foreign object) is not skipped: it may be a live lock, so it is
    /// returned as unreadable and counts as held. One that vanished since the listing is gone.
    static func locks(store: any ObjectStore) throws -> [Held] {
        try store.list(.locks).compactMap { info in
            do {
                let record = try JSONCoding.decoder.decode(LockRecord.self, from: Data(try store.get(info.key)))
                return Held(key: info.key, record: record, written: info.modified)
            } catch let failure as any CairnFailure where failure.category == .inputNotFound {
                return nil   // released or refreshed between the listing and the read
            } catch {
                return Held(key: info.key, record: nil, unreadable: error, written: info.modified)
            }
        }
    }

    private static func conflicts(store: any ObjectStore, exclusive: Bool, ignoring: ObjectKey?) throws -> [Held] {
        try locks(store: store).filter { $0.key != ignoring && (exclusive || $0.exclusive) }
    }

    /// A readable lock by its record; an unreadable one once the store's listing time says it
    /// was written more than `staleAfter` ago (never, where the store gives no time).
    static func isStale(_ held: Held, identity: Identity, now: Date) -> Bool {
        if let record = held.record { return isStale(record, identity: identity, now: now) }
        guard let written = held.written else { return false }
        return now.timeIntervalSince(written) > staleAfter
    }

    /// True when the lock has not been refreshed for long, or its process is provably gone.
    static func isStale(_ record: LockRecord, identity: Identity, now: Date) -> Bool {
        if now.timeIntervalSince(record.refreshed) > staleAfter { return true }
        return holderIsGone(record, identity: identity)
    }

    /// True when the lock's pid names no process, and that pid means the same process here: the
    /// lock was written on this boot of this host (`bootID`) in our PID namespace. A short host
    /// name alone proves nothing: db1.eu and db1.us share it, and so do containers with the host's
    /// name but their own PID namespace, whose pids this process cannot see (kill says ESRCH for a
    /// live backup there, and taking its lock over lets a prune delete the packs it is writing).
    ///
    /// A lock without boot id or namespace (written by an older Cairn, or where /proc was missing)
    /// is judged by its age alone, also from the same host: nothing says which namespace its pid
    /// was in, and a wrong takeover loses data, while waiting costs at most `staleAfter` after a
    /// crash (or a `cairn unlock --remove-all` by someone who knows the process is gone).
    static func holderIsGone(_ record: LockRecord, identity: Identity) -> Bool {
        guard record.hostname == identity.hostname,
              let bootID = record.bootID, bootID == identity.bootID,
              let namespace = record.pidNamespace, namespace == identity.pidNamespace else { return false }
        return kill(record.pid, 0) != 0 && errno == ESRCH
    }

    @discardableResult
    static func removeStaleLocks(store: any ObjectStore, identity: Identity, logger: Logger) throws -> Int {
        var removed = 0
        for held in try locks(store: store) where isStale(held, identity: identity, now: Date()) {
            if let record = held.record {
                logger.warning("removing stale lock of \(record.command) (pid \(record.pid) on \(record.hostname), last refreshed \(RFC3339.format(record.refreshed)))")
            } else {
                logger.warning("removing stale lock object \(held.key), which cannot be read and was written more than 30 minutes ago")
            }
            try store.delete(held.key)
            removed += 1
        }
        return removed
    }

    /// Removes every lock (`cairn unlock --remove-all`), or only stale ones.
    public static func unlock(store: any ObjectStore, all: Bool, identity: Identity, logger: Logger) throws -> Int {
        guard all else { return try removeStaleLocks(store: store, identity: identity, logger: logger) }
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

    /// Writes a fresh lock object, then removes the old one, so a lock is never missing. A lock
    /// object that is gone was removed by another process that judged it stale: it is not written
    /// again (that process may be deleting data meanwhile), and `verify()` fails from then on.
    private func refresh() {
        mutex.lock(); defer { mutex.unlock() }
        guard !released, !lost else { return }
        var updated = record
        updated.refreshed = Date()
        do {
            guard try store.stat(key) != nil else {
                lost = true
                logger.error("the repository lock (\(key)) was removed by another process that treated it as stale")
                return
            }
            let newKey = try Self.write(updated, store: store)
            try? store.delete(key)
            key = newKey
            record = updated
            refreshFailure = nil
        } catch {
            refreshFailure = error
            logger.warning("could not refresh the repository lock: \(error)")
        }
    }

    /// Returns when this lock is still held: its object is in the store and its last refresh (if
    /// any was due) succeeded. Writers call it right before each commit (an index object, the
    /// snapshot). Otherwise it throws a `.locked` error: another process may have judged the lock
    /// stale, removed it and deleted data this holder wrote, so nothing may be committed.
    public func verify() throws {
        mutex.lock(); defer { mutex.unlock() }
        let hint = "run it again; if this repeats, look for a prune or `cairn unlock` on another host or container "
            + "of the same name, or one by an older cairn"
        if let refreshFailure {
            throw RepositoryError(.locked, "could not refresh the repository lock, so another process may treat it as "
                                  + "stale and delete data this \(record.command) wrote; nothing was committed",
                                  hint: hint, cause: refreshFailure)
        }
        let present: Bool
        do {
            present = try !lost && !released && store.stat(key) != nil
        } catch {
            throw RepositoryError(.locked, "could not check that the repository lock (\(key)) is still held; "
                                  + "nothing was committed", hint: hint, cause: error)
        }
        guard present else {
            lost = true
            throw RepositoryError(.locked, "the repository lock of this \(record.command) (\(key)) is gone: another process "
                                  + "treated it as stale and removed it, and may have deleted data this \(record.command) "
                                  + "wrote; nothing was committed", hint: hint)
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
