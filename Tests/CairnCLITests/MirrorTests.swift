import Foundation
import Glibc
import Testing

@Suite("mirror copies a repository as it is")
struct MirrorTests {
    /// The objects of a local repository (config, keys, packs, index and snapshot objects), by path.
    static func objects(of repository: String) -> [String: Int] {
        var found: [String: Int] = [:]
        let root = URL(fileURLWithPath: repository)
        for folder in ["config", "keys", "data", "index", "snapshots"] {
            let top = root.appendingPathComponent(folder).path
            guard let walker = FileManager.default.enumerator(atPath: top) else { continue }
            if folder == "config" {
                found["config"] = (try? FileManager.default.attributesOfItem(atPath: top)[.size] as? Int) ?? -1
                continue
            }
            while let name = walker.nextObject() as? String {
                let path = top + "/" + name
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
                    found[folder + "/" + name] = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? -1
                }
            }
        }
        return found
    }

    static func ids(_ runner: CairnRunner) throws -> [String] {
        try runner.snapshots().compactMap { $0["id"] as? String }.sorted()
    }

    @Test func theCopyIsTheSameRepositoryAndKeepsUp() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch, initialize: false)
        try cairn.ok(["init", "--pack-size", "1"])
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        try TreeFixtures.write(source + "/dump.bin", TreeFixtures.bytes(count: 5 << 20, seed: 51))
        try TreeFixtures.write(source + "/nodes.conf", Array("cluster\n".utf8))
        let first = try #require(try cairn.backup([source])["snapshot_id"] as? String)

        let destination = scratch.path("copy")
        let mirrored = try #require(try cairn.ok(["mirror", "--to", destination, "--json"]).json as? [String: Any])
        #expect(mirrored["created_repository"] as? Bool == true)
        #expect(mirrored["snapshots_copied"] as? Int == 1)
        let copied = try #require(mirrored["objects_copied"] as? Int)
        #expect(copied >= 6, "packs, index, snapshot and key: \(mirrored)")
        #expect(Self.objects(of: destination) == Self.objects(of: cairn.repository))

        // The copy opens with the same password and holds the same snapshots, byte for byte.
        let copy = cairn.on(destination)
        #expect(try Self.ids(copy) == [first])
        try copy.ok(["check", "--read-data"])
        try copy.ok(["restore", "latest", "--target", scratch.path("restored")])
        #expect(TreeFixtures.snapshot(of: source) == TreeFixtures.snapshot(of: scratch.path("restored")))

        // Nothing new: nothing copied.
        let again = try #require(try cairn.ok(["mirror", "--to", destination, "--json"]).json as? [String: Any])
        #expect(again["objects_copied"] as? Int == 0)
        #expect(again["objects_present"] as? Int == copied)

        // A new night, the first forgotten and pruned: --delete makes the copy follow.
        try TreeFixtures.write(source + "/dump.bin", TreeFixtures.bytes(count: 3 << 20, seed: 52))
        let second = try #require(try cairn.backup([source])["snapshot_id"] as? String)
        try cairn.ok(["forget", first, "--prune"])
        let kept = try #require(try cairn.ok(["mirror", "--to", destination, "--json"]).json as? [String: Any])
        #expect(kept["snapshots_copied"] as? Int == 1)
        #expect(try Self.ids(copy) == [first, second].sorted(), "without --delete the copy keeps what the source forgot")
        let followed = try #require(try cairn.ok(["mirror", "--to", destination, "--delete", "--json"]).json as? [String: Any])
        #expect(followed["snapshots_deleted"] as? Int == 1)
        #expect((followed["objects_deleted"] as? Int ?? 0) > 1, "the pruned packs and index objects go too: \(followed)")
        #expect(try Self.ids(copy) == [second])
        #expect(Self.objects(of: destination) == Self.objects(of: cairn.repository))
        try copy.ok(["check", "--read-data"])
    }

    /// A damaged pack stops the mirror before any index or snapshot object is copied, and is not
    /// copied itself: the copy holds no snapshot that would need it.
    @Test func damageInTheSourceIsNotCopied() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch, initialize: false)
        try cairn.ok(["init", "--pack-size", "1"])
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        try TreeFixtures.write(source + "/dump.bin", TreeFixtures.bytes(count: 4 << 20, seed: 53))
        _ = try cairn.backup([source])
        let damaged = try #require(try PackFiles.oldestFirst(in: cairn.repository).first)
        PackFiles.flipByte(damaged, at: 500)
        let name = URL(fileURLWithPath: damaged).lastPathComponent

        let destination = scratch.path("copy")
        let result = try cairn.run(["mirror", "--to", destination])
        #expect(result.status == 13, "\(result.stderr)")
        #expect(result.stderr.contains(name) && result.stderr.contains("does not match its name"), "\(result.stderr)")
        let objects = Self.objects(of: destination)
        #expect(!objects.keys.contains { $0.hasSuffix(name) })
        #expect(!objects.keys.contains { $0.hasPrefix("snapshots/") || $0.hasPrefix("index/") })
        let copy = cairn.on(destination)
        #expect(try copy.snapshots().isEmpty)
        try copy.ok(["check"])
    }

    /// A backup that commits while the mirror lists the source: whatever the mirror copies of it,
    /// it never copies a snapshot or index object without the packs they name.
    @Test func aBackupDuringTheListingsLeavesTheCopyWhole() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        try TreeFixtures.write(source + "/dump.bin", TreeFixtures.bytes(count: 1 << 20, seed: 55))
        _ = try cairn.backup([source])
        let destination = scratch.path("copy")

        let mirror = try cairn.start(["mirror", "--to", destination], environment: ["CAIRN_TEST_PAUSE_AT": "mirror-listed-data"])
        defer { kill(mirror.pid, SIGCONT) }
        try #require(eventually(timeout: 30) { mirror.isStopped || mirror.hasEnded } && !mirror.hasEnded,
                     "mirror did not stop after listing the packs")
        try TreeFixtures.write(source + "/more.bin", TreeFixtures.bytes(count: 2 << 20, seed: 56))
        _ = try cairn.backup([source])
        let mirrored = mirror.resumeToEnd()
        #expect(mirrored.status == 0, "\(mirrored.stderr)")

        let copy = cairn.on(destination)
        let checked = try copy.run(["check", "--read-data"])
        #expect(checked.status == 0, "the copy: \(checked.stdout) \(checked.stderr)")
        try cairn.ok(["mirror", "--to", destination])
        #expect(try copy.snapshots().count == 2)
        try copy.ok(["check", "--read-data"])
    }

    /// Where a killed mirror can stop before its first object: the empty folders of a new copy, or
    /// those and the config. Running it again finishes the copy.
    @Test(arguments: [false, true])
    func aMirrorStoppedBeforeItsFirstObjectIsFinishedByTheNext(withConfig: Bool) throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        try TreeFixtures.write(source + "/dump.bin", TreeFixtures.bytes(count: 1 << 20, seed: 54))
        _ = try cairn.backup([source])
        let destination = scratch.path("copy")
        for folder in ["data/00", "data/ff", "keys", "index", "snapshots", "locks", "tmp"] {
            try FileManager.default.createDirectory(atPath: destination + "/" + folder, withIntermediateDirectories: true)
        }
        if withConfig { try FileManager.default.copyItem(atPath: cairn.repository + "/config", toPath: destination + "/config") }

        try cairn.ok(["mirror", "--to", destination])
        #expect(Self.objects(of: destination) == Self.objects(of: cairn.repository))
    }

    @Test func anotherRepositoryOtherFilesOrItselfAreRefused() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let other = cairn.on(scratch.path("other"))
        try other.ok(["init"])
        let another = try cairn.run(["mirror", "--to", other.repository])
        #expect(another.status == 64)
        #expect(another.stderr.contains("is another repository"), "\(another.stderr)")

        let files = scratch.path("files")
        TreeFixtures.makeDirectory(files)
        try TreeFixtures.write(files + "/notes.txt", Array("keep me\n".utf8))
        let occupied = try cairn.run(["mirror", "--to", files])
        #expect(occupied.status == 64)
        #expect(occupied.stderr.contains("not empty"), "\(occupied.stderr)")
        #expect(try String(contentsOfFile: files + "/notes.txt", encoding: .utf8) == "keep me\n")

        let itself = try cairn.run(["mirror", "--to", cairn.repository])
        #expect(itself.status == 64)
        #expect(itself.stderr.contains("the repository itself"), "\(itself.stderr)")
    }
}
