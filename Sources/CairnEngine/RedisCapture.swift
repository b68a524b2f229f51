import CairnRedis
import Foundation
import Glibc
import Logging

/// How to reach the server and where its files are.
public struct RedisCaptureRequest: Sendable {
    public var address: RedisAddress
    /// Used when CONFIG GET is renamed or not permitted; wins over what CONFIG says.
    public var dataDirectory: String?
    public var bgsaveTimeout: TimeInterval = 3600

    public init(address: RedisAddress, dataDirectory: String? = nil) {
        self.address = address
        self.dataDirectory = dataDirectory
    }
}

/// A consistent copy of a server's data directory, frozen in a staging folder next to it with
/// hard links (copies where needed), and what it holds.
public struct CapturedDataDirectory: Sendable {
    public var stagingDirectory: String
    public var dataDirectory: String
    public var metadata: [String: String]

    /// Removes the staging folder (its links; never Redis's own files).
    public func remove() { FileCopy.removeTree(stagingDirectory) }
}

/// `cairn backup --redis URL`: BGSAVE, wait for it, freeze dump.rdb and exactly the manifest's
/// generation of the multi-part AOF (or the single-file AOF), validate, and describe.
public struct RedisCapture {
    let request: RedisCaptureRequest
    let logger: Logger

    public init(request: RedisCaptureRequest, logger: Logger) {
        self.request = request
        self.logger = logger
    }

    public func run() throws -> CapturedDataDirectory {
        let client = try RESPClient(address: request.address)
        let facts = try RedisServerFacts.discover(client, dataDirectory: request.dataDirectory)
        guard let directoryInfo = SystemPath(facts.dataDirectory).lstat(), directoryInfo.isDirectory else {
            throw EngineError(.inputNotFound, "the data directory \(facts.dataDirectory) is not readable from here",
                              hint: "run on the Redis host, pass --data-dir, or use --via replication")
        }
        removeStaleStaging(in: facts.dataDirectory)
        logger.info("BGSAVE on \(request.address)")
        try BackgroundSave(client: client, timeout: request.bgsaveTimeout).run()

        let staging = facts.dataDirectory + "/.cairn-capture-\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
        try FileCopy.makeDirectory(staging, like: facts.dataDirectory)
        do {
            let dump = facts.dataDirectory + "/" + facts.dbFilename
            try FileCopy.linkOrCopy(dump, staging + "/" + facts.dbFilename)
            if facts.appendOnly {
                if let folder = facts.appendDirectory {
                    try captureMultiPartAOF(client: client, facts: facts, folder: folder, staging: staging)
                } else {
                    try captureSingleFileAOF(facts: facts, staging: staging)
                }
            }
            try linkOtherFiles(facts: facts, staging: staging)
            var metadata = try RedisDirectoryValidator.validate(staging, readRDBs: false)
            metadata["redis_version"] = facts.version
            metadata["role"] = facts.role
            metadata["master_repl_offset"] = facts.replicationOffset
            metadata["used_memory"] = facts.usedMemory
            metadata["aof"] = facts.appendOnly ? "yes" : "no"
            metadata["capture"] = "bgsave"
            // The backup records this file, and only this one, as the snapshot's RDB.
            metadata["dbfilename"] = facts.dbFilename
            metadata["data_dir"] = facts.dataDirectory
            metadata["address"] = request.address.description
            FileCopy.copyTimes(from: facts.dataDirectory, to: staging)
            return CapturedDataDirectory(stagingDirectory: staging, dataDirectory: facts.dataDirectory, metadata: metadata)
        } catch {
            FileCopy.removeTree(staging)
            throw error
        }
    }

