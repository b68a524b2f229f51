import Foundation
import Glibc

extension LocalStore {
    /// Deletes the regular files in `tmp/` last modified before `cutoff`: packs (`pack-*`) and
    /// objects (`put-*`) that a killed backup or prune was writing, which nothing else removes.
    public func removeStaleSpoolFiles(modifiedBefore cutoff: Date, dryRun: Bool) throws -> SpoolCleanup {
        var cleanup = SpoolCleanup()
        for (path, size) in try spoolFiles(modifiedBefore: cutoff) {
            if !dryRun && unlink(path) != 0 {
                if errno == ENOENT { continue }
                throw StoreError.fromErrno(errno, "unlink", path: path)
            }
            cleanup.files += 1
            cleanup.bytes += size
        }
        if !dryRun && cleanup.files > 0 { try FileIO.fsyncDirectory(spoolDirectory) }
        return cleanup
    }

    /// Paths and sizes of the regular files in `tmp/` last modified before `cutoff`.
    private func spoolFiles(modifiedBefore cutoff: Date) throws -> [(path: String, size: Int64)] {
        guard let dir = opendir(spoolDirectory) else {
            if errno == ENOENT { return [] }
            throw StoreError.fromErrno(errno, "opendir", path: spoolDirectory)
        }
        defer { closedir(dir) }
        var files: [(path: String, size: Int64)] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name == "." || name == ".." { continue }
            let path = spoolDirectory + "/" + name
            var info = Glibc.stat()
            guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            let modified = Date(timeIntervalSince1970: Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9)
            if modified < cutoff { files.append((path, Int64(info.st_size))) }
        }
        return files
    }
}
