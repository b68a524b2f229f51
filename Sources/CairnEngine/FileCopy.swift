import Foundation
import Glibc

/// Hard links (or copies, across filesystems) used to freeze files Redis may replace or append to.
enum FileCopy {
    /// Links `source` to `destination`; copies when linking is not possible.
    static func linkOrCopy(_ source: String, _ destination: String) throws {
        if link(source, destination) == 0 { return }
        guard errno == EXDEV || errno == EPERM || errno == EMLINK else {
            throw EngineError(errno == ENOENT ? .inputNotFound : .failure, "cannot link \(source): \(errnoMessage(errno))")
        }
        try copyPrefix(source, destination, length: nil)
    }

    /// Copies the first `length` bytes (all when nil), keeping mode, owner and mtime.
    static func copyPrefix(_ source: String, _ destination: String, length: Int64?) throws {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw EngineError(errno == ENOENT ? .inputNotFound : .failure, "cannot open \(source): \(errnoMessage(errno))") }
        defer { close(input) }
        var info = stat()
        fstat(input, &info)
        let output = open(destination, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw EngineError(errno == ENOSPC ? .noSpace : .failure, "cannot create \(destination): \(errnoMessage(errno))") }
        defer { close(output) }
        var remaining = length ?? Int64(info.st_size)
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while remaining > 0 {
            let got = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, Int(min(Int64($0.count), remaining))) }
            if got < 0 { throw EngineError(.failure, "cannot read \(source): \(errnoMessage(errno))") }
            if got == 0 { break }
            var written = 0
            while written < got {
                let count = buffer.withUnsafeBytes { write(output, $0.baseAddress! + written, got - written) }
                if count < 0 { throw EngineError(errno == ENOSPC ? .noSpace : .failure, "cannot write \(destination): \(errnoMessage(errno))") }
                written += count
            }
            remaining -= Int64(got)
        }
        fchown(output, info.st_uid, info.st_gid)
        fchmod(output, info.st_mode & 0o7777)
        var times = [info.st_atim, info.st_mtim]
        futimens(output, &times)
    }

    /// Creates `path` with the mode and owner of `model`.
    static func makeDirectory(_ path: String, like model: String) throws {
        var info = stat()
        let hasModel = lstat(model, &info) == 0
        guard mkdir(path, 0o700) == 0 else { throw EngineError(.failure, "cannot create \(path): \(errnoMessage(errno))") }
        if hasModel {
            chown(path, info.st_uid, info.st_gid)
            chmod(path, info.st_mode & 0o7777)
        }
    }

    static func copyTimes(from model: String, to path: String) {
        var info = stat()
        guard lstat(model, &info) == 0 else { return }
        var times = [info.st_atim, info.st_mtim]
        utimensat(AT_FDCWD, path, &times, 0)
    }

    static func removeTree(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }
}