    /// Freezes base + increments + manifest of one generation: never while a rewrite runs, and
    /// the manifest must read the same before and after the files are taken.
    private func captureMultiPartAOF(client: RESPClient, facts: RedisServerFacts, folder: String, staging: String) throws {
        let source = facts.dataDirectory + "/" + folder
        let manifestName = facts.appendFilename + ".manifest"
        for attempt in 1...20 {
            try waitForRewrite(client)
            let before = try String(contentsOfFile: source + "/" + manifestName, encoding: .utf8)
            let manifest = try AOFManifest(parsing: before)
            let target = staging + "/" + folder
            FileCopy.removeTree(target)
            try FileCopy.makeDirectory(target, like: source)
            do {
                let lastIncrement = manifest.increments.last?.name
                for entry in manifest.liveFiles {
                    let from = source + "/" + entry.name, to = target + "/" + entry.name
                    if entry.name == lastIncrement {
                        // Redis appends to it: copy what is there now, cut at the last whole command.
                        let fd = open(from, O_RDONLY | O_CLOEXEC)
                        guard fd >= 0 else { throw EngineError(.inputNotFound, "\(from) vanished") }
                        var info = stat()
                        fstat(fd, &info)
                        let length = try AOFScanner.completeLength(fd: fd, limit: Int64(info.st_size))
                        close(fd)
                        try FileCopy.copyPrefix(from, to, length: length)
                    } else {
                        try FileCopy.linkOrCopy(from, to)
                    }
                }
                let after = try String(contentsOfFile: source + "/" + manifestName, encoding: .utf8)
                guard after == before else { throw EngineError(.redis, "the AOF manifest changed during capture") }
                try FileCopy.copyPrefix(source + "/" + manifestName, target + "/" + manifestName, length: nil)
                FileCopy.copyTimes(from: source, to: target)
                return
            } catch let error as EngineError where attempt < 20 {
                logger.info("AOF changed while capturing (\(error.message)); trying again")
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
        throw EngineError(.redis, "the AOF kept changing while it was captured", hint: "try again when the server is less busy")
    }

    private func captureSingleFileAOF(facts: RedisServerFacts, staging: String) throws {
        let from = facts.dataDirectory + "/" + facts.appendFilename
        let fd = open(from, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        var info = stat()
        fstat(fd, &info)
        let length = try AOFScanner.completeLength(fd: fd, limit: Int64(info.st_size))
        close(fd)
        try FileCopy.copyPrefix(from, staging + "/" + facts.appendFilename, length: length)
    }

    private func waitForRewrite(_ client: RESPClient) throws {
        let deadline = Date().addingTimeInterval(request.bgsaveTimeout)
        while true {
            let info = try client.info("persistence")
            if info["aof_rewrite_in_progress"] != "1" && info["aof_rewrite_scheduled"] != "1" { return }
            guard Date() < deadline else { throw EngineError(.redis, "an AOF rewrite did not finish in time") }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// Other regular files of the data directory (nodes.conf, …), but not Redis's temp files and
    /// not what earlier `cairn redis-restore` runs moved aside (`*.old`, `*.old.N`, files or folders):
    /// those are old datasets, often many times the size of the current one.
    private func linkOtherFiles(facts: RedisServerFacts, staging: String) throws {
        let skip: Set<String> = [facts.dbFilename, facts.appendDirectory ?? "", facts.appendFilename]
        var movedAside = 0
        for name in (try? FileManager.default.contentsOfDirectory(atPath: facts.dataDirectory)) ?? [] {
            if skip.contains(name) || name.hasPrefix("temp-") || name.hasPrefix(".cairn-") { continue }
            if RedisLeftover.isMovedAside(name) {
                movedAside += 1
                continue
            }
            let path = facts.dataDirectory + "/" + name
            guard let info = SystemPath(path).lstat(), info.isRegularFile else { continue }
            try? FileCopy.linkOrCopy(path, staging + "/" + name)
        }
        if movedAside > 0 {
            logger.info("not capturing \(movedAside) entries named *.old or *.old.N in \(facts.dataDirectory): earlier restores moved them aside; they are not the server's data")
        }
    }

    /// Staging folders of captures whose process is gone.
    private func removeStaleStaging(in directory: String) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasPrefix(".cairn-capture-") {
            let parts = name.split(separator: "-")
            if parts.count >= 3, let pid = Int32(parts[2]), kill(pid, 0) != 0, errno == ESRCH {
                logger.warning("removing the staging folder of an interrupted capture: \(directory)/\(name)")
                FileCopy.removeTree(directory + "/" + name)
            }
        }
    }
}
