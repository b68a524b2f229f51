import Foundation
import Glibc
import Testing

/// Restore copies a chunk that recurs (a dump.rdb and the AOF base share most of theirs) from
/// the file it already restored instead of decoding it again; the bytes must not differ.
@Suite("Restore reuses chunks it already wrote")
struct RestoreReuseTests {
    @Test func recurringChunksAreCopiedAndFilesStayIdentical() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        let original = TreeFixtures.bytes(count: 12 << 20, seed: 41)
        var edited = original
        let patch = TreeFixtures.bytes(count: 256 << 10, seed: 42)
        edited.replaceSubrange((5 << 20)..<((5 << 20) + patch.count), with: patch)
        // Restored in name order: a.rdb first, then its copy and the edited copy reuse its chunks.
        try TreeFixtures.write(source + "/a.bin", original)
        try TreeFixtures.write(source + "/b.bin", original)
        try TreeFixtures.write(source + "/c.bin", edited, mode: 0o400)
        try TreeFixtures.write(source + "/d.bin", [UInt8](repeating: 0, count: 3 << 20) + original.prefix(1 << 20))
        _ = try cairn.backup([source])

        let target = scratch.path("restored")
        let restored = try #require(try cairn.ok(["restore", "latest", "--json", "--target", target]).json as? [String: Any])
        let bytes = try #require(restored["bytes"] as? Int)
        let copied = try #require(restored["copied_bytes"] as? Int)
        #expect(bytes == 3 * original.count + (4 << 20))
        // All of b.bin and most of c.bin come from a.bin; a.bin itself cannot.
        #expect(copied >= original.count * 3 / 2, "copied \(copied) of \(bytes)")
        #expect(copied <= bytes - original.count, "copied \(copied) of \(bytes)")
        #expect(TreeFixtures.snapshot(of: source) == TreeFixtures.snapshot(of: target))
        #expect(TreeFixtures.contents(of: source) == TreeFixtures.contents(of: target))
    }

    @Test func anUnreadableEarlierFileFallsBackToTheRepository() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        let original = TreeFixtures.bytes(count: 6 << 20, seed: 43)
        // a.bin is restored with mode 0 (a non-root restore cannot read it back); as root it can,
        // and the copy is taken instead. Either way the bytes must be right.
        try TreeFixtures.write(source + "/a.bin", original, mode: 0o000)
        try TreeFixtures.write(source + "/b.bin", original)
        _ = try cairn.backup([source])
        let target = scratch.path("restored")
        let restored = try #require(try cairn.ok(["restore", "latest", "--json", "--target", target]).json as? [String: Any])
        let copied = try #require(restored["copied_bytes"] as? Int)
        #expect(copied == (geteuid() == 0 ? original.count : 0))
        chmod(target + "/a.bin", 0o600)
        chmod(source + "/a.bin", 0o600)
        #expect(TreeFixtures.contents(of: source) == TreeFixtures.contents(of: target))
    }
}
