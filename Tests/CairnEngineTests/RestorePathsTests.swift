@testable import CairnEngine
import CairnCore
import CairnRepository
import Foundation
import Glibc
import Logging
import Testing

/// A snapshot's tree comes from whoever holds a key to the repository. One that Cairn would never
/// write must not make a restore (often run as root) create anything outside its target.
@Suite("Restore stays inside its target")
struct RestorePathsTests {
    /// Commits a snapshot whose tree is exactly `nodes` (directories, symlinks and hard links only).
    static func hostileSnapshot(_ fixture: RestoreFixture, _ nodes: [TreeNode]) throws -> Snapshot {
        let repository = fixture.repository
        let blobs = BlobWriter(repository: repository, workers: 1)
        defer { blobs.close() }
        let tree = TreeWriter(blobs: blobs, chunker: repository.treeChunker, maximumChunkSize: repository.config.treeChunker.maximumSize)
        try tree.append(TreeNode(kind: .directory, path: [], mode: 0o700))
        for node in nodes { try tree.append(node) }
        let ids = try tree.finish()
        try blobs.flush()
        let document = SnapshotDocument(time: Date(), hostname: "elsewhere", username: "x", tags: [], paths: ["/data"],
                                        tree: ids.map(\.hex), parent: nil, summary: BackupSummary(), program: "not cairn")
        return try repository.loadSnapshot(try repository.commitSnapshot(document))
    }

    static func directory(_ path: String) -> TreeNode { TreeNode(kind: .directory, path: Array(path.utf8), mode: 0o700) }

    @Test(arguments: [
        ("climbs out", [Self.directory("../escaped")]),
        ("absolute", [Self.directory("/escaped")]),
        ("through a symlink it restored", [TreeNode(kind: .symlink, path: Array("a".utf8), mode: 0o777, linkTarget: Array("OUTSIDE".utf8)),
                                           Self.directory("a/escaped")]),
        ("hard link to an outside file", [TreeNode(kind: .hardlink, path: Array("h".utf8), linkTarget: Array("../outside-file".utf8))]),
    ] as [(String, [TreeNode])])
    func aTreeThatLeavesTheTargetStopsTheRestore(_ name: String, _ nodes: [TreeNode]) throws {
        let fixture = try RestoreFixture()
        let outside = fixture.root + "/outside"
        mkdir(outside, 0o700)
        #expect(FileManager.default.createFile(atPath: fixture.root + "/outside-file", contents: Data("keep".utf8)))
        let resolved = nodes.map { node -> TreeNode in
            var node = node
            if node.kind == .symlink { node.linkTarget = Array(outside.utf8) }
            return node
        }
        let snapshot = try Self.hostileSnapshot(fixture, resolved)
        var request = RestoreRequest(target: fixture.root + "/target/inner")
        request.restoreOwnership = false
        let error = #expect(throws: EngineError.self, "\(name)") {
            try RestoreJob(repository: fixture.repository, snapshot: snapshot, request: request, logger: Logger(label: "test")).run()
        }
        #expect(error?.category == .integrity)
        #expect(error?.message.contains("outside the target") == true, "\(error?.message ?? "")")
        #expect(!FileManager.default.fileExists(atPath: fixture.root + "/target/escaped"), "\(name)")
        #expect(!FileManager.default.fileExists(atPath: "/escaped"), "\(name)")
        #expect((try? FileManager.default.contentsOfDirectory(atPath: outside)) == [], "\(name)")
        #expect(!FileManager.default.fileExists(atPath: fixture.root + "/target/inner/h"), "\(name)")
    }

    /// What Cairn writes still restores: a symlink, and paths beside (not below) it.
    @Test func symlinksAndTheirNeighboursStillRestore() throws {
        let fixture = try RestoreFixture()
        let snapshot = try Self.hostileSnapshot(fixture, [
            TreeNode(kind: .symlink, path: Array("a".utf8), mode: 0o777, linkTarget: Array("/etc".utf8)),
            Self.directory("ab"), Self.directory("ab/c"),
        ])
        var request = RestoreRequest(target: fixture.root + "/target")
        request.restoreOwnership = false
        _ = try RestoreJob(repository: fixture.repository, snapshot: snapshot, request: request, logger: Logger(label: "test")).run()
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: request.target + "/a") == "/etc")
        #expect(FileManager.default.fileExists(atPath: request.target + "/ab/c"))
    }
}
