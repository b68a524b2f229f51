import Foundation
import Glibc
import Testing

@Suite("Damaged packs are found and contained")
struct CorruptionTests {
    @Test func flippedByteIsTracedToSnapshotsAndFiles() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        // Two files, each larger than a pack (4 MiB), so they live in different packs.
        try TreeFixtures.write(source + "/dump.bin", TreeFixtures.bytes(count: 6 << 20, seed: 21))
        try TreeFixtures.write(source + "/zz-other.aof", TreeFixtures.bytes(count: 6 << 20, seed: 22))
        let summary = try cairn.backup([source])
        let short = try #require(summary["short_id"] as? String)

        // Find the pack holding the first bytes of dump.bin: the oldest data pack written.
        let damaged = try #require(try PackFiles.oldestFirst(in: cairn.repository).first)
        PackFiles.flipByte(damaged, at: 1000)

        let check = try cairn.run(["check", "--read-data"])
        #expect(check.status == 13)
        let packName = URL(fileURLWithPath: damaged).lastPathComponent
        #expect(check.stdout.contains(packName))
        #expect(check.stdout.contains("\(short): dump.bin"))
        #expect(!check.stdout.contains("zz-other.aof"))

        let whole = try cairn.run(["restore", "latest", "--target", scratch.path("all")])
        #expect(whole.status == 13)
        #expect(whole.stderr.contains("dump.bin"))
        #expect(!FileManager.default.fileExists(atPath: scratch.path("all/dump.bin")))

        try cairn.ok(["restore", "latest", "--target", scratch.path("other"), "--include", "zz-other.aof"])
        let restored = try Data(contentsOf: URL(fileURLWithPath: scratch.path("other/zz-other.aof")))
        #expect(restored == Data(TreeFixtures.bytes(count: 6 << 20, seed: 22)))
    }
}

@Suite("Missing packs are damage")
struct MissingPackTests {
    /// Packs gone from the store (tree blobs among them) are damage to report, exit 13, not a
    /// missing input (exit 4) with a hint to run the very check that failed.
    @Test func checkAndRestoreReportMissingPacksAsDamage() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        try TreeFixtures.write(source + "/dump.bin", TreeFixtures.bytes(count: 2 << 20, seed: 24))
        _ = try cairn.backup([source])
        for pack in try PackFiles.oldestFirst(in: cairn.repository) { unlink(pack) }

        for arguments in [["check"], ["check", "--read-data"]] {
            let check = try cairn.run(arguments)
            #expect(check.status == 13, "\(arguments): \(check.stdout) \(check.stderr)")
            #expect(check.stdout.contains("missing"), "\(check.stdout)")
        }
        let restore = try cairn.run(["restore", "latest", "--target", scratch.path("restored")])
        #expect(restore.status == 13, "\(restore.stderr)")
        #expect(restore.stderr.contains("though the index names it"), "\(restore.stderr)")
    }
}

