import Foundation
import Glibc
import Testing

/// Restore copies a chunk that recurs (a dump.rdb and the AOF base share most of theirs) from
/// the file it already restored instead of decoding it again; the bytes must not differ. Each
/// test runs with direct I/O (whole aligned blocks, recurring chunks read back) and through the
/// page cache (kernel copies), the two ways restore writes.
@Suite("Restore reuses chunks it already wrote")
struct RestoreReuseTests {
    /// The environment for one way of writing, and how many files must have used direct I/O.
    static func writing(_ direct: Bool) -> [String: String] { ["CAIRN_RESTORE_DIRECT_IO": direct ? "1" : "0"] }

    /// True when `path` is on ext4 (from /proc/mounts: the longest mount point above it).
    static func isExt4(_ path: String) -> Bool {
        guard let mounts = try? String(contentsOfFile: "/proc/mounts", encoding: .utf8) else { return false }
        var best = (point: "", type: "")
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count > 2 else { continue }
            let point = fields[1]
            let under = point == "/" || path == point || path.hasPrefix(point + "/")
            if under && point.count >= best.point.count { best = (point, fields[2]) }
        }
        return best.type == "ext4"
    }

    @Test(arguments: [true, false])
    func recurringChunksAreCopiedAndFilesStayIdentical(direct: Bool) throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        // Sizes that are not whole 4 KiB blocks, so batches and copies start and end mid-block.
        let original = TreeFixtures.bytes(count: (12 << 20) + 1234, seed: 41)
        var edited = original
        let patch = TreeFixtures.bytes(count: 256 << 10, seed: 42)
        edited.replaceSubrange((5 << 20)..<((5 << 20) + patch.count), with: patch)
        // Restored in name order: a.rdb first, then its copy and the edited copy reuse its chunks.
        try TreeFixtures.write(source + "/a.bin", original)
        try TreeFixtures.write(source + "/b.bin", original)
        try TreeFixtures.write(source + "/c.bin", edited, mode: 0o400)
        try TreeFixtures.write(source + "/d.bin", [UInt8](repeating: 0, count: 3 << 20) + original.prefix((1 << 20) + 77))
        try TreeFixtures.write(source + "/e.bin", Array(original.suffix(3001)))
        try TreeFixtures.write(source + "/f.bin", [UInt8](repeating: 0, count: 10_000))
        try TreeFixtures.write(source + "/g.bin", [])
        _ = try cairn.backup([source])

        let target = scratch.path("restored")
        let restored = try #require(try cairn.ok(["restore", "latest", "--json", "--target", target],
                                                 environment: Self.writing(direct)).json as? [String: Any])
        let bytes = try #require(restored["bytes"] as? Int)
        let copied = try #require(restored["copied_bytes"] as? Int)
        #expect(bytes == 3 * original.count + (4 << 20) + 77 + 3001 + 10_000)
        // ext4 (this machine's /tmp) takes direct I/O: there every file must have used it when asked to.
        let directFiles = try #require(restored["direct_io_files"] as? Int)
        if !direct { #expect(directFiles == 0) } else if Self.isExt4(target) { #expect(directFiles == 7) }
        // All of b.bin and most of c.bin come from a.bin; a.bin itself cannot.
        #expect(copied >= original.count * 3 / 2, "copied \(copied) of \(bytes)")
        #expect(copied <= bytes - original.count, "copied \(copied) of \(bytes)")
        #expect(TreeFixtures.snapshot(of: source) == TreeFixtures.snapshot(of: target))
        #expect(TreeFixtures.contents(of: source) == TreeFixtures.contents(of: target))
    }

    @Test(arguments: [true, false])
    func anUnreadableEarlierFileFallsBackToTheRepository(direct: Bool) throws {
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
        let restored = try #require(try cairn.ok(["restore", "latest", "--json", "--target", target],
                                                 environment: Self.writing(direct)).json as? [String: Any])
        let copied = try #require(restored["copied_bytes"] as? Int)
        #expect(copied == (geteuid() == 0 ? original.count : 0))
        chmod(target + "/a.bin", 0o600)
        chmod(source + "/a.bin", 0o600)
        #expect(TreeFixtures.contents(of: source) == TreeFixtures.contents(of: target))
    }
}
