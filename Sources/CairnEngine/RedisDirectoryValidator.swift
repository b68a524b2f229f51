import CairnRedis
import Foundation
import Glibc

/// Validates the Redis files of a directory before a snapshot of it is committed: every RDB
/// (dump.rdb, AOF base) is read to the end with its checksum, and an AOF manifest must parse and
/// list files that exist. Returns what the snapshot records about the dataset.
public enum RedisDirectoryValidator {
    /// With `readRDBs` false only the manifests are checked: the backup walks each RDB while it
    /// chunks it (one read instead of two) and records the counts itself.
    public static func validate(_ directory: String, readRDBs: Bool = true) throws -> [String: String] {
        var metadata: [String: String] = [:]
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names.sorted() {
            let path = directory + "/" + name
            guard let info = SystemPath(path).lstat() else { continue }
            if readRDBs && info.isRegularFile && looksLikeRDB(path) {
                let summary = try read(path, name: name, allowTrailingData: name.hasSuffix(".aof"))
                if !RedisLeftover.isLeftover(name) && (metadata["rdb_version"] == nil || name == "dump.rdb") {
                    metadata.merge(Self.metadata(of: summary, file: name)) { _, new in new }
                }
            } else if info.isDirectory {
                for manifestName in ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []) where manifestName.hasSuffix(".manifest") {
                    let manifest = try AOFManifest(parsing: try String(contentsOfFile: path + "/" + manifestName, encoding: .utf8))
                    for entry in manifest.liveFiles {
                        let file = path + "/" + entry.name
                        guard SystemPath(file).lstat() != nil else {
                            throw EngineError(.integrity, "the AOF manifest \(name)/\(manifestName) lists \(entry.name), which is missing",
                                              hint: "the AOF is incomplete; no snapshot was made")
                        }
                        if readRDBs && entry.type == .base && looksLikeRDB(file) {
                            let summary = try read(file, name: name + "/" + entry.name, allowTrailingData: false)
                            if !RedisLeftover.isMovedAside(name) { metadata["aof_base_keys"] = String(summary.keys) }
                        }
                    }
                    // An AOF folder an earlier restore moved aside (appendonlydir.old) is checked
                    // like any other, but it is not the server's AOF: drill must not load it.
                    if !RedisLeftover.isMovedAside(name) { metadata["aof_manifest"] = name + "/" + manifestName }
                }
            }
        }
        return metadata
    }

    /// What a snapshot records about its RDB: counted from the file itself, not from INFO.
    static func metadata(of summary: RDBSummary, file: String) -> [String: String] {
        ["rdb_file": file, "rdb_version": String(summary.version), "keys": String(summary.keys),
         "keys_per_db": summary.keysPerDatabase, "expires": String(summary.expires), "functions": String(summary.functions)]
    }

    static func looksLikeRDB(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 5)) ?? Data()
        return head == Data("REDIS".utf8) || path.hasSuffix(".rdb")
    }

    static func read(_ path: String, name: String, allowTrailingData: Bool) throws -> RDBSummary {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw EngineError(.inputNotFound, "cannot open \(path): \(errnoMessage(errno))") }
        defer { close(fd) }
        return try RDBReader.read(FileDescriptorSource(descriptor: fd), name: name, allowTrailingData: allowTrailingData)
    }
}
