// swift-tools-version:6.0
import PackageDescription

// Layers (arrows point down only; the compiler holds them):
//   cairn -> CairnCLI -> CairnEngine -> CairnRedis, CairnPolicy, CairnRepository
//   CairnRepository -> CairnCatalog, CairnBackends, CairnCodec -> CairnCore
let package = Package(
    name: "cairn",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "cairn", targets: ["cairn"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // TLS to Redis (rediss://) only: CairnRedis's second transport; plain TCP and unix sockets do not use them.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        // HTTP to Swift and S3 repositories: pooled connections, and uploads sent from the spool file by sendfile(2).
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        .systemLibrary(name: "CZstd", path: "Sources/CZstd", pkgConfig: "libzstd",
                       providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3",
                       providers: [.apt(["libsqlite3-dev"])]),
        .target(name: "CairnCore"),
        .target(name: "CCRC64Fold", path: "Sources/CCRC64Fold"),
        .target(name: "CairnCodec", dependencies: [
            "CairnCore", "CZstd",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "CryptoExtras", package: "swift-crypto"),
        ]),
        .target(name: "CairnBackends", dependencies: [
            "CairnCore",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        .target(name: "CairnCatalog", dependencies: ["CairnCore", "CSQLite"]),
        .target(name: "CairnRepository", dependencies: [
            "CairnCore", "CairnCodec", "CairnBackends", "CairnCatalog",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "CairnRedis", dependencies: [
            "CairnCore", "CCRC64Fold",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOTLS", package: "swift-nio"),
        ]),
        .target(name: "CairnPolicy", dependencies: ["CairnCore"]),
        .target(name: "CairnEngine", dependencies: [
            "CairnCore", "CairnCodec", "CairnBackends", "CairnCatalog", "CairnRepository", "CairnRedis", "CairnPolicy",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "CairnCLI", dependencies: [
            "CairnCore", "CairnEngine", "CairnRepository", "CairnRedis", "CairnPolicy",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "cairn", dependencies: ["CairnCLI"]),
        .executableTarget(name: "cairn-bench-micro", dependencies: ["CairnCore", "CairnCodec", "CairnCatalog", "CairnRedis"],
                          path: "Sources/cairn-bench-micro"),

        // Helpers the test targets share (a seeded generator, loopback ports); no product depends on it.
        .target(name: "CairnTestSupport", path: "Tests/CairnTestSupport"),
        .testTarget(name: "CairnCoreTests", dependencies: ["CairnCore", "CairnTestSupport"]),
        .testTarget(name: "CairnCodecTests", dependencies: ["CairnCodec", "CairnCore", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "CairnCatalogTests", dependencies: ["CairnCatalog"]),
        .testTarget(name: "CairnBackendsTests", dependencies: ["CairnBackends", "CairnTestSupport"]),
        .testTarget(name: "CairnRepositoryTests", dependencies: ["CairnRepository", "CairnCatalog", "CairnCodec", "CairnBackends", "CairnTestSupport",
                                                                .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "CairnRedisTests", dependencies: ["CairnRedis", "CairnTestSupport"],
                    resources: [.copy("Data")]),
        .testTarget(name: "CairnPolicyTests", dependencies: ["CairnPolicy", "CairnCore", "CairnTestSupport"],
                    resources: [.copy("Golden")]),
        .testTarget(name: "CairnEngineTests", dependencies: ["CairnEngine", "CairnRepository", "CairnBackends", "CairnCodec", "CairnCore", "CairnTestSupport",
                                                            .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "CairnCLITests", dependencies: ["CairnCore", "CairnTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
