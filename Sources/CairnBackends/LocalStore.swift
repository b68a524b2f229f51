import Foundation
import Glibc
import CairnCore

/// A repository in a local directory. Files are written under a temporary name in `tmp/`,
/// fsynced, renamed into place, and the directory fsynced; files are 0600 and folders 0700.
public struct LocalStore: ObjectStore {
    public let root: String
    public var location: String { root }
    /// Packs stay open between ranged reads (see `ReadHandles`).
    private let handles = ReadHandles()
    public var spoolDirectory: String { root + "/tmp" }
    /// A spool file is renamed into place: nothing reads it back during the backup.
    public var spoolIsFinal: Bool { true }

    /// Opens (does not create) the store at `root`.
    public init(root: String) {
        var trimmed = root
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.root = trimmed
    }

    /// Creates the folder layout; fails if `root` exists and holds anything but an empty layout
    /// (the folders an interrupted `create` or `init` left, with no file in them), so creating
    /// again after a crash works, and nothing is ever written into a folder of other files.
    public func create() throws {
        var info = Glibc.stat()
        if lstat(root, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFDIR else {
                throw StoreError(.usage, "\(root) exists and is not a directory", hint: "choose a new path for the repository")
            }
            let layout = Set(ObjectKind.allCases.filter { $0 != .config }.map(\.rawValue) + ["tmp"])
            for name in try Self.entries(of: root) {
                guard layout.contains(name), try Self.holdsNoFile(root + "/" + name) else {
                    throw StoreError(.usage, "\(root) is not empty", hint: "choose a new or empty directory for the repository")
                }
            }
        }
        try FileIO.makeDirectories(root, mode: 0o700)
        for kind in ObjectKind.allCases where kind != .config {
            try FileIO.makeDirectories(root + "/" + kind.rawValue, mode: 0o700)
        }
        try FileIO.makeDirectories(spoolDirectory, mode: 0o700)
        for high in 0..<256 {
            let name = Hex.encode([UInt8(high)])
            try FileIO.makeDirectories(root + "/data/" + name, mode: 0o700)
        }
        try FileIO.fsyncDirectory(root)
    }

    /// The names in a folder, without `.` and `..`.
    private static func entries(of path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw StoreError.fromErrno(errno, "opendir", path: path) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// True for a folder with nothing but folders in it, down to the bottom (`data/` and its 256
    /// fan-out folders, empty).
    private static func holdsNoFile(_ path: String) throws -> Bool {
        var info = Glibc.stat()
        guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else { return false }
        for name in try entries(of: path) where !(try holdsNoFile(path + "/" + name)) { return false }
        return true
    }

    private func fullPath(_ key: ObjectKey) -> String { root + "/" + key.path }

    private func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return String(path[..<slash])
    }

    private func temporaryPath() -> String {
        var random = [UInt8](repeating: 0, count: 12)
        for index in random.indices { random[index] = UInt8.random(in: 0...255) }
        return spoolDirectory + "/put-" + Hex.encode(random)
    }

    public func put(_ key: ObjectKey, bytes: [UInt8]) throws {
        let temporary = temporaryPath()
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StoreError.fromErrno(errno, "create", path: temporary) }
        do {
            try bytes.withUnsafeBytes { try FileIO.writeAll(fd, $0, path: temporary) }
            guard fsync(fd) == 0 else { throw StoreError.fromErrno(errno, "fsync", path: temporary) }
            close(fd)
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        try moveIntoPlace(temporary, key)
    }

