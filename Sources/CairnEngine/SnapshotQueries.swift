import CairnCore
import CairnRepository
import Foundation

/// Finding snapshots by id, prefix, `latest`, or a point in time.
public enum SnapshotQueries {
    /// Resolves `latest`, a full id, or a unique prefix (8 hex digits are shown in listings).
    public static func resolve(_ text: String, in repository: Repository) throws -> Snapshot {
        let all = try repository.snapshots()
        if text == "latest" {
            guard let newest = all.last else {
                throw EngineError(.noMatch, "the repository has no snapshots yet", hint: "run `cairn backup` first")
            }
            return newest
        }
        let lowered = text.lowercased()
        guard !lowered.isEmpty, lowered.allSatisfy(\.isHexDigit) else {
            throw EngineError(.usage, "\(text) is not a snapshot id", hint: "give an id from `cairn snapshots`, a prefix of it, or `latest`")
        }
        let matches = all.filter { $0.id.hex.hasPrefix(lowered) }
        guard matches.count == 1 else {
            if matches.isEmpty {
                throw EngineError(.noMatch, "no snapshot matches \(text)", hint: "see `cairn snapshots`")
            }
            throw EngineError(.usage, "\(text) matches \(matches.count) snapshots", hint: "give more digits")
        }
        return matches[0]
    }
}

