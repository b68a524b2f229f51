@testable import CairnEngine
import CairnCore
import CairnTestSupport
import Testing

extension SplitMix64: RandomNumberGenerator {}

/// `check --read-data-subset`: which packs a part of the repository is.
@Suite("Pack subsets for check --read-data")
struct PackSubsetTests {
    static func packs(_ count: Int, seed: UInt64) -> [PackID] {
        var random = SplitMix64(seed: seed)
        return (0..<count).map { _ in PackID(Hash256(w0: random.next(), w1: random.next(), w2: random.next(), w3: random.next())) }
    }

    @Test(arguments: [
        ("1/7", PackSubset.group(1, of: 7)), ("7/7", .group(7, of: 7)), ("1/1", .all), ("100%", .all),
        ("10%", .share(0.1)), ("0.5%", .share(0.005)),
    ])
    func parsesWhatItDocuments(_ text: String, _ expected: PackSubset) {
        #expect(PackSubset(parsing: text) == expected)
    }

    @Test(arguments: ["0/7", "8/7", "-1/7", "1/0", "1/-2", "3", "/7", "1/", "1/7/2", "a/b", "0%", "101%", "-5%", "%", "nan%", "inf%", ""])
    func refusesEverythingElse(_ text: String) {
        #expect(PackSubset(parsing: text) == nil)
    }

    /// The groups of one split cover every pack exactly once, in the order given, and each is
    /// about its share: reading 1/T … T/T reads the repository once.
    @Test(arguments: [2, 3, 7, 30])
    func groupsPartitionThePacks(_ groups: Int) {
        let packs = Self.packs(3000, seed: UInt64(groups))
        var generator = SplitMix64(seed: 1)
        var seen: [PackID: Int] = [:]
        for group in 1...groups {
            let chosen = PackSubset.group(group, of: groups).select(packs, using: &generator)
            #expect(chosen == packs.filter { Set(chosen).contains($0) }, "order kept")
            let expected = 3000 / groups
            #expect(abs(chosen.count - expected) < expected / 3 + 10, "group \(group)/\(groups): \(chosen.count) packs")
            for pack in chosen { seen[pack, default: 0] += 1 }
        }
        #expect(seen.count == packs.count)
        #expect(seen.values.allSatisfy { $0 == 1 })
    }

    /// A group does not depend on which other packs exist: a pack keeps its group as the
    /// repository grows and shrinks.
    @Test func aPackKeepsItsGroup() {
        let packs = Self.packs(500, seed: 9)
        var generator = SplitMix64(seed: 2)
        let whole = Set(PackSubset.group(3, of: 5).select(packs, using: &generator))
        let half = Set(PackSubset.group(3, of: 5).select(Array(packs.prefix(250)), using: &generator))
        #expect(half == whole.intersection(packs.prefix(250)))
    }

    @Test func aShareIsRoundedUpAndNeverEmpty() {
        let packs = Self.packs(40, seed: 4)
        var generator = SplitMix64(seed: 3)
        #expect(PackSubset.share(0.1).select(packs, using: &generator).count == 4)
        #expect(PackSubset.share(0.01).select(packs, using: &generator).count == 1)
        #expect(PackSubset.share(0.26).select(packs, using: &generator).count == 11)
        #expect(PackSubset.share(0.5).select([], using: &generator).isEmpty)
        let chosen = PackSubset.share(0.5).select(packs, using: &generator)
        #expect(Set(chosen).count == 20)
        #expect(chosen == packs.filter { Set(chosen).contains($0) }, "order kept")
    }

    /// Different runs read different packs (else a share would keep missing the same damage).
    @Test func sharesDifferBetweenRuns() {
        let packs = Self.packs(200, seed: 5)
        var generator = SplitMix64(seed: 4)
        let first = PackSubset.share(0.1).select(packs, using: &generator)
        let second = PackSubset.share(0.1).select(packs, using: &generator)
        #expect(first != second)
    }
}
