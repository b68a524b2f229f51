import ArgumentParser
import CairnEngine
import CairnRepository
import Foundation

struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Show how much the snapshots hold and what the repository stores.",
        discussion: """
        logical: what restoring every snapshot would write; unique: distinct chunks before compression; \
        stored: the same chunks compressed and encrypted. dedup = logical / unique, compression = unique / stored.
        """)

    @OptionGroup var options: RepositoryOptions

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let repository = try options.open()
        let stats = try RepositoryStatistics.compute(repository)
        if json {
            Console.json(["snapshots": stats.snapshots, "logical_bytes": stats.logicalBytes, "unique_bytes": stats.uniqueBytes,
                          "stored_bytes": stats.storedBlobBytes, "pack_bytes": stats.packBytes, "packs": stats.packs,
                          "chunks": stats.chunks, "dedup_ratio": stats.deduplicationRatio,
                          "compression_ratio": stats.compressionRatio] as [String: Any])
            return
        }
        Console.out("snapshots:         \(stats.snapshots)")
        Console.out("logical size:      \(Rendering.size(stats.logicalBytes))")
        Console.out("unique chunks:     \(stats.chunks) (\(Rendering.size(stats.uniqueBytes)))")
        Console.out("stored:            \(Rendering.size(stats.storedBlobBytes)) in \(stats.packs) packs (\(Rendering.size(stats.packBytes)))")
        Console.out("dedup ratio:       \(String(format: "%.2f", stats.deduplicationRatio))x")
        Console.out("compression ratio: \(String(format: "%.2f", stats.compressionRatio))x")
    }
}
