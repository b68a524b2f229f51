import CairnCodec
import CairnCore
import Foundation

/// The repository's `config` object: format version and the parameters every writer must use.
/// Stored as plaintext JSON (it holds no secrets: keys live in `keys/`, and chunk ids and cut
/// points are keyed by the master key).
public struct RepositoryConfig: Codable, Sendable, Equatable {
    /// Format version; readers refuse versions they do not know. Formats only grow.
    public var version: Int
    /// Random 32-byte id (hex), also the name of the local cache folder.
    public var id: String
    public var created: Date
    /// "aes-256-gcm" or "none".
    public var encryption: String
    public var chunker: ChunkerParameters
    /// Chunker parameters for the tree (file recipe) stream.
    public var treeChunker: ChunkerParameters
    /// Chunk sizes for RDB files, which are cut at key-record boundaries (absent in repositories
    /// made before it existed: they use `defaultRecordChunker`).
    public var recordChunker: ChunkerParameters?
    public var compressionLevel: Int
    /// Packs are closed once they reach this many bytes.
    public var packSize: Int

    /// 2: a blob may hold a frame of several chunks (docs/FORMAT.md, "Packs"). Repositories of
    /// format 1 are read, and written in their own layout, so older readers keep reading them.
    public static let currentVersion = 2
    public static let defaultPackSize = 16 << 20
    public static let defaultTreeChunker = ChunkerParameters(minimumSize: 16 << 10, averageSize: 64 << 10, maximumSize: 256 << 10)

    /// 512 B / 2 KiB / 64 KiB: a nightly dump where 2% of keys changed re-stores only the chunks
    /// holding changed keys (see docs/FORMAT.md, "Record chunking", for the measurement).
    public static let defaultRecordChunker = ChunkerParameters(minimumSize: 512, averageSize: 2 << 10, maximumSize: 64 << 10)

    public var isEncrypted: Bool { encryption != "none" }
    public var effectiveRecordChunker: ChunkerParameters { recordChunker ?? Self.defaultRecordChunker }

    public static func new(encrypted: Bool, chunker: ChunkerParameters = .standard, compressionLevel: Int = 3,
                           packSize: Int = defaultPackSize, version: Int = currentVersion, now: Date) -> RepositoryConfig {
        var random = [UInt8](repeating: 0, count: 32)
        for index in random.indices { random[index] = UInt8.random(in: 0...255) }
        return RepositoryConfig(version: version, id: Hex.encode(random), created: now,
                                encryption: encrypted ? "aes-256-gcm" : "none", chunker: chunker,
                                treeChunker: defaultTreeChunker, recordChunker: defaultRecordChunker,
                                compressionLevel: compressionLevel, packSize: packSize)
    }

    static func decode(_ bytes: [UInt8], location: String) throws -> RepositoryConfig {
        let config: RepositoryConfig
        do {
            config = try JSONCoding.decoder.decode(RepositoryConfig.self, from: Data(bytes))
        } catch {
            throw RepositoryError(.repositoryNotFound, "\(location) has a config that is not a Cairn repository config", cause: error)
        }
        guard config.version <= currentVersion else {
            throw RepositoryError(.failure, "the repository at \(location) has format version \(config.version); this cairn reads up to \(currentVersion)",
                                  hint: "upgrade cairn")
        }
        try config.validate(location: location)
        return config
    }

    /// Chunks larger than this are refused: no chunker setting Cairn writes comes near it, and
    /// readers refuse frames larger (`BlobReader.maximumFrameBytes`).
    static let maximumChunkSize = 256 << 20

    /// Refuses settings that no writer produces and that would trap or hang a backup: the config
    /// is plaintext, so damage or an edit reaches the chunkers and the compressor unchecked.
    func validate(location: String) throws {
        for (name, sizes) in [("chunker", chunker), ("tree_chunker", treeChunker), ("record_chunker", effectiveRecordChunker)] {
            guard sizes.minimumSize > 0, sizes.minimumSize < sizes.averageSize, sizes.averageSize < sizes.maximumSize,
                  sizes.averageSize & (sizes.averageSize - 1) == 0, sizes.maximumSize <= Self.maximumChunkSize else {
                throw RepositoryError(.integrity, "the config at \(location) has impossible \(name) sizes (minimum \(sizes.minimumSize), "
                                      + "average \(sizes.averageSize), maximum \(sizes.maximumSize))")
            }
        }
        guard (1...22).contains(compressionLevel) else {
            throw RepositoryError(.integrity, "the config at \(location) has an impossible zstd compression level \(compressionLevel)")
        }
    }
}

/// JSON settings shared by every object the repository writes: sorted keys (stable bytes),
/// RFC 3339 dates with fractional seconds.
public enum JSONCoding {
    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(RFC3339.format(date))
        }
        return encoder
    }()

    public static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = RFC3339.parse(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an RFC 3339 date: \(text)")
            }
            return date
        }
        return decoder
    }()
}
