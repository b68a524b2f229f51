import CairnCore

/// The process exit codes: one table, printed by `cairn --help`. Codes are never reused or renumbered.
public enum ExitCodes {
    public static let table: [(code: Int32, category: FailureCategory?, meaning: String)] = [
        (0, nil, "success"),
        (1, .failure, "failure (I/O error, unexpected condition)"),
        (3, .partial, "snapshot written, but some files could not be read or changed while read"),
        (4, .inputNotFound, "a path to back up does not exist or cannot be read"),
        (5, .targetConflict, "restore target is a file, or files exist there (use --force)"),
        (6, .noSpace, "no space left on a device"),
        (7, nil, "nothing to do: forget removed no snapshot and prune found nothing to reclaim (never with --dry-run)"),
        (10, .repositoryNotFound, "repository does not exist or is not a Cairn repository"),
        (11, .locked, "repository is locked by another process"),
        (12, .wrongPassword, "wrong password"),
        (13, .integrity, "data failed verification (check found damage, restore hit a damaged chunk)"),
        (14, .redis, "Redis refused, failed or could not be reached"),
        (15, .noMatch, "no snapshot or key matched the selection"),
        (64, .usage, "usage error (bad arguments)"),
    ]

    /// Success with nothing done (`forget`, `prune`), so cron wrappers can tell the two apart.
    static let nothingToDo: Int32 = 7

    public static func code(for category: FailureCategory) -> Int32 {
        table.first { $0.category == category }?.code ?? 1
    }

    /// The table for `--help`, meanings wrapped under themselves: the help is printed 80 columns
    /// wide, and a longer line would be wrapped to the left margin, out of the table.
    static var helpText: String {
        let indent = "       "
        return "EXIT CODES:\n" + table.map { entry in
            var lines: [String] = []
            var line = "  " + String(entry.code).padding(toLength: 4, withPad: " ", startingAt: 0)
            for word in entry.meaning.split(separator: " ") {
                if line.count + 1 + word.count > 80 {
                    lines.append(line)
                    line = indent + word
                } else {
                    line += " " + word
                }
            }
            lines.append(line)
            return lines.joined(separator: "\n")
        }.joined(separator: "\n")
    }
}
