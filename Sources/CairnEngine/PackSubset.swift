import CairnCore

/// Which packs `check --read-data` reads. A repository too large to read every night can be read
/// a part at a time: `group(n, of: t)` splits the packs into `t` fixed groups by their names (a
/// pack's name is the SHA-256 of its bytes, so the groups are even and never change), and reading
/// groups 1…t on t nights reads every pack once; `share(p)` reads a random share, different each run.
public enum PackSubset: Sendable, Equatable, CustomStringConvertible {
    case all
    /// Group `group` (1…`groups`) of `groups`.
    case group(Int, of: Int)
    /// A fraction in (0, 1]: this share of the packs, at least one, picked at random.
    case share(Double)

    /// Parses `N/T` (1 ≤ N ≤ T) or `P%` (0 < P ≤ 100); nil for anything else.
    public init?(parsing text: String) {
        if text.hasSuffix("%") {
            guard let percent = Double(text.dropLast()), percent.isFinite, percent > 0, percent <= 100 else { return nil }
            self = percent == 100 ? .all : .share(percent / 100)
            return
        }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let group = Int(parts[0]), let groups = Int(parts[1]),
              groups >= 1, (1...groups).contains(group) else { return nil }
        self = groups == 1 ? .all : .group(group, of: groups)
    }

    public var description: String {
        switch self {
        case .all: return "all"
        case .group(let group, let groups): return "\(group)/\(groups)"
        case .share(let fraction): return "\(Self.percentText(fraction))%"
        }
    }

    /// The packs to read, in the order given. `generator` picks a `share`.
    func select<Generator: RandomNumberGenerator>(_ packs: [PackID], using generator: inout Generator) -> [PackID] {
        switch self {
        case .all:
            return packs
        case .group(let group, let groups):
            return packs.filter { $0.hash.w0 % UInt64(groups) == UInt64(group - 1) }
        case .share(let fraction):
            guard !packs.isEmpty else { return [] }
            let count = min(packs.count, max(1, Int((Double(packs.count) * fraction).rounded(.up))))
            let chosen = Set(packs.shuffled(using: &generator).prefix(count))
            return packs.filter { chosen.contains($0) }
        }
    }

    private static func percentText(_ fraction: Double) -> String {
        let percent = fraction * 100
        return percent == percent.rounded() ? String(Int(percent)) : String(percent)
    }
}
