import CairnRepository

/// Keeps a restore inside its target whatever the snapshot's tree says. Cairn writes relative
/// paths with no `.` or `..`, and nothing below a symlink; a tree that breaks this (written by
/// another key holder of a shared repository, or damaged) could otherwise make a restore run as
/// root write anywhere: through `../`, an absolute path, a hard link to an outside file, or a
/// symlink it restored first (`a` → `/etc`, then `a/cron.d/x`). So every path, and a hard link's
/// target, must be plain and must not lie below a symlink this restore made. (Symlinks that were
/// in the target before are the user's, and followed as before.)
struct RestorePaths {
    /// Symlinks this restore made, by path in the snapshot.
    private var symlinks: Set<[UInt8]> = []

    /// Throws an `.integrity` error when `node` (or, for a hard link, what it links to) would be
    /// written or read outside the target; remembers the symlinks it is about to make.
    mutating func check(_ node: TreeNode) throws {
        try check(node.path, what: "path")
        if node.kind == .hardlink { try check(node.linkTarget, what: "hard link target") }
        if node.kind == .symlink { symlinks.insert(node.path) }
    }

    private func check(_ path: [UInt8], what: String) throws {
        let components = path.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        let plain = path.first != UInt8(ascii: "/") && !components.contains { component in
            component.isEmpty || component.elementsEqual([UInt8(ascii: ".")]) || component.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")])
        }
        guard plain else { throw Self.unsafe(path, what, "is not a plain relative path") }
        guard !symlinks.isEmpty else { return }
        var parent: [UInt8] = []
        for component in components.dropLast() {
            if !parent.isEmpty { parent.append(UInt8(ascii: "/")) }
            parent += component
            if symlinks.contains(parent) {
                throw Self.unsafe(path, what, "lies below \(String(decoding: parent, as: UTF8.self)), a symlink the snapshot holds")
            }
        }
    }

    private static func unsafe(_ path: [UInt8], _ what: String, _ reason: String) -> EngineError {
        EngineError(.integrity, "the snapshot's \(what) \(String(decoding: path, as: UTF8.self)) \(reason): restoring it could "
                    + "write outside the target, so the restore stops here",
                    hint: "cairn never writes such a tree; the snapshot is damaged or was written by something else "
                      + "(check who holds keys to this repository); nothing outside the target was touched")
    }
}
