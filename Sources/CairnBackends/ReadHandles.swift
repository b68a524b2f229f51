import Foundation
import Glibc

/// Read descriptors kept open between ranged reads of the same objects: a restore of a 2 GB night
/// makes some 70,000 ranged reads of a few dozen packs, and opening and closing a pack each time
/// cost more than a short read from the page cache. At most `capacity` stay open; a descriptor in
/// use is never closed under its reader (it is closed when the last one is done, if it was
/// evicted or its object deleted meanwhile). Safe from any thread.
final class ReadHandles: @unchecked Sendable {
    private struct Entry {
        var fd: Int32
        var users = 0
        var lastUse = 0
        /// Evicted or deleted while in use: closed when its last user is done.
        var doomed = false
    }

    private let lock = NSLock()
    private var entries: [String: Entry] = [:]
    private var clock = 0
    let capacity: Int

    init(capacity: Int = 32) {
        self.capacity = capacity
    }

    deinit {
        for entry in entries.values { close(entry.fd) }
    }

    /// Runs `body` with an open read descriptor for `path`; `open` failures are returned as errno.
    func withDescriptor<T>(_ path: String, onOpenFailure: (Int32) -> any Error, _ body: (Int32) throws -> T) throws -> T {
        let fd = try acquire(path, onOpenFailure: onOpenFailure)
        defer { release(path, fd) }
        return try body(fd)
    }

    /// Forgets `path` (its object was deleted or replaced): its descriptor is closed once unused.
    func forget(_ path: String) {
        lock.lock()
        defer { lock.unlock() }
        guard var entry = entries.removeValue(forKey: path) else { return }
        if entry.users == 0 {
            close(entry.fd)
        } else {
            entry.doomed = true
            entries["\u{0}doomed-\(entry.fd)"] = entry
        }
    }

    private func acquire(_ path: String, onOpenFailure: (Int32) -> any Error) throws -> Int32 {
        lock.lock()
        clock += 1
        if var entry = entries[path] {
            entry.users += 1
            entry.lastUse = clock
            entries[path] = entry
            lock.unlock()
            return entry.fd
        }
        lock.unlock()
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw onOpenFailure(errno) }
        lock.lock()
        defer { lock.unlock() }
        if var entry = entries[path] {
            // Another thread opened it meanwhile: use that one.
            close(fd)
            entry.users += 1
            entries[path] = entry
            return entry.fd
        }
        let live = entries.values.filter { !$0.doomed }.count
        if live >= capacity, let victim = entries.filter({ !$0.value.doomed && $0.value.users == 0 })
            .min(by: { $0.value.lastUse < $1.value.lastUse }) {
            close(victim.value.fd)
            entries[victim.key] = nil
        }
        entries[path] = Entry(fd: fd, users: 1, lastUse: clock)
        return fd
    }

    private func release(_ path: String, _ fd: Int32) {
        lock.lock()
        defer { lock.unlock() }
        if var entry = entries[path], entry.fd == fd {
            entry.users -= 1
            entries[path] = entry
            return
        }
        let key = "\u{0}doomed-\(fd)"
        guard var entry = entries[key] else { return }
        entry.users -= 1
        if entry.users == 0 {
            close(entry.fd)
            entries[key] = nil
        } else {
            entries[key] = entry
        }
    }
}
