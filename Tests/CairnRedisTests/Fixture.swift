import Foundation
import Glibc

/// Files written by a real redis-server 7.0.15 (Fixtures/redis7-datadir, see
/// Fixtures/make-fixtures.sh), and small files in this target's Data folder.
enum Fixture {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    static let dataDirectory = root.appendingPathComponent("redis7-datadir")
    static let dump = dataDirectory.appendingPathComponent("dump.rdb")
    static let appendOnlyDirectory = dataDirectory.appendingPathComponent("appendonlydir")

    static func bytes(_ url: URL) throws -> [UInt8] { [UInt8](try Data(contentsOf: url)) }

    static func data(_ name: String) throws -> String {
        let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Data")!
        return try String(contentsOf: url, encoding: .utf8)
    }
}

/// A file in a fresh temporary directory, removed with the directory.
final class TemporaryFile {
    let directory: URL
    let url: URL

    init(_ bytes: [UInt8], name: String = "file") throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-redis-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        url = directory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
    }

    /// Runs `body` with a read-only descriptor for the file.
    func withDescriptor<T>(_ body: (Int32) throws -> T) throws -> T {
        let descriptor = open(url.path, O_RDONLY)
        guard descriptor >= 0 else { throw CocoaError(.fileReadUnknown) }
        defer { close(descriptor) }
        return try body(descriptor)
    }

    /// Runs `body` with a descriptor open for writing.
    func withWritableDescriptor<T>(_ body: (Int32) throws -> T) throws -> T {
        let descriptor = open(url.path, O_WRONLY)
        guard descriptor >= 0 else { throw CocoaError(.fileWriteUnknown) }
        defer { close(descriptor) }
        return try body(descriptor)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }
}

/// Opens a file read-only for the duration of `body`.
func withDescriptor<T>(_ url: URL, _ body: (Int32) throws -> T) throws -> T {
    let descriptor = open(url.path, O_RDONLY)
    guard descriptor >= 0 else { throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: url.path]) }
    defer { close(descriptor) }
    return try body(descriptor)
}
