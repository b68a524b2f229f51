import CairnBackends
import Foundation

/// An in-memory `ObjectStore` that fails on cue: each call first takes the next scripted
/// failure, if any, and throws it as a `StoreError`. Counts calls and the most at once.
final class ScriptedStore: ObjectStore, @unchecked Sendable {
    private let lock = NSLock()
    private var objects: [ObjectKey: [UInt8]] = [:]
    private var script: [RemoteFailure]
    private var inFlight = 0
    private(set) var calls = 0
    private(set) var mostAtOnce = 0
    /// How long each call takes (to let calls overlap).
    let delay: TimeInterval

    /// What it reports as worth having in flight (a remote store says 8).
    let readConcurrency: Int

    init(failing script: [RemoteFailure] = [], delay: TimeInterval = 0, readConcurrency: Int = 1) {
        self.script = script
        self.delay = delay
        self.readConcurrency = readConcurrency
    }

    /// Makes the next calls fail, in order.
    func failNext(_ failures: [RemoteFailure]) {
        lock.lock()
        script += failures
        lock.unlock()
    }

    var location: String { "memory://scripted" }
    var spoolDirectory: String { "/nonexistent" }

    private func call<T>(_ body: () throws -> T) throws -> T {
        lock.lock()
        calls += 1
        inFlight += 1
        mostAtOnce = max(mostAtOnce, inFlight)
        let failure = script.isEmpty ? nil : script.removeFirst()
        lock.unlock()
        defer { lock.lock(); inFlight -= 1; lock.unlock() }
        if delay > 0 { Thread.sleep(forTimeInterval: delay) }
        if let failure {
            if case .status(404, _) = failure { throw StoreError(.inputNotFound, "scripted 404", cause: failure) }
            throw StoreError(.failure, "scripted failure", cause: failure)
        }
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    func put(_ key: ObjectKey, bytes: [UInt8]) throws { try call { objects[key] = bytes } }
    func put(_ key: ObjectKey, contentsOf path: String) throws {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        try call { objects[key] = bytes }
    }
    func get(_ key: ObjectKey) throws -> [UInt8] {
        try call {
            guard let bytes = objects[key] else { throw StoreError(.inputNotFound, "\(key) is missing") }
            return bytes
        }
    }
    func get(_ key: ObjectKey, offset: Int64, length: Int) throws -> [UInt8] {
        let bytes = try get(key)
        return Array(bytes[Int(offset)..<(Int(offset) + length)])
    }
    func stat(_ key: ObjectKey) throws -> ObjectInfo? { try call { objects[key].map { ObjectInfo(key: key, size: Int64($0.count)) } } }
    func list(_ kind: ObjectKind) throws -> [ObjectInfo] {
        try call { objects.filter { $0.key.kind == kind }.map { ObjectInfo(key: $0.key, size: Int64($0.value.count)) } }
    }
    func delete(_ key: ObjectKey) throws { try call { objects[key] = nil } }
}

/// Records the waits a `RetryingStore` asks for instead of sleeping.
final class SleepRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [Double] = []
    var sleeps: [Double] { lock.lock(); defer { lock.unlock() }; return recorded }
    func sleep(_ seconds: Double) { lock.lock(); recorded.append(seconds); lock.unlock() }
}
