import CairnBackends
import CairnCatalog
import CairnCodec
import CairnCore
import Foundation
import Logging

/// An open repository: its store, keys, parameters and catalog. Thread-safe for reads; the
/// backup pipeline serializes writes through `BlobWriter`.
public final class Repository: @unchecked Sendable {
    public let store: any ObjectStore
    public let config: RepositoryConfig
    public let catalog: Catalog
    public let logger: Logger
    let masterKey: MasterKey
    /// The key file the password opened (nil for unencrypted repositories).
    public let currentKey: KeyID?
    public let envelope: Envelope
    public let hasher: ChunkHasher
    public let chunker: ContentDefinedChunker
    public let treeChunker: ContentDefinedChunker
    /// Sizes and keyed fingerprints for cutting RDB files at key-record boundaries.
    public let recordChunker: ContentDefinedChunker
    public let catalogPath: String
    /// How packs and index objects are written: format 2 repositories store runs of adjacent new
    /// chunks as one frame; format 1 ones keep one chunk per blob, so older readers still read them.
    public var packLayout: PackLayout { PackLayout(formatVersion: config.version) }

    init(store: any ObjectStore, config: RepositoryConfig, masterKey: MasterKey, currentKey: KeyID?,
         catalog: Catalog, catalogPath: String, logger: Logger) {
        self.store = store
        self.config = config
        self.masterKey = masterKey
        self.currentKey = currentKey
        self.catalog = catalog
        self.catalogPath = catalogPath
        self.logger = logger
        self.envelope = Envelope(encryptionKey: config.isEncrypted ? masterKey.encryptionKey : nil)
        self.hasher = ChunkHasher(idKey: masterKey.idKey)
        self.chunker = ContentDefinedChunker(parameters: config.chunker, seed: masterKey.chunkerSeed)
        self.treeChunker = ContentDefinedChunker(parameters: config.treeChunker, seed: masterKey.chunkerSeed)
        self.recordChunker = ContentDefinedChunker(parameters: config.effectiveRecordChunker, seed: masterKey.chunkerSeed)
    }

    // MARK: Creating and opening

    /// Creates a repository in an empty store. `password` is nil only with `encrypted == false`.
    public static func initialize(store: any ObjectStore, config: RepositoryConfig, password: String?,
                                  scrypt: ScryptParameters = .standard, identity: Identity) throws {
        if try store.stat(.config) != nil {
            throw RepositoryError(.usage, "\(store.location) already holds a repository", hint: "use it, or choose another path")
        }
        if config.isEncrypted {
            guard let password, !password.isEmpty else {
                throw RepositoryError(.usage, "an encrypted repository needs a non-empty password")
            }
            let key = MasterKey.random()
            try addKeyFile(store: store, masterKey: key, password: password, scrypt: scrypt, identity: identity)
        }
        // The config goes last: a store with a config is a complete repository.
        try store.put(.config, bytes: Array(try JSONCoding.encoder.encode(config)))
    }

    @discardableResult
    static func addKeyFile(store: any ObjectStore, masterKey: MasterKey, password: String,
                           scrypt: ScryptParameters, identity: Identity) throws -> KeyID {
        let wrapped = try WrappedKey.wrap(masterKey, password: password, parameters: scrypt)
        let file = KeyFile(created: identity.now, hostname: identity.hostname, username: identity.username, wrapped: wrapped)
        let bytes = Array(try JSONCoding.encoder.encode(file))
        let id = KeyID(SHA256Digest.hash(bytes))
        try store.put(ObjectKey(.keys, id.hex), bytes: bytes)
        return id
    }

    /// Opens the repository in `store`, unlocking it with `password` (ignored when unencrypted),
    /// and brings the catalog in `cacheDirectory` up to date with the store unless `synchronize`
    /// is false: a caller that takes the repository lock next synchronizes once it holds it.
    /// With `preloadLocations` (a restore, which looks up every chunk it writes), every chunk's
    /// location is read from the catalog on another thread while the key is derived (see
    /// `LocationPreload`).
    public static func open(store: any ObjectStore, password: () throws -> String, cacheDirectory: String,
                            synchronize: Bool = true, preloadLocations: Bool = false, logger: Logger) throws -> Repository {
        // Only a config that is not there means "no repository": a refused login, a missing
        // endpoint or an unreadable directory is reported as what it is.
        let configBytes: [UInt8]
        do {
            configBytes = try store.get(.config)
        } catch let failure as any CairnFailure where failure.category == .inputNotFound {
            throw RepositoryError(.repositoryNotFound, "there is no Cairn repository at \(store.location)",
                                  hint: "check --repo / CAIRN_REPOSITORY, or create one with `cairn init`")
        }
        let config = try RepositoryConfig.decode(configBytes, location: store.location)
        let catalogPath = cacheDirectory + "/catalog.sqlite"
        // The catalog comes from the disk while scrypt runs (~0.13 s), not after it.
        Catalog.readAhead(catalogPath)
        let preload = preloadLocations ? LocationPreload.start(path: catalogPath) : nil
        var masterKey = MasterKey.insecureFixed
        var currentKey: KeyID?
        if config.isEncrypted {
            (masterKey, currentKey) = try unlock(store: store, password: try password())
        }
        let catalog = try openCatalog(at: catalogPath, logger: logger)
        catalog.adopt(preload)
        let repository = Repository(store: store, config: config, masterKey: masterKey, currentKey: currentKey,
                                    catalog: catalog, catalogPath: catalogPath, logger: logger)
        if try catalog.value(forMeta: "repository") != config.id {
            try catalog.write { try $0.deleteAll(); try $0.setMeta("repository", config.id) }
        }
        if synchronize { try repository.synchronizeCatalog() }
        return repository
    }