@Suite("Damaged snapshot and index objects are reported and can be removed")
struct DamagedObjectTests {
    static func flipFirstObject(_ folder: String) throws -> String {
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: folder).sorted().first)
        PackFiles.flipByte(folder + "/" + name, at: 40)
        return name
    }

    /// Before: check said "no errors" (the catalog skipped the snapshot with a log line), and
    /// `forget ID`, which prune's refusal recommends, answered "no snapshot matches".
    @Test func aDamagedSnapshotIsReportedAndForgottenByID() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        try TreeFixtures.write(source + "/a.bin", TreeFixtures.bytes(count: 100_000, seed: 25))
        _ = try cairn.backup([source])
        try TreeFixtures.write(source + "/b.bin", TreeFixtures.bytes(count: 100_000, seed: 26))
        _ = try cairn.backup([source])
        let name = try Self.flipFirstObject(cairn.repository + "/snapshots")
        let fresh = ["--cache-dir", scratch.path("fresh-cache")]

        let check = try cairn.run(["check"] + fresh)
        #expect(check.status == 13, "\(check.stdout) \(check.stderr)")
        #expect(check.stdout.contains("snapshot object \(name.prefix(8)) cannot be read"), "\(check.stdout)")
        #expect(try cairn.run(["prune"] + fresh).status == 13, "prune must refuse while a snapshot cannot be read")

        let forget = try cairn.run(["forget", String(name.prefix(8))] + fresh)
        #expect(forget.status == 0, "\(forget.stdout) \(forget.stderr)")
        #expect(forget.stdout.contains("damaged beyond reading"))
        #expect(!FileManager.default.fileExists(atPath: cairn.repository + "/snapshots/" + name))
        try cairn.ok(["check", "--read-data"] + fresh)
        let pruned = try cairn.run(["prune"] + fresh)
        #expect(pruned.status == 0 || pruned.status == 7, "\(pruned.stderr)")
    }

    /// The catalog is a cache anyone with the repository can damage or forge. Sizes that add up
    /// past Int64 made `stats` fail with SQLite's "integer overflow" (pack and chunk sums) or
    /// trap (snapshot sizes, added in Swift); the sums stop at Int64.max.
    @Test func statsOfAForgedCatalogWithHugeSizesDoesNotOverflow() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        try TreeFixtures.write(source + "/a.bin", TreeFixtures.bytes(count: 100_000, seed: 27))
        _ = try cairn.backup([source])
        try TreeFixtures.write(source + "/b.bin", TreeFixtures.bytes(count: 100_000, seed: 28))
        _ = try cairn.backup([source])
        let forge = """
            import json, sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            db.execute("UPDATE packs SET size = 9223372036854775807")
            db.execute("UPDATE chunks SET raw_length = 9223372036854775807, stored_length = 9223372036854775807")
            for id, document in db.execute("SELECT id, document FROM snapshots").fetchall():
                snapshot = json.loads(document)
                snapshot["summary"]["bytes"] = 9223372036854775807
                db.execute("UPDATE snapshots SET document = ? WHERE id = ?", (json.dumps(snapshot).encode(), id))
            db.commit()
            """
        let forged = Spawn.wait(try Spawn.start("/usr/bin/python3", ["-c", forge, cairn.repository + "/cache/catalog.sqlite"]))
        try #require(forged.status == 0)

        let stats = try cairn.run(["stats", "--json"])
        #expect(!stats.signaled, "ended by signal \(stats.status)")
        #expect(stats.status == 0, "\(stats.stderr)")
        let values = try #require(stats.json as? [String: Any], "\(stats.stdout)")
        #expect(values["snapshots"] as? Int == 2)
        for key in ["logical_bytes", "unique_bytes", "stored_bytes", "pack_bytes"] {
            #expect(values[key] as? Int64 == .max, "\(key): \(values[key] ?? "none")")
        }
        try cairn.ok(["stats"])
    }

    /// Prune adds and compares the catalog's sizes to choose what to repack, before it deletes.
    /// Forged sizes made it fail with SQLite's "integer overflow" (data blobs of Int64.max bytes)
    /// or trap (two unused packs of Int64.max bytes); it refuses them, exit 13, deleting nothing,
    /// also with --dry-run. The catalog the store gives runs as before.
    @Test func pruneRefusesAForgedCatalogWithImpossibleSizes() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        var ids: [String] = []
        for (name, seed) in [("first", UInt64(29)), ("second", UInt64(31)), ("third", UInt64(33))] {
            let source = scratch.path(name)
            TreeFixtures.makeDirectory(source)
            try TreeFixtures.write(source + "/a.bin", TreeFixtures.bytes(count: 100_000, seed: seed))
            try TreeFixtures.write(source + "/b.bin", TreeFixtures.bytes(count: 100_000, seed: seed + 1))
            ids.append(try #require(try cairn.backup([source])["short_id"] as? String))
        }
        try cairn.ok(["forget", ids[0], ids[1]])
        let packs = try PackFiles.oldestFirst(in: cairn.repository)
        // Data blobs only: tree blobs are read to mark what is used.
        let forgeries = [("UPDATE chunks SET stored_length = 9223372036854775807 WHERE kind = 0", "an impossible size"),
                         ("UPDATE packs SET size = 9223372036854775807", "add up to 8 PiB or more")]
        for (number, (forgery, message)) in forgeries.enumerated() {
            let cache = scratch.path("cache-\(number)")
            try cairn.ok(["snapshots", "--cache-dir", cache])
            let script = "import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); db.execute(sys.argv[2]); db.commit()"
            let forged = Spawn.wait(try Spawn.start("/usr/bin/python3", ["-c", script, cache + "/catalog.sqlite", forgery]))
            try #require(forged.status == 0)
            for dryRun in [[], ["--dry-run"]] {
                let pruned = try cairn.run(["prune", "--cache-dir", cache] + dryRun)
                #expect(!pruned.signaled, "\(forgery): ended by signal \(pruned.status)")
                #expect(pruned.status == 13, "\(forgery): \(pruned.stderr)")
                #expect(pruned.stderr.contains(message) && pruned.stderr.contains("cairn check"), "\(pruned.stderr)")
            }
        }
        #expect(try PackFiles.oldestFirst(in: cairn.repository) == packs, "prune deleted nothing")
        try cairn.ok(["prune"])
        #expect(try PackFiles.oldestFirst(in: cairn.repository).count < packs.count, "the forgotten snapshots' packs are gone")
    }

    /// Before: repair index re-indexed the packs but left the damaged index object, so check kept
    /// failing and prune kept refusing, each sending the user back to repair index.
    @Test func repairIndexRemovesADamagedIndexOnceItsPacksAreIndexedAgain() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        try TreeFixtures.write(source + "/a.bin", TreeFixtures.bytes(count: 300_000, seed: 27))
        _ = try cairn.backup([source])
        let name = try Self.flipFirstObject(cairn.repository + "/index")
        let fresh = ["--cache-dir", scratch.path("fresh-cache")]

        let check = try cairn.run(["check"] + fresh)
        #expect(check.status == 13)
        #expect(check.stdout.contains("index object \(name.prefix(8)) cannot be read"), "\(check.stdout)")
        let repaired = try cairn.ok(["repair", "index"] + fresh)
        #expect(repaired.stdout.contains("damaged index (removed"), "\(repaired.stdout)")
        #expect(!FileManager.default.fileExists(atPath: cairn.repository + "/index/" + name))
        try cairn.ok(["check", "--read-data"] + fresh)
        try cairn.ok(["restore", "latest", "--target", scratch.path("restored")] + fresh)
        #expect(TreeFixtures.snapshot(of: source) == TreeFixtures.snapshot(of: scratch.path("restored")))
    }

    /// A snapshot object copied under another name decrypts fine and would count twice: with
    /// --read-data, every snapshot and index object's SHA-256 must be its name.
    @Test func readDataFindsAnObjectUnderAnotherName() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        try TreeFixtures.write(source + "/a.bin", TreeFixtures.bytes(count: 1000, seed: 28))
        _ = try cairn.backup([source])
        let folder = cairn.repository + "/snapshots"
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: folder).first)
        let wrong = String(name.reversed())
        try FileManager.default.copyItem(atPath: folder + "/" + name, toPath: folder + "/" + wrong)

        try cairn.ok(["check"])
        let check = try cairn.run(["check", "--read-data"])
        #expect(check.status == 13)
        #expect(check.stdout.contains("snapshots/\(wrong) does not match its name"), "\(check.stdout)")
    }
}

