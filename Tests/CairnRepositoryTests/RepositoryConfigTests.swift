@testable import CairnRepository
import CairnCodec
import Foundation
import Testing

/// The config is plaintext: damage or an edit must be refused when the repository opens, not
/// reach the chunkers (a maximum of 0 cut empty chunks forever) or the compressor (a level past
/// Int32 trapped the backup).
@Suite("Repository config")
struct RepositoryConfigTests {
    static func decoded(_ edit: (inout RepositoryConfig) -> Void) throws -> RepositoryConfig {
        var config = RepositoryConfig.new(encrypted: false, now: Date())
        edit(&config)
        return try RepositoryConfig.decode(Array(try JSONCoding.encoder.encode(config)), location: "/repo")
    }

    @Test func aConfigAsWrittenDecodes() throws {
        let config = try Self.decoded { _ in }
        #expect(config.chunker == .standard)
        #expect(config.compressionLevel == 3)
    }

    @Test(arguments: [(0, 0, 0), (0, 1024, 4096), (2048, 1024, 4096), (256, 1000, 4096), (256, 1024, 1024), (256, 1024, 1 << 40),
                      (-1, 1024, 4096)])
    func chunkSizesNoWriterProducesAreRefused(minimum: Int, average: Int, maximum: Int) {
        for field in ["chunker", "tree_chunker", "record_chunker"] {
            let error = #expect(throws: RepositoryError.self) {
                _ = try Self.decoded { config in
                    var sizes = ChunkerParameters.standard
                    sizes.minimumSize = minimum
                    sizes.averageSize = average
                    sizes.maximumSize = maximum
                    switch field {
                    case "chunker": config.chunker = sizes
                    case "tree_chunker": config.treeChunker = sizes
                    default: config.recordChunker = sizes
                    }
                }
            }
            #expect(error?.category == .integrity)
            #expect(error?.message.contains("impossible \(field) sizes") == true, "\(error?.message ?? "")")
        }
    }

    @Test(arguments: [0, -5, 23, 1 << 40])
    func aCompressionLevelZstdDoesNotHaveIsRefused(level: Int) {
        let error = #expect(throws: RepositoryError.self) { _ = try Self.decoded { $0.compressionLevel = level } }
        #expect(error?.message.contains("impossible zstd compression level \(level)") == true, "\(error?.message ?? "")")
    }

    /// A fraction of 40 digits in a date (the config's, a key file's, a lock's or a snapshot's)
    /// killed every command with SIGFPE inside ICU; more than nanoseconds is not a date.
    @Test func aDateWithAFractionLongerThanNanosecondsIsNotADate() throws {
        #expect(RFC3339.parse("2026-12-02T07:32:21.123456789Z") != nil)
        #expect(RFC3339.parse("2026-12-02T07:32:21.123Z") != nil)
        #expect(RFC3339.parse("2026-12-02T07:32:21Z") != nil)
        let long = "2026-12-02T07:32:21." + String(repeating: "1", count: 40) + "Z"
        #expect(RFC3339.parse(long) == nil)
        let config = RepositoryConfig.new(encrypted: false, now: Date())
        var json = String(decoding: try JSONCoding.encoder.encode(config), as: UTF8.self)
        json = json.replacingOccurrences(of: RFC3339.format(config.created), with: long)
        let error = #expect(throws: RepositoryError.self) { _ = try RepositoryConfig.decode(Array(json.utf8), location: "/repo") }
        #expect(error?.message.contains("not a Cairn repository config") == true, "\(error?.message ?? "")")
    }
}
