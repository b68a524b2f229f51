import CairnCore
import CairnEngine
import CairnRepository
import Foundation

/// How snapshots, sizes and times are shown.
enum Rendering {
    static func localTime(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        formatter.timeZone = TimeZone.current
        return formatter.string(from: date)
    }

    static func size(_ bytes: Int64) -> String { ByteCount(bytes).description }

    static func snapshotJSON(_ snapshot: Snapshot) -> [String: Any] {
        let document = snapshot.document
        var object: [String: Any] = [
            "id": snapshot.id.hex,
            "short_id": snapshot.id.short,
            "time": RFC3339.format(document.time),
            "hostname": document.hostname,
            "username": document.username,
            "tags": document.tags,
            "paths": document.paths,
            "files": document.summary.files,
            "directories": document.summary.directories,
            "bytes": document.summary.bytes,
            "added_bytes": document.summary.addedBytes,
            "added_stored_bytes": document.summary.addedStoredBytes,
            "duration_s": document.summary.durationSeconds,
            "program": document.program,
        ]
        if let parent = document.parent { object["parent"] = parent }
        if let redis = document.redis { object["redis"] = redis }
        return object
    }

    static func mode(_ node: TreeNode) -> String {
        let type: Character
        switch node.kind {
        case .directory: type = "d"
        case .symlink: type = "l"
        case .hardlink: type = "h"
        case .file: type = "-"
        }
        var text = String(type)
        let bits: [(UInt32, Character)] = [(0o400, "r"), (0o200, "w"), (0o100, "x"), (0o40, "r"), (0o20, "w"), (0o10, "x"),
                                          (0o4, "r"), (0o2, "w"), (0o1, "x")]
        for (bit, letter) in bits { text.append(node.mode & bit != 0 ? letter : "-") }
        return text
    }
}