    private static func unlock(store: any ObjectStore, password: String) throws -> (MasterKey, KeyID) {
        let keys = try store.list(.keys)
        guard !keys.isEmpty else {
            throw RepositoryError(.integrity, "the repository at \(store.location) is encrypted but has no key files",
                                  hint: "restore keys/ from a copy of the repository")
        }
        for info in keys {
            guard let id = KeyID(hex: info.key.name) else { continue }
            let file: KeyFile
            do {
                file = try JSONCoding.decoder.decode(KeyFile.self, from: Data(try store.get(info.key)))
            } catch {
                continue
            }
            if let key = try? file.wrapped.unwrap(password: password) { return (key, id) }
        }
        throw RepositoryError(.wrongPassword, "the password does not open any key of the repository at \(store.location)",
                              hint: "check CAIRN_PASSWORD / CAIRN_PASSWORD_FILE / CAIRN_PASSWORD_COMMAND")
    }

    /// Opens the catalog; a damaged one is moved aside and rebuilt (it is only a cache).
    private static func openCatalog(at path: String, logger: Logger) throws -> Catalog {
        do {
            return try Catalog(path: path)
        } catch let error as CairnFailure where error.category == .integrity {
            logger.warning("the catalog at \(path) is damaged (\(error.message)); rebuilding it from the repository")
            for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
            return try Catalog(path: path)
        }
    }

    // MARK: Objects

    /// Reads, authenticates and decodes an encrypted object.
    func readSealed(_ key: ObjectKey) throws -> [UInt8] {
        let stored = try store.get(key)
        do {
            return try envelope.open(stored)
        } catch {
            throw RepositoryError(.integrity, "object \(key.path) failed authentication", cause: error)
        }
    }

    /// Seals and writes an object named by the SHA-256 of its stored bytes; returns that name.
    func writeSealed(_ kind: ObjectKind, _ plaintext: [UInt8]) throws -> Hash256 {
        let stored = envelope.seal(plaintext)
        let name = SHA256Digest.hash(stored)
        try store.put(ObjectKey(kind, name.hex), bytes: stored)
        return name
    }

    public func loadSnapshot(_ id: SnapshotID) throws -> Snapshot {
        if let row = try catalog.snapshot(id) {
            return Snapshot(id: id, document: try decodeSnapshot(row.document, id: id))
        }
        let plaintext = try readSealed(ObjectKey(.snapshots, id.hex))
        return Snapshot(id: id, document: try decodeSnapshot(plaintext, id: id))
    }

    func decodeSnapshot(_ plaintext: [UInt8], id: SnapshotID) throws -> SnapshotDocument {
        do {
            return try JSONCoding.decoder.decode(SnapshotDocument.self, from: Data(plaintext))
        } catch {
            throw RepositoryError(.integrity, "snapshot \(id) is not a valid snapshot document", cause: error)
        }
    }

    /// Every snapshot, oldest first.
    public func snapshots() throws -> [Snapshot] {
        try catalog.snapshots().map { Snapshot(id: $0.id, document: try decodeSnapshot($0.document, id: $0.id)) }
    }

    /// Writes the snapshot object, then its catalog row (the order the design requires).
    public func commitSnapshot(_ document: SnapshotDocument, beforeCatalog: () -> Void = {}) throws -> SnapshotID {
        let plaintext = Array(try JSONCoding.encoder.encode(document))
        let id = SnapshotID(try writeSealed(.snapshots, plaintext))
        beforeCatalog()
        try catalog.write { try $0.insertSnapshot(SnapshotRow(id: id, time: document.time, hostname: document.hostname, document: plaintext)) }
        return id
    }

    /// Removes a snapshot object and its catalog row. Data stays until `prune`.
    public func forgetSnapshot(_ id: SnapshotID) throws {
        try store.delete(ObjectKey(.snapshots, id.hex))
        try catalog.write { try $0.deleteSnapshot(id) }
    }
}

/// Who and when, recorded in key files and snapshots; passed in so libraries read no globals.
public struct Identity: Sendable {
    public var hostname: String
    public var username: String
    public var now: Date
    /// This boot of this machine (`/proc/sys/kernel/random/boot_id`), nil where unknown.
    public var bootID: String?
    /// This process's PID namespace (the link `/proc/self/ns/pid`, e.g. `pid:[4026531836]`), nil
    /// where unknown. With `bootID`, it says whether a pid recorded in a lock means the same process here.
    public var pidNamespace: String?
    public init(hostname: String, username: String, now: Date, bootID: String? = nil, pidNamespace: String? = nil) {
        self.hostname = hostname; self.username = username; self.now = now
        self.bootID = bootID; self.pidNamespace = pidNamespace
    }
}
