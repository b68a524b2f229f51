import CairnCore
import Glibc

/// A path as raw bytes (file names need not be UTF-8), with helpers for the system calls.
struct SystemPath: Hashable {
    var bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }
    init(_ string: String) { self.bytes = Array(string.utf8) }

    var string: String { String(decoding: bytes, as: UTF8.self) }

    func appending(_ component: [UInt8]) -> SystemPath {
        if component.isEmpty { return self }
        if bytes.last == UInt8(ascii: "/") { return SystemPath(bytes + component) }
        return SystemPath(bytes + [UInt8(ascii: "/")] + component)
    }

    /// Calls `body` with a NUL-terminated C string of the path.
    func withCString<T>(_ body: (UnsafePointer<CChar>) throws -> T) rethrows -> T {
        try (bytes + [0]).withUnsafeBufferPointer { buffer in
            try buffer.withMemoryRebound(to: CChar.self) { try body($0.baseAddress!) }
        }
    }

    var parent: SystemPath {
        guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return SystemPath(".") }
        return slash == 0 ? SystemPath("/") : SystemPath(Array(bytes[..<slash]))
    }

    var lastComponent: [UInt8] {
        guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return bytes }
        return Array(bytes[(slash + 1)...])
    }

    /// The path with every symlink in it resolved (realpath(3)); nil when it cannot be (a dangling link).
    func resolved() -> SystemPath? {
        guard let pointer = withCString({ realpath($0, nil) }) else { return nil }
        defer { free(pointer) }
        return SystemPath(String(cString: pointer))
    }

    func lstat() -> stat? {
        var info = Glibc.stat()
        let result = withCString { Glibc.lstat($0, &info) }
        return result == 0 ? info : nil
    }

    /// The target of the symlink at this path (empty when it is none or cannot be read).
    func linkTarget() -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = withCString { source in
            buffer.withUnsafeMutableBufferPointer { readlink(source, UnsafeMutableRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), $0.count) }
        }
        return count > 0 ? Array(buffer[0..<count]) : []
    }
}

extension stat {
    var isDirectory: Bool { (st_mode & S_IFMT) == S_IFDIR }
    var isRegularFile: Bool { (st_mode & S_IFMT) == S_IFREG }
    var isSymlink: Bool { (st_mode & S_IFMT) == S_IFLNK }
}

func errnoMessage(_ code: Int32) -> String { String(cString: strerror(code)) }
