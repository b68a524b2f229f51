import Foundation

/// Runs work that blocks on something other than the CPU (a request waiting for a server) on
/// threads of its own, as many at once as asked.
///
/// `DispatchQueue.concurrentPerform` is the wrong tool for that: it runs at most as many
/// iterations at once as the machine has cores (eight iterations sleeping half a second each took
/// 2.0 s on this two-core machine), right for hashing, wrong for round trips.
public enum BlockingWork {
    /// Calls `body(item)` for every item of `0..<count` on up to `threads` threads, the caller's
    /// among them, each taking the next item as it becomes free. After the first error no item is
    /// started; that error is thrown once the items already running have returned.
    public static func forEach(count: Int, threads: Int, _ body: @escaping @Sendable (Int) throws -> Void) throws {
        try forEach(count: count, threads: threads) { _, item in try body(item) }
    }

    /// `forEach(count:threads:_:)`, telling `body` which thread calls it (0 for the caller, then
    /// 1 up to `threads - 1`), so each thread can own state that is not thread-safe.
    public static func forEach(count: Int, threads: Int,
                               _ body: @escaping @Sendable (_ thread: Int, _ item: Int) throws -> Void) throws {
        let queue = ItemQueue(count: count)
        // Threads joined before returning, never detached: once this returns, no thread holds
        // `body`, so a caller may hand in a closure that only lives for the call
        // (`withoutActuallyEscaping`).
        var started: [pthread_t] = []
        for thread in 1..<max(1, min(threads, count)) {
            let start = Unmanaged.passRetained(ThreadStart { queue.drain { try body(thread, $0) } }).toOpaque()
            var handle = pthread_t()
            guard pthread_create(&handle, nil, { context in
                Unmanaged<ThreadStart>.fromOpaque(context!).takeRetainedValue().run()
                return nil
            }, start) == 0 else {
                // No thread to be had (a process at its limit): the threads there are do the work.
                Unmanaged<ThreadStart>.fromOpaque(start).release()
                break
            }
            started.append(handle)
        }
        queue.drain { try body(0, $0) }
        for handle in started { pthread_join(handle, nil) }
        if let failure = queue.failure { throw failure }
    }

    /// `transform(item)` for every item of `0..<count`, in item order, computed as `forEach` does.
    public static func map<T: Sendable>(count: Int, threads: Int, _ transform: @escaping @Sendable (Int) throws -> T) throws -> [T] {
        let results = Slots<T>(count: count)
        try forEach(count: count, threads: threads) { item in results.set(item, try transform(item)) }
        return results.values
    }
}

/// What a thread of `forEach` runs, handed to it as a retained pointer.
private final class ThreadStart {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}

/// The next item to start, and the first failure, shared by the threads of one `forEach`.
private final class ItemQueue: @unchecked Sendable {
    private let lock = NSLock()
    private let count: Int
    private var next = 0
    private var firstFailure: (any Error)?

    init(count: Int) { self.count = count }

    var failure: (any Error)? { lock.withLock { firstFailure } }

    func drain(_ body: (Int) throws -> Void) {
        while let item = take() {
            do {
                try body(item)
            } catch {
                lock.withLock { if firstFailure == nil { firstFailure = error } }
            }
        }
    }

    private func take() -> Int? {
        lock.withLock {
            guard firstFailure == nil, next < count else { return nil }
            next += 1
            return next - 1
        }
    }
}

/// One result per item, written by whichever thread computed it.
private final class Slots<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [T?]

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ item: Int, _ value: T) { lock.withLock { slots[item] = value } }

    /// Every slot's value; only called once every item succeeded.
    var values: [T] { lock.withLock { slots.map { $0! } } }
}
