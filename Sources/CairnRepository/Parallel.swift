import CairnCore
import Dispatch
import Foundation

/// Runs `body(worker, item)` for every item on `workers` threads (the caller's among them), each
/// worker taking the next few items as it becomes free, so a worker that the scheduler holds back
/// (two cores shared by the reading, hashing and sealing threads) does not leave the others
/// waiting at the end with fixed shares. `worker` lets each own non-thread-safe state (a zstd
/// context). Up to as many workers as cores run on dispatch's threads; more (for work that waits
/// on a server) on threads of their own.
enum Parallel {
    static func forEach(count: Int, workers: Int, _ body: @Sendable (_ worker: Int, _ item: Int) -> Void) {
        let stripes = max(1, min(workers, count))
        if stripes == 1 {
            for item in 0..<count { body(0, item) }
            return
        }
        if stripes > ProcessInfo.processInfo.activeProcessorCount {
            // More workers than cores are asked for work that waits (a remote store's ranged
            // GETs): `concurrentPerform` would run only as many at once as there are cores.
            withoutActuallyEscaping(body) { body in
                // `body` does not throw, so neither does this.
                try! BlockingWork.forEach(count: count, threads: stripes) { worker, item in body(worker, item) }
            }
            return
        }
        let next = ItemCounter()
        let step = max(1, min(16, count / (stripes * 8)))
        DispatchQueue.concurrentPerform(iterations: stripes) { worker in
            while true {
                let first = next.take(step)
                guard first < count else { return }
                for item in first..<min(count, first + step) { body(worker, item) }
            }
        }
    }
}

/// The next unclaimed item of a `Parallel.forEach`.
private final class ItemCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    func take(_ count: Int) -> Int {
        lock.lock()
        defer { lock.unlock() }
        let first = value
        value += count
        return first
    }
}

/// A fixed-size array written by parallel workers at distinct indexes. The slots live in one
/// allocation made up front: a Swift `Array` is not usable here, because
/// `withUnsafeMutableBufferPointer` moves the array out of its property for the duration of the
/// call, so two workers writing at once corrupt it (seen as heap corruption with small chunks).
final class ResultSlots<Element>: @unchecked Sendable {
    private let storage: UnsafeMutableBufferPointer<Element?>

    init(count: Int) {
        storage = .allocate(capacity: count)
        storage.initialize(repeating: nil)
    }

    deinit {
        storage.baseAddress?.deinitialize(count: storage.count)
        storage.deallocate()
    }

    subscript(index: Int) -> Element? {
        get { storage[index] }
        set { storage[index] = newValue }
    }

    var values: [Element] { storage.map { $0! } }
}

/// Per-worker state that is not thread-safe by itself but is only touched by one worker.
final class WorkerLocal<State>: @unchecked Sendable {
    private let states: [State]
    init(count: Int, make: () -> State) { states = (0..<count).map { _ in make() } }
    subscript(worker: Int) -> State { states[worker] }
}

/// A read-only view of bytes shared with workers for the duration of one call.
struct SharedBytes: @unchecked Sendable {
    let buffer: UnsafeRawBufferPointer
}

/// A writable view of bytes shared with workers that write disjoint ranges of it.
struct SharedMutableBytes: @unchecked Sendable {
    let buffer: UnsafeMutableRawBufferPointer
}
