import Glibc

/// Linux's O_DIRECT, which Swift's Glibc module does not import (it is behind _GNU_SOURCE); 0
/// where it is not known.
#if arch(x86_64) || arch(i386)
public let systemODirect: Int32 = 0o40000
#elseif arch(arm64) || arch(arm)
public let systemODirect: Int32 = 0o200000
#else
public let systemODirect: Int32 = 0
#endif

/// Writes all of `bytes` at `offset` of `fd`; returns 0, or the errno of the write that failed.
/// A file opened with O_DIRECT whose file system refuses a direct write after all (EINVAL) goes on
/// through the page cache: callers write whole blocks, so nothing else changes.
public func positionalWriteAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int64) -> Int32 {
    var done = 0
    while done < bytes.count {
        let written = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
        if written < 0 {
            let code = errno
            if code == EINTR { continue }
            let flags = fcntl(fd, F_GETFL)
            if code == EINVAL && flags >= 0 && flags & systemODirect != 0 {
                _ = fcntl(fd, F_SETFL, flags & ~systemODirect)
                continue
            }
            return code
        }
        done += written
    }
    return 0
}

/// Thin, errno-checked wrappers over the POSIX calls the local store needs.
enum FileIO {
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        var done = 0
        while done < bytes.count {
            let written = write(fd, bytes.baseAddress! + done, bytes.count - done)
            if written < 0 {
                if errno == EINTR { continue }
                throw StoreError.fromErrno(errno, "write", path: path)
            }
            done += written
        }
    }

    static func readExactly(_ fd: Int32, count: Int, offset: Int64, path: String) throws -> [UInt8] {
        // Not zero-filled first: every byte is read over (a restore reads ~1 GB this way), and a
        // failure throws the array away.
        try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var done = 0
            while done < count {
                let got = pread(fd, buffer.baseAddress! + done, count - done, off_t(offset) + off_t(done))
                if got < 0 {
                    if errno == EINTR { continue }
                    throw StoreError.fromErrno(errno, "read", path: path)
                }
                if got == 0 {
                    throw StoreError(.integrity, "\(path) is shorter than expected (wanted \(count) bytes at offset \(offset))")
                }
                done += got
            }
            initialized = count
        }
    }

    static func fsyncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw StoreError.fromErrno(errno, "open directory", path: path) }
        defer { close(fd) }
        if fsync(fd) != 0 && errno != EINVAL { throw StoreError.fromErrno(errno, "fsync", path: path) }
    }

    /// mkdir -p with the given mode; existing directories are fine.
    static func makeDirectories(_ path: String, mode: mode_t) throws {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, mode) != 0 && errno != EEXIST {
                throw StoreError.fromErrno(errno, "mkdir", path: current)
            }
        }
    }
}
