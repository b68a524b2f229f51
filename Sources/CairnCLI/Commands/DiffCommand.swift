import ArgumentParser
import CairnEngine
import CairnRepository

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Show what changed between two snapshots.",
        discussion: """
        Lines start with + (added), - (removed), M (content changed), U (metadata only), T (type changed).

        EXAMPLES:
          cairn diff 3f2a9c1e latest
        """)

    @OptionGroup var options: RepositoryOptions

    @Argument(help: "The older snapshot.")
    var first: String

    @Argument(help: "The newer snapshot.")
    var second: String

    @Flag(help: "Print a JSON array of changes.")
    var json = false

    func run() throws {
        let repository = try options.open()
        let old = try SnapshotQueries.resolve(first, in: repository)
        let new = try SnapshotQueries.resolve(second, in: repository)
        var changes: [[String: String]] = []
        var counts: [TreeQueries.Change: Int] = [:]
        try TreeQueries.diff(old, new, in: repository) { change, node in
            counts[change, default: 0] += 1
            let path = node.path.isEmpty ? "." : node.pathString
            if json { changes.append(["change": change.rawValue, "path": path]) } else { Console.out("\(change.rawValue)  \(path)") }
        }
        if json {
            Console.json(changes)
        } else if !options.quiet {
            Console.out("\(counts[.added] ?? 0) added, \(counts[.removed] ?? 0) removed, \(counts[.modified] ?? 0) modified, "
                        + "\(counts[.metadata] ?? 0) metadata only, \(counts[.typeChanged] ?? 0) type changed")
        }
    }
}
