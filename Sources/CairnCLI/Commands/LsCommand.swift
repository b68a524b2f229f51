import ArgumentParser
import CairnCore
import CairnEngine
import CairnRepository

struct LsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls",
        abstract: "List the files of a snapshot.",
        discussion: """
        EXAMPLES:
          cairn ls latest
          cairn ls --at 3D                 # the newest snapshot at least 3 days old
          cairn ls 3f2a9c1e --json
        """)

    @OptionGroup var options: RepositoryOptions

    @OptionGroup var selection: SnapshotSelectionOptions

    @Flag(help: "Print a JSON array of entries.")
    var json = false

    func run() throws {
        let repository = try options.open()
        let chosen = try selection.resolve(in: repository, quiet: options.quiet)
        var entries: [[String: Any]] = []
        try TreeQueries.list(chosen, in: repository) { node in
            if json {
                var entry: [String: Any] = ["path": node.pathString, "type": "\(node.kind)", "mode": node.mode,
                                            "uid": node.uid, "gid": node.gid, "size": node.size,
                                            "mtime": "\(node.modificationSeconds).\(node.modificationNanoseconds)"]
                if !node.linkTarget.isEmpty { entry["link_target"] = String(decoding: node.linkTarget, as: UTF8.self) }
                entries.append(entry)
            } else {
                var line = "\(Rendering.mode(node)) \(node.uid)/\(node.gid) \(String(node.size).leftPad(12)) "
                line += "\(Rendering.localTime(.init(timeIntervalSince1970: Double(node.modificationSeconds)))) "
                line += node.path.isEmpty ? "." : node.pathString
                if !node.linkTarget.isEmpty { line += " -> " + String(decoding: node.linkTarget, as: UTF8.self) }
                Console.out(line)
            }
        }
        if json { Console.json(entries) }
    }
}

extension String {
    func leftPad(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
