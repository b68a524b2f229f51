import CairnCore
import CairnRepository
import Glibc

/// One thing found by the walk, with its metadata as `lstat` reported it.
struct WalkEntry {
    /// Path inside the snapshot.
    var path: [UInt8]
    /// Where it is on this machine.
    var source: SystemPath
    var info: stat
}

/// Walks the backup roots depth first with each directory's entries sorted by name, which is
/// the component-wise path order of `TreeNode.pathOrder`. Memory is bounded by the depth times
/// the widest directory on the current path.
struct FileWalker {
    struct Root {
        var source: SystemPath
        /// Name of the root inside the snapshot; empty for a single directory root (its contents
        /// sit at the top of the snapshot).
        var name: [UInt8]
    }

    /// Problems that do not stop the walk (a file that vanished, a directory that cannot be read).
    var onError: (SystemPath, String) -> Void

    func walk(_ roots: [Root], visit: (WalkEntry) throws -> Void) throws {
        for root in roots.sorted(by: { TreeNode.pathOrder($0.name, $1.name) < 0 }) {
            guard let info = root.source.lstat() else {
                onError(root.source, errnoMessage(errno))
                continue
            }
            try visitRecursively(WalkEntry(path: root.name, source: root.source, info: info), visit: visit)
        }
    }

    private func visitRecursively(_ entry: WalkEntry, visit: (WalkEntry) throws -> Void) throws {
        try visit(entry)
        guard entry.info.isDirectory else { return }
        for name in listDirectory(entry.source) {
            let source = entry.source.appending(name)
            guard let info = source.lstat() else {
                onError(source, errnoMessage(errno))
                continue
            }
            let path = entry.path.isEmpty ? name : entry.path + [UInt8(ascii: "/")] + name
            try visitRecursively(WalkEntry(path: path, source: source, info: info), visit: visit)
        }
    }

    private func listDirectory(_ path: SystemPath) -> [[UInt8]] {
        guard let directory = path.withCString({ opendir($0) }) else {
            onError(path, errnoMessage(errno))
            return []
        }
        defer { closedir(directory) }
        var names: [[UInt8]] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw -> [UInt8] in
                let length = raw.firstIndex(of: 0) ?? raw.count
                return Array(raw[0..<length])
            }
            if name == [UInt8(ascii: ".")] || name == [UInt8(ascii: "."), UInt8(ascii: ".")] { continue }
            names.append(name)
        }
        return names.sorted { $0.lexicographicallyPrecedes($1) }
    }
}
