import Testing

@Suite("--help of every command")
struct HelpTests {
    /// The subcommand names a help page lists under SUBCOMMANDS.
    func subcommands(in help: String) -> [String] {
        guard let section = help.components(separatedBy: "SUBCOMMANDS:\n").dropFirst().first else { return [] }
        return section.split(separator: "\n", omittingEmptySubsequences: false).compactMap { line in
            // "  name    Abstract": two spaces, then the name; continuation lines are indented further.
            guard line.hasPrefix("  "), !line.hasPrefix("   ") else { return nil }
            let name = line.dropFirst(2).prefix { $0 != " " }
            return name.isEmpty || name == "See" ? nil : String(name)
        }
    }

    /// Help is printed 80 columns wide (no terminal here), and ArgumentParser wraps a longer line
    /// to the left margin. Prose survives that, but an example command or a table row does not:
    /// `export A=1 B=2` split over two lines leaves B unexported for whoever pastes it. A line
    /// flush left straight after an indented one is such a break.
    @Test func everyPageFitsEightyColumnsWithoutBreakingExamplesOrTables() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch, initialize: false)
        var pages: [[String]] = [[]]
        var checked = 0
        while let command = pages.popLast() {
            let result = try cairn.run(command + ["--help"], environment: ["COLUMNS": "80"])
            #expect(result.status == 0, "cairn \(command.joined(separator: " ")) --help: \(result.stderr)")
            let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            for (previous, line) in zip(lines, lines.dropFirst()) where previous.hasPrefix(" ") && !line.isEmpty && !line.hasPrefix(" ") {
                Issue.record("cairn \(command.joined(separator: " ")) --help breaks a line: \"\(previous)\" / \"\(line)\"")
            }
            pages += subcommands(in: result.stdout).map { command + [$0] }
            checked += 1
        }
        // The root, its 17 commands, and the subcommands of key and repair.
        #expect(checked >= 20, "only \(checked) help pages were found")
    }
}