@Suite("check --read-data reads packs in windows")
struct WindowedCheckTests {
    /// Packs of 16 MiB are read in windows of at most 4 MiB: a byte flipped deep inside one (in a
    /// later window) is found, named, and traced to its file; the other packs stay clean.
    @Test func aFlipInALaterWindowOfALargePackIsFound() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch, initialize: false)
        try cairn.ok(["init", "--pack-size", "16"])
        let source = scratch.path("data")
        TreeFixtures.makeDirectory(source)
        try TreeFixtures.write(source + "/dump.bin", TreeFixtures.bytes(count: 40 << 20, seed: 23))
        _ = try cairn.backup([source])
        try cairn.ok(["check", "--read-data"])

        let packs = try PackFiles.oldestFirst(in: cairn.repository)
        let sizes = packs.map { (try? FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int) ?? 0 }
        let largest = try #require(zip(packs, sizes).max { $0.1 < $1.1 })
        #expect(largest.1 > 12 << 20, "a pack near 16 MiB is needed, the largest is \(largest.1) bytes")
        PackFiles.flipByte(largest.0, at: Int64(largest.1 / 2 + 12345), mask: 0x10)

        let check = try cairn.run(["check", "--read-data"])
        #expect(check.status == 13)
        #expect(check.stdout.contains(URL(fileURLWithPath: largest.0).lastPathComponent))
        #expect(check.stdout.contains("content does not match its name"))
        #expect(check.stdout.contains("1 of "), "exactly one blob is damaged: \(check.stdout)")
        #expect(check.stdout.contains("dump.bin"))
    }
}

