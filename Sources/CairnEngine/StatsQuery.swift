import CairnCatalog
import CairnCore
import CairnRepository

/// `cairn stats`: how much the snapshots hold and what the repository stores for them.
public struct RepositoryStatistics: Sendable, Codable {
    public var snapshots: Int
    /// Sum of every snapshot's file sizes: what restoring all of them would write.
    public var logicalBytes: Int64
    /// Raw bytes of the distinct chunks (after dedup, before compression).
    public var uniqueBytes: Int64
    /// Bytes of those chunks as stored (compressed and encrypted).
    public var storedBlobBytes: Int64
    /// Bytes of all pack files, headers included.
    public var packBytes: Int64
    public var packs: Int
    public var chunks: Int
    /// logical / unique.
    public var deduplicationRatio: Double
    /// unique / stored.
    public var compressionRatio: Double

    public static func compute(_ repository: Repository) throws -> RepositoryStatistics {
        let catalog = try repository.catalog.statistics()
        let snapshots = try repository.snapshots()
        // A snapshot's size is what its document says, and any key holder can write one (a
        // damaged catalog holds copies too): each counts at least 0, and the sum is at most
        // Int64.max rather than a trap.
        let logical = snapshots.saturatingSum { $0.document.summary.bytes }
        return RepositoryStatistics(
            snapshots: snapshots.count, logicalBytes: logical, uniqueBytes: catalog.rawChunkBytes,
            storedBlobBytes: catalog.storedChunkBytes, packBytes: catalog.packBytes, packs: catalog.packCount,
            chunks: catalog.chunkCount,
            deduplicationRatio: catalog.rawChunkBytes > 0 ? Double(logical) / Double(catalog.rawChunkBytes) : 0,
            compressionRatio: catalog.storedChunkBytes > 0 ? Double(catalog.rawChunkBytes) / Double(catalog.storedChunkBytes) : 0)
    }
}
