// swift-tools-version:6.2
// pgswift: a PostgreSQL connection-pooling proxy.
import PackageDescription

// Release builds skip dynamic exclusivity checks on the data path (measured: ~7% of user CPU);
// debug builds and tests keep them, so a violation is still caught there.
let hotPathSettings: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "pgswift",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "pgswift", targets: ["pgswift"]),
        .library(name: "ResponseOptimizer", targets: ["ResponseOptimizer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
    ],
    targets: [
        .systemLibrary(name: "CLibCrypto", path: "Sources/CLibCrypto"),
        .systemLibrary(name: "CPgQuery", path: "Sources/CPgQuery"),
        .systemLibrary(name: "CBrotli", path: "Sources/CBrotli"),
        .systemLibrary(name: "CDeflate", path: "Sources/CDeflate"),
        .systemLibrary(name: "CHiredis", path: "Sources/CHiredis"),
        .systemLibrary(name: "CMemcached", path: "Sources/CMemcached"),
        .target(
            name: "ResponseOptimizer",
            dependencies: [
                "CBrotli", "CDeflate", "CLibCrypto",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "StatusHTTP",
            dependencies: [
                "ResponseOptimizer", "Config",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "CompressionBench",
            dependencies: ["ResponseOptimizer", .product(name: "NIOCore", package: "swift-nio")],
            path: "Benchmarks/CompressionBench"
        ),
        .executableTarget(
            name: "ProfileBench",
            dependencies: ["SQLAnalysis"],
            path: "Benchmarks/ProfileBench"
        ),
        .executableTarget(
            name: "ResponseOptimizerExample",
            dependencies: ["ResponseOptimizer", .product(name: "Hummingbird", package: "hummingbird"), .product(name: "NIOCore", package: "swift-nio")],
            path: "Examples/ResponseOptimizerExample"
        ),
        .target(name: "SQLAnalysis", dependencies: ["CPgQuery"], swiftSettings: hotPathSettings),
        // Pure: the result cache's tiers and policies as values (time passed in).
        .target(name: "ResultCache", dependencies: ["SQLAnalysis", "Config", .product(name: "NIOCore", package: "swift-nio")],
                swiftSettings: hotPathSettings + [.unsafeFlags(["-cross-module-optimization"], .when(configuration: .release))]),
        // Pure: nodes, their health and circuit breakers, and which node gets a statement.
        .target(name: "Routing", dependencies: ["SQLAnalysis"]),
        .target(
            name: "PGWire",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                "CLibCrypto",
            ],
            swiftSettings: hotPathSettings
        ),
        .target(name: "Config"),
        // The result cache's L2 (Redis, NIO networking with hiredis as the RESP parser) and L3 (Memcached) clients.
        .target(
            name: "RedisClient",
            dependencies: [
                "CHiredis",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .target(
            name: "MemcachedClient",
            dependencies: [
                "CMemcached",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .target(
            name: "PoolCore",
            dependencies: ["PGWire", .product(name: "NIOCore", package: "swift-nio"), .product(name: "Histogram", package: "hdrhistogram-swift")],
            swiftSettings: hotPathSettings
        ),
        .target(
            name: "SessionCore",
            dependencies: ["PGWire", "SQLAnalysis", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: hotPathSettings
        ),
        .target(
            name: "AdminConsole",
            dependencies: [
                "PGWire", "PoolCore", "Config",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "ProxyServer",
            dependencies: [
                "PGWire", "PoolCore", "SessionCore", "Config", "SQLAnalysis", "Routing", "StatusHTTP", "ResponseOptimizer", "AdminConsole", "ResultCache", "RedisClient", "MemcachedClient",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: hotPathSettings
        ),
        .executableTarget(
            name: "pgswift",
            dependencies: [
                "ProxyServer", "Config",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "StatusHTTPTests",
            dependencies: [
                "StatusHTTP", "Config",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        .testTarget(
            name: "ResponseOptimizerTests",
            dependencies: [
                "ResponseOptimizer", "CBrotli", "CDeflate",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        .testTarget(name: "PGWireTests", dependencies: ["PGWire", .product(name: "NIOCore", package: "swift-nio")],
                    resources: []),
        .testTarget(name: "ConfigTests", dependencies: ["Config"]),
        .testTarget(name: "SQLAnalysisTests", dependencies: ["SQLAnalysis"]),
        .testTarget(name: "RoutingTests", dependencies: ["Routing"]),
        .testTarget(name: "ResultCacheTests", dependencies: ["ResultCache", "SQLAnalysis"]),
        .testTarget(name: "SessionCoreTests", dependencies: [
            "SessionCore", "PGWire", .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .testTarget(name: "AdminConsoleTests", dependencies: [
            "AdminConsole", "PGWire", "PoolCore", "Config",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "ProxyServerTests", dependencies: [
            "ProxyServer", "PGWire",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "PoolCoreTests", dependencies: [
            "PoolCore", "PGWire", .product(name: "NIOCore", package: "swift-nio"), .product(name: "Histogram", package: "hdrhistogram-swift"),
        ]),
        // The clients' integration tests start real redis-server and memcached processes on free loopback ports.
        .target(name: "LocalServers", dependencies: [.product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")],
                path: "Tests/LocalServers"),
        .testTarget(name: "RedisClientTests", dependencies: [
            "RedisClient", "LocalServers", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ]),
        .testTarget(name: "MemcachedClientTests", dependencies: [
            "MemcachedClient", "LocalServers", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
