import Foundation

/// Counters the engine advances and the CLI renders (on a terminal: bytes, files, rate, ETA).
public final class WorkProgress: @unchecked Sendable {
    private let lock = NSLock()
    private var _files = 0
    private var _bytes: Int64 = 0
    private var _totalFiles = 0
    private var _totalBytes: Int64 = 0
    private var _current = ""

    public init() {}

    public struct Reading: Sendable {
        public var files: Int, bytes: Int64, totalFiles: Int, totalBytes: Int64, current: String
    }

    public var reading: Reading {
        lock.lock(); defer { lock.unlock() }
        return Reading(files: _files, bytes: _bytes, totalFiles: _totalFiles, totalBytes: _totalBytes, current: _current)
    }

    func setTotals(files: Int, bytes: Int64) {
        lock.lock(); _totalFiles = files; _totalBytes = bytes; lock.unlock()
    }

    func addBytes(_ count: Int64) {
        lock.lock(); _bytes += count; lock.unlock()
    }

    func finishFile(_ path: String) {
        lock.lock(); _files += 1; _current = path; lock.unlock()
    }
}