@Suite("Keys: several passwords, one master key")
struct KeyTests {
    @Test func addListRemoveAndChangePasswords() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let newPassword = scratch.path("new-password")
        try "second password\n".write(toFile: newPassword, atomically: true, encoding: .utf8)
        try cairn.ok(["key", "add"], environment: ["CAIRN_NEW_PASSWORD_FILE": newPassword])
        let keys = try #require(try cairn.ok(["key", "list", "--json"]).json as? [[String: Any]])
        #expect(keys.count == 2)
        #expect(keys.filter { $0["current"] as? Bool == true }.count == 1)

        let asSecond = ["CAIRN_PASSWORD_FILE": newPassword]
        try cairn.ok(["snapshots"], environment: asSecond)
        let original = try #require(keys.first { $0["current"] as? Bool == true }?["id"] as? String)
        #expect(try cairn.run(["key", "remove", String(original.prefix(8))]).status == 64)
        try cairn.ok(["key", "remove", String(original.prefix(8))], environment: asSecond)
        #expect(try cairn.run(["snapshots"]).status == 12)

        let third = scratch.path("third")
        try "third password\n".write(toFile: third, atomically: true, encoding: .utf8)
        try cairn.ok(["key", "passwd"], environment: ["CAIRN_PASSWORD_FILE": newPassword, "CAIRN_NEW_PASSWORD_FILE": third])
        #expect(try cairn.run(["snapshots"], environment: asSecond).status == 12)
        try cairn.ok(["snapshots"], environment: ["CAIRN_PASSWORD_FILE": third])
    }

    /// init, key add and key passwd write keys at the standard scrypt cost (N = 2^15, r = 8, p = 1)
    /// unless a debug build is told otherwise, as the other CLI tests do to save CPU.
    @Test func newKeysHaveTheStandardScryptCost() throws {
        let scratch = try Scratch()
        let standard = ["CAIRN_TEST_SCRYPT_LOG_N": ""]
        let cairn = try CairnRunner(scratch, initialize: false)
        try cairn.ok(["init"], environment: standard)
        let password = scratch.path("second-password")
        try "second password\n".write(toFile: password, atomically: true, encoding: .utf8)
        try cairn.ok(["key", "add"], environment: standard.merging(["CAIRN_NEW_PASSWORD_FILE": password]) { $1 })
        try cairn.ok(["key", "add"], environment: ["CAIRN_NEW_PASSWORD_FILE": password])
        let costs = try FileManager.default.contentsOfDirectory(atPath: cairn.repository + "/keys").map { name -> [Int] in
            let file = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: cairn.repository + "/keys/" + name))) as? [String: Any])
            let wrapped = try #require(file["wrapped"] as? [String: Any], "\(file)")
            return [wrapped["log_n"], wrapped["r"], wrapped["p"]].map { $0 as? Int ?? -1 }
        }
        let debugBuild = CairnRunner.binary.contains("/debug/")
        let tested = debugBuild ? [[10, 8, 1]] : [[15, 8, 1]]
        #expect(costs.sorted { $0[0] > $1[0] } == [[15, 8, 1], [15, 8, 1]] + tested, "\(costs)")
        #expect(try cairn.run(["init", "--repo", scratch.path("other")], environment: ["CAIRN_TEST_SCRYPT_LOG_N": "9"]).status
                == (debugBuild ? 64 : 0))
        try cairn.ok(["snapshots"])
    }

    /// A repository with a second password; returns its file and the two key ids (first, second).
    static func addSecondKey(_ cairn: CairnRunner) throws -> (password: String, first: String, second: String) {
        let password = cairn.scratch.path("second-password")
        try "second password\n".write(toFile: password, atomically: true, encoding: .utf8)
        try cairn.ok(["key", "add"], environment: ["CAIRN_NEW_PASSWORD_FILE": password])
        func current(_ environment: [String: String]) throws -> String {
            let keys = try #require(try cairn.ok(["key", "list", "--json"], environment: environment).json as? [[String: Any]])
            return try #require(keys.first { $0["current"] as? Bool == true }?["id"] as? String)
        }
        return (password, try current([:]), try current(["CAIRN_PASSWORD_FILE": password]))
    }

    @Test func keyCommandsTakeTheExclusiveLock() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let (password, first, second) = try Self.addSecondKey(cairn)
        let keys = cairn.repository + "/keys"
        let before = try FileManager.default.contentsOfDirectory(atPath: keys).sorted()
        let forged = try LockingTests.forgeExclusiveLock(in: cairn.repository + "/locks", command: "prune")

        let third = scratch.path("third-password")
        try "third password\n".write(toFile: third, atomically: true, encoding: .utf8)
        for (arguments, environment) in [(["key", "remove", String(second.prefix(8))], [:]),
                                         (["key", "remove", String(first.prefix(8))], ["CAIRN_PASSWORD_FILE": password]),
                                         (["key", "add"], ["CAIRN_NEW_PASSWORD_FILE": third]),
                                         (["key", "passwd"], ["CAIRN_NEW_PASSWORD_FILE": third])] {
            let refused = try cairn.run(arguments, environment: environment)
            #expect(refused.status == 11 && refused.stderr.contains("exclusive lock by prune"),
                    "cairn \(arguments.joined(separator: " ")) under a prune's lock: \(refused.status) \(refused.stderr)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: keys).sorted() == before)

        try FileManager.default.removeItem(atPath: forged)
        try cairn.ok(["key", "remove", String(second.prefix(8))])
        #expect(try FileManager.default.contentsOfDirectory(atPath: keys) == [first])
        #expect((try FileManager.default.contentsOfDirectory(atPath: cairn.repository + "/locks")).isEmpty)
    }

    /// Each password removes the other's key, both waiting for the same lock: the second to get it
    /// finds its own key gone and removes nothing, so one key remains and opens the repository.
    @Test func removingEachOthersKeyAtOnceLeavesOne() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let (password, first, second) = try Self.addSecondKey(cairn)
        let forged = try LockingTests.forgeExclusiveLock(in: cairn.repository + "/locks", command: "prune")

        let removals = [(key: second, environment: cairn.environment, name: "first"),
                        (key: first, environment: cairn.environment.merging(["CAIRN_PASSWORD_FILE": password]) { _, new in new }, name: "second")]
        let pids = try removals.map { removal in
            try Spawn.start(CairnRunner.binary, ["key", "remove", "--lock-wait", "2m", String(removal.key.prefix(8))],
                            environment: removal.environment, stdout: scratch.path("\(removal.name).out"),
                            stderr: scratch.path("\(removal.name).err"))
        }
        func errors(_ name: String) -> String { (try? String(contentsOfFile: scratch.path("\(name).err"), encoding: .utf8)) ?? "" }
        let bothWaiting = eventually(timeout: 60) { removals.allSatisfy { errors($0.name).contains("waiting up to") } }
        #expect(bothWaiting, "both removals should open the repository and wait for the lock: \(errors("first")) \(errors("second"))")
        try FileManager.default.removeItem(atPath: forged)

        let statuses = pids.map { Spawn.wait($0).status }
        #expect(statuses.sorted() == [0, 1], "one removal succeeds, the other is refused: \(statuses) \(errors("first")) \(errors("second"))")
        let refused = removals[statuses.firstIndex(of: 1) ?? 0].name
        #expect(errors(refused).contains("no longer in the repository"), "\(errors(refused))")
        let left = try FileManager.default.contentsOfDirectory(atPath: cairn.repository + "/keys")
        #expect(left.count == 1)
        let survivor = left.first == first ? [:] : ["CAIRN_PASSWORD_FILE": password]
        try cairn.ok(["snapshots"], environment: survivor)
    }
}
