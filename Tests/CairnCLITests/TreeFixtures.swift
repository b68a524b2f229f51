import Foundation
import Glibc

/// Builds trees of awkward files and compares trees by bytes and metadata.
enum TreeFixtures {
    /// Deterministic, mildly compressible bytes (like Redis values: text with repeats).
    static func bytes(count: Int, seed: UInt64) -> [UInt8] {
        var state = seed &+ 0x9E37_79B9_7F4A_7C15
        let words: [[UInt8]] = ["user:", "session:", "{\"id\":", "\"name\":\"", "cart", "42", "true", "\r\n"].map { Array($0.utf8) }
        // Plain loops into a raw buffer: these fixtures run to tens of MB, and a debug build spent
        // most of the test process's CPU in generic iterators (stride, `for … where`) here.
        return [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
            var index = 0
            while index < count {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                let pick = Int(state >> 59)
                if pick < words.count {
                    words[pick].withUnsafeBufferPointer { word in
                        let n = min(word.count, count - index)
                        UnsafeMutableRawPointer(out.baseAddress! + index).copyMemory(from: word.baseAddress!, byteCount: n)
                        index += n
                    }
                } else {
                    var value = state
                    let end = min(index + 5, count)
                    while index < end {
                        out[index] = UInt8(truncatingIfNeeded: value)
                        value >>= 8
                        index += 1
                    }
                }
            }
            initialized = count
        }
    }

    static func write(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno)!) }
        defer { close(fd) }
        var done = 0
        try bytes.withUnsafeBytes { raw in
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                guard n > 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno)!) }
                done += n
            }
        }
        fchmod(fd, mode)
    }

    static func makeDirectory(_ path: String, mode: mode_t = 0o755) {
        mkdir(path, mode)
        chmod(path, mode)
    }

    /// The tree of issue "round trip": empty and large files, a sparse file, symlinks, hard links,
    /// names with spaces, newlines and UTF-8, uid/gid 999 (as root), modes 0600/0640/0755.
    static func makeAwkwardTree(at root: String, largeFileSize: Int) throws {
        makeDirectory(root, mode: 0o750)
        makeDirectory(root + "/appendonlydir", mode: 0o755)
        makeDirectory(root + "/empty dir", mode: 0o700)
        try write(root + "/dump.bin", bytes(count: largeFileSize, seed: 1), mode: 0o640)
        try write(root + "/appendonlydir/appendonly.aof.1.base.bin", bytes(count: 300_000, seed: 2), mode: 0o600)
        try write(root + "/appendonlydir/appendonly.aof.1.incr.aof", bytes(count: 12_345, seed: 3), mode: 0o600)
        try write(root + "/appendonlydir/appendonly.aof.manifest",
                  Array("file appendonly.aof.1.base.bin seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n".utf8), mode: 0o600)
        try write(root + "/empty", [], mode: 0o644)
        try write(root + "/name with spaces.txt", Array("spaces\n".utf8), mode: 0o755)
        try write(root + "/new\nline", Array("newline\n".utf8), mode: 0o644)
        try write(root + "/ünïcødé-ファイル.bin", bytes(count: 5_000, seed: 4), mode: 0o644)
        // Sparse: 8 MiB hole, 4 KiB of data, then another hole to 16 MiB.
        let sparse = root + "/sparse.img"
        let fd = open(sparse, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        _ = bytes(count: 4096, seed: 5).withUnsafeBytes { pwrite(fd, $0.baseAddress, 4096, 8 << 20) }
        ftruncate(fd, 16 << 20)
        close(fd)
        symlink("dump.bin", root + "/link-to-dump")
        symlink("/nonexistent/target", root + "/dangling")
        link(root + "/appendonlydir/appendonly.aof.1.incr.aof", root + "/hardlink-to-incr")
        if geteuid() == 0 {
            for name in ["/dump.bin", "/appendonlydir", "/appendonlydir/appendonly.aof.1.incr.aof", "/empty"] {
                chown(root + name, 999, 999)
            }
            lchown(root + "/dangling", 999, 999)
        }
        // A fixed, nanosecond mtime on one file.
        var times = [timespec(tv_sec: 1_700_000_000, tv_nsec: 123_456_789), timespec(tv_sec: 1_700_000_000, tv_nsec: 123_456_789)]
        utimensat(AT_FDCWD, root + "/empty", &times, 0)
    }

    struct Entry: Equatable, CustomStringConvertible {
        var path: String, type: String, mode: UInt32, uid: UInt32, gid: UInt32, size: Int64
        var mtime: Int64, mtimeNanoseconds: Int, linkTarget: String?, contentHash: Int?, linkGroup: Int?
        var description: String { "\(path) \(type) \(String(mode, radix: 8)) \(uid):\(gid) \(size) \(mtime).\(mtimeNanoseconds) \(linkTarget ?? "") \(linkGroup ?? -1)" }
    }

    /// Every entry under `root` with its metadata and a content hash. Hard links are grouped by inode.
    static func snapshot(of root: String, includeRoot: Bool = false) -> [Entry] {
        var entries: [Entry] = []
        var inodeGroups: [UInt64: Int] = [:]
        func visit(_ relative: String) {
            let full = relative.isEmpty ? root : root + "/" + relative
            var info = stat()
            guard lstat(full, &info) == 0 else { return }
            let kind = info.st_mode & S_IFMT
            var type = "other", target: String? = nil, hash: Int? = nil, group: Int? = nil
            if kind == S_IFDIR { type = "dir" }
            if kind == S_IFLNK {
                type = "link"
                target = (try? FileManager.default.destinationOfSymbolicLink(atPath: full)) ?? "?"
            }
            if kind == S_IFREG {
                type = "file"
                hash = (try? Data(contentsOf: URL(fileURLWithPath: full)))?.hashValue
                if info.st_nlink > 1 {
                    if inodeGroups[UInt64(info.st_ino)] == nil { inodeGroups[UInt64(info.st_ino)] = inodeGroups.count }
                    group = inodeGroups[UInt64(info.st_ino)]
                }
            }
            if !relative.isEmpty || includeRoot {
                entries.append(Entry(path: relative, type: type, mode: UInt32(info.st_mode & 0o7777), uid: info.st_uid, gid: info.st_gid,
                                     size: kind == S_IFREG ? Int64(info.st_size) : 0,
                                     mtime: Int64(info.st_mtim.tv_sec), mtimeNanoseconds: info.st_mtim.tv_nsec,
                                     linkTarget: target, contentHash: hash, linkGroup: group))
            }
            if kind == S_IFDIR {
                let names = ((try? FileManager.default.contentsOfDirectory(atPath: full)) ?? []).sorted()
                for name in names { visit(relative.isEmpty ? name : relative + "/" + name) }
            }
        }
        visit("")
        return entries
    }

    /// Allocated bytes of a file (to see that holes stayed holes).
    static func allocatedBytes(_ path: String) -> Int64 {
        var info = stat()
        lstat(path, &info)
        return Int64(info.st_blocks) * 512
    }

    /// Path → bytes of every regular file under `root` (no metadata).
    static func contents(of root: String) -> [String: Data] {
        var result: [String: Data] = [:]
        for entry in snapshot(of: root) where entry.type == "file" {
            result[entry.path] = try? Data(contentsOf: URL(fileURLWithPath: root + "/" + entry.path))
        }
        return result
    }

    /// Bytes of the regular files under `root` (like `du -b`).
    static func diskUsage(_ root: String) -> Int64 {
        snapshot(of: root).reduce(0) { $0 + $1.size }
    }
}
