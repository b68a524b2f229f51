import Foundation
import Glibc
import Testing

/// Which file a backup of a directory records as the snapshot's RDB (`rdb_file` and its key
/// counts, what `redis-restore` and `drill` load): `dump.rdb`, else the one RDB whose name is not a
/// leftover, else none — never whichever RDB sorts first. No redis-server needed.
@Suite("Snapshot RDB of a directory backup")
struct SnapshotRDBTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/redis7-datadir").path
    /// 445 keys: db0=430, db3=15.
    static let dump = fixture + "/dump.rdb"
    /// The AOF base of the same server, an RDB written before its last 20 keys: 425 keys.
    static let olderRDB = fixture + "/appendonlydir/appendonly.aof.2.base.rdb"

    /// A folder holding copies of `files` (name in the folder → source).
    private func folder(_ scratch: Scratch, _ files: [String: String]) throws -> String {
        let directory = scratch.path("data")
        mkdir(directory, 0o755)
        for (name, source) in files { try FileManager.default.copyItem(atPath: source, toPath: directory + "/" + name) }
        return directory
    }

    private func latestFacts(_ cairn: CairnRunner) throws -> [String: String]? {
        try #require(try cairn.snapshots().last)["redis"] as? [String: String]
    }

    @Test func dumpRDBIsTheSnapshotsRDBBesideABackupCopy() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let data = try folder(scratch, ["dump.rdb": Self.dump])
        _ = try cairn.backup([data])
        // A copy appears; dump.rdb is unchanged, so the next backup reads only the copy.
        try FileManager.default.copyItem(atPath: Self.olderRDB, toPath: data + "/dump.rdb.bak")
        _ = try cairn.backup([data])
        _ = try cairn.backup([data], extra: ["--force-reread"])
        for snapshot in try cairn.snapshots() {
            let facts = try #require(snapshot["redis"] as? [String: String])
            #expect(facts["rdb_file"] == "dump.rdb")
            #expect(facts["keys"] == "445")
            #expect(facts["keys_per_db"] == "db0=430,db3=15")
        }
    }

    @Test func aLoneBackupCopyIsNoSnapshotRDB() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let data = try folder(scratch, ["dump.rdb.bak": Self.olderRDB])
        _ = try cairn.backup([data])
        #expect(try latestFacts(cairn) == ["capture": "directory"])

        // redis-restore refuses before it changes anything; drill refuses too.
        let target = scratch.path("server")
        mkdir(target, 0o755)
        let restore = try cairn.run(["redis-restore", "latest", "--data-dir", target])
        #expect(restore.status != 0)
        #expect(restore.stderr.contains("names no RDB of the server"), "\(restore.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: target).isEmpty)
        let drill = try cairn.run(["drill", "latest"])
        #expect(drill.status != 0)
        #expect(drill.stderr.contains("names no RDB of the server"), "\(drill.stderr)")
    }

    @Test func theOneRDBThatIsNoLeftoverIsTheSnapshotsRDB() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let data = try folder(scratch, ["dump.rdb.old": Self.olderRDB, "redis-6379.rdb": Self.dump, "temp-123.rdb": Self.olderRDB])
        _ = try cairn.backup([data])
        let facts = try #require(try latestFacts(cairn))
        #expect(facts["rdb_file"] == "redis-6379.rdb")
        #expect(facts["keys"] == "445")
    }

    @Test func twoCandidateRDBsNameNone() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let data = try folder(scratch, ["a.rdb": Self.olderRDB, "b.rdb": Self.dump])
        _ = try cairn.backup([data])
        #expect(try latestFacts(cairn) == ["capture": "directory"])
        let drill = try cairn.run(["drill", "latest"])
        #expect(drill.stderr.contains("names no RDB of the server"), "\(drill.stderr)")
    }

    /// An AOF folder an earlier restore moved aside (`appendonlydir.old`, here with the newer
    /// dump as its base) is backed up, but the snapshot's AOF facts are the server's own folder's:
    /// drill loads the AOF that `aof_manifest` names.
    @Test func theAOFFactsAreTheServersFolderNotOneMovedAside() throws {
        let scratch = try Scratch()
        let cairn = try CairnRunner(scratch)
        let data = try folder(scratch, ["dump.rdb": Self.dump])
        try FileManager.default.copyItem(atPath: Self.fixture + "/appendonlydir", toPath: data + "/appendonlydir")
        let moved = data + "/appendonlydir.old"
        mkdir(moved, 0o755)
        try FileManager.default.copyItem(atPath: Self.dump, toPath: moved + "/appendonly.aof.1.base.rdb")
        try "file appendonly.aof.1.base.rdb seq 1 type b\n".write(toFile: moved + "/appendonly.aof.manifest", atomically: true, encoding: .utf8)
        _ = try cairn.backup([data])
        let facts = try #require(try latestFacts(cairn))
        #expect(facts["aof_manifest"] == "appendonlydir/appendonly.aof.manifest", "\(facts)")
        #expect(facts["aof_base_keys"] == "425", "\(facts)")
    }
}
