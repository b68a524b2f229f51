import Dispatch

/// Runs `body(worker, item)` for every item, spread over `workers` threads in stripes so each
/// worker can own non-thread-safe state (a zstd context) indexed by `worker`.
enum Parallel {
    static func forEach(count: Int, workers: Int, _ body: @Sendable (_ worker: Int, _ item: Int) -> Void) {
        let stripes = max(1, min(workers, count))
        if stripes == 1 {
            for item in 0..<count { body(0, item) }
            return
        }
        DispatchQueue.concurrentPerform(iterations: stripes) { worker in
            var item = worker
            while item < count {
                body(worker, item)
                item += stripes
            }
        }
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