    public func put(_ key: ObjectKey, contentsOf path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw StoreError.fromErrno(errno, "open", path: path) }
        let synced = fsync(fd) == 0
        let syncErrno = errno
        close(fd)
        guard synced else { throw StoreError.fromErrno(syncErrno, "fsync", path: path) }
        chmod(path, 0o600)
        try moveIntoPlace(path, key)
    }

    private func moveIntoPlace(_ temporary: String, _ key: ObjectKey) throws {
        let destination = fullPath(key)
        let folder = directory(of: destination)
        defer { handles.forget(destination) }   // a descriptor kept open would still read what was replaced
        if rename(temporary, destination) != 0 {
            let code = errno
            if code == ENOENT {
                try FileIO.makeDirectories(folder, mode: 0o700)
                if rename(temporary, destination) == 0 {
                    try FileIO.fsyncDirectory(folder)
                    return
                }
            }
            unlink(temporary)
            throw StoreError.fromErrno(code, "rename", path: destination)
        }
        try FileIO.fsyncDirectory(folder)
    }

    public func get(_ key: ObjectKey) throws -> [UInt8] {
        let path = fullPath(key)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw missingOrError(errno, key, path) }
        defer { close(fd) }
        var info = Glibc.stat()
        guard fstat(fd, &info) == 0 else { throw StoreError.fromErrno(errno, "stat", path: path) }
        return try FileIO.readExactly(fd, count: Int(info.st_size), offset: 0, path: path)
    }

    public func get(_ key: ObjectKey, offset: Int64, length: Int) throws -> [UInt8] {
        let path = fullPath(key)
        return try handles.withDescriptor(path, onOpenFailure: { missingOrError($0, key, path) }) { fd in
            try FileIO.readExactly(fd, count: length, offset: offset, path: path)
        }
    }

    public func prefetch(_ key: ObjectKey, offset: Int64, length: Int) {
        let path = fullPath(key)
        _ = try? handles.withDescriptor(path, onOpenFailure: { missingOrError($0, key, path) }) { fd in
            posix_fadvise(fd, off_t(offset), off_t(length), POSIX_FADV_WILLNEED)
        }
    }

    private func missingOrError(_ code: Int32, _ key: ObjectKey, _ path: String) -> StoreError {
        if code == ENOENT {
            return StoreError(.inputNotFound, "object \(key.path) is missing from the repository at \(root)",
                              hint: "run `cairn check` to see what is affected")
        }
        return StoreError.fromErrno(code, "open", path: path)
    }

    public func stat(_ key: ObjectKey) throws -> ObjectInfo? {
        var info = Glibc.stat()
        let path = fullPath(key)
        if lstat(path, &info) != 0 {
            if errno == ENOENT { return nil }
            throw StoreError.fromErrno(errno, "stat", path: path)
        }
        return ObjectInfo(key: key, size: Int64(info.st_size))
    }

    public func list(_ kind: ObjectKind) throws -> [ObjectInfo] {
        switch kind {
        case .config:
            return try stat(.config).map { [$0] } ?? []
        case .data:
            var all: [ObjectInfo] = []
            for high in 0..<256 {
                all += try listDirectory(root + "/data/" + Hex.encode([UInt8(high)]), kind: .data)
            }
            return all
        default:
            return try listDirectory(root + "/" + kind.rawValue, kind: kind)
        }
    }

    private func listDirectory(_ path: String, kind: ObjectKind) throws -> [ObjectInfo] {
        guard let dir = opendir(path) else {
            if errno == ENOENT { return [] }
            throw StoreError.fromErrno(errno, "opendir", path: path)
        }
        defer { closedir(dir) }
        var result: [ObjectInfo] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name.hasPrefix(".") { continue }
            var info = Glibc.stat()
            guard lstat(path + "/" + name, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            let modified = Date(timeIntervalSince1970: Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9)
            result.append(ObjectInfo(key: ObjectKey(kind, name), size: Int64(info.st_size), modified: modified))
        }
        return result
    }

    public func delete(_ key: ObjectKey) throws {
        let path = fullPath(key)
        handles.forget(path)
        if unlink(path) != 0 && errno != ENOENT { throw StoreError.fromErrno(errno, "unlink", path: path) }
        try FileIO.fsyncDirectory(directory(of: path))
    }

    /// True when `root` holds a repository config.
    public var exists: Bool { ((try? stat(.config)) ?? nil) != nil }
}
