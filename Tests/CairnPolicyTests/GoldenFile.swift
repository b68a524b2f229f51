import CairnPolicy
import Foundation
import Testing

/// Golden files in Tests/CairnPolicyTests/Golden. Compared through `Bundle.module`; with
/// `CAIRN_UPDATE_GOLDEN=1` in the environment the test writes the file into the source tree
/// instead (then rebuild, so the bundle picks it up).
enum GoldenFile {
    static var updating: Bool { ProcessInfo.processInfo.environment["CAIRN_UPDATE_GOLDEN"] == "1" }

    static func check(_ actual: String, against name: String, sourceLocation: SourceLocation = #_sourceLocation,
                      filePath: String = #filePath) throws {
        if updating {
            let folder = URL(fileURLWithPath: filePath).deletingLastPathComponent().appendingPathComponent("Golden")
            try actual.write(to: folder.appendingPathComponent("\(name).txt"), atomically: true, encoding: .utf8)
            return
        }
        let url = try #require(Bundle.module.url(forResource: name, withExtension: "txt", subdirectory: "Golden"),
                               "Golden/\(name).txt is missing; run with CAIRN_UPDATE_GOLDEN=1", sourceLocation: sourceLocation)
        let expected = try String(contentsOf: url, encoding: .utf8)
        guard actual != expected else { return }
        let actualLines = actual.split(separator: "\n", omittingEmptySubsequences: false)
        let expectedLines = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let line = zip(actualLines, expectedLines).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            ?? min(actualLines.count, expectedLines.count)
        let want = line < expectedLines.count ? String(expectedLines[line]) : "<end of file>"
        let got = line < actualLines.count ? String(actualLines[line]) : "<end of file>"
        Issue.record("Golden/\(name).txt differs at line \(line + 1):\n  expected: \(want)\n  actual:   \(got)",
                     sourceLocation: sourceLocation)
    }

    /// One line per snapshot, newest first: `<local RFC 3339>  <short id>  keep|remove  <reasons>`,
    /// with a `# group …` line before each group. Groups are sorted here by their key
    /// (`Retention.evaluate` does not return them in a stable order; see RetentionRuleTests).
    static func render(_ groups: [RetentionGroup]) -> String {
        var lines: [String] = []
        for group in groups.sorted(by: { stableKey($0) < stableKey($1) }) {
            let key = stableKey(group)
            let kept = group.decisions.filter(\.keep).count
            lines.append("# group \(key.isEmpty ? "(all)" : key): keep \(kept) of \(group.decisions.count)")
            for decision in group.decisions {
                let verdict = decision.keep ? "keep  " : "remove"
                let line = "\(Berlin.rfc3339(decision.snapshot.time))  \(decision.snapshot.id.short)  \(verdict)  "
                    + decision.reasons.joined(separator: ", ")
                lines.append(line.replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `host=db1 tags=manual`: the group key with its parts in a fixed order.
    static func stableKey(_ group: RetentionGroup) -> String {
        group.key.keys.sorted().map { "\($0)=\(group.key[$0]!)" }.joined(separator: " ")
    }
}
