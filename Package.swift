// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "edmo",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "edmo", targets: ["edmo"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
    ],
    targets: [
        .systemLibrary(name: "CFastCGI", path: "Sources/CFastCGI"),
        .systemLibrary(name: "CSodium", path: "Sources/CSodium", pkgConfig: "libsodium"),
        .systemLibrary(name: "CCurl", path: "Sources/CCurl", pkgConfig: "libcurl"),
        .systemLibrary(name: "CLibPQ", path: "Sources/CLibPQ", pkgConfig: "libpq"),
        // Domain types and rules: no HTTP, no SQL, no network.
        .target(name: "EdmoCore"),
        // The store protocols and their record types: no SQL, no HTTP.
        .target(name: "EdmoStore", dependencies: ["EdmoCore"]),
        // The stores on SQLite, through GRDB.
        .target(
            name: "EdmoSQLite",
            dependencies: [
                "EdmoCore", "EdmoStore", .product(name: "GRDB", package: "GRDB.swift"),
                // The C API, for what GRDB does not wrap (the checkpointer's flush of the database file).
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ]
        ),
        // The stores on PostgreSQL, through libpq: a bounded pool of connections that worker threads borrow.
        .target(name: "EdmoPostgres", dependencies: ["EdmoCore", "EdmoStore", "CLibPQ"]),
        // Outbound clients only (HTTP with the SSRF guard, the voice platform, language models): they never
        // see a store or a route.
        .target(name: "EdmoProviders", dependencies: ["EdmoCore", "CCurl"]),
        // The use cases (provider writes and their journal, platform sync, the chat turn, analysis, call
        // ingestion, accounts) and the context they run in, over the store protocols and the providers.
        .target(name: "EdmoService", dependencies: ["EdmoCore", "EdmoStore", "EdmoProviders", "CSodium"]),
        // Request/Response, the router and route table, one file per resource: decode -> service -> encode.
        .target(name: "EdmoAPI", dependencies: ["EdmoCore", "EdmoStore", "EdmoProviders", "EdmoService"]),
        .target(name: "EdmoFastCGI", dependencies: ["CFastCGI", "EdmoCore", "EdmoService", "EdmoAPI"]),
        .executableTarget(
            name: "edmo",
            dependencies: [
                "EdmoCore", "EdmoStore", "EdmoSQLite", "EdmoPostgres", "EdmoProviders", "EdmoService", "EdmoAPI",
                "EdmoFastCGI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "EdmoAPITests",
            dependencies: [
                "EdmoCore", "EdmoStore", "EdmoSQLite", "EdmoPostgres", "EdmoProviders", "EdmoService", "EdmoAPI",
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ]
        ),
        .testTarget(name: "EdmoFastCGITests", dependencies: ["EdmoFastCGI", "EdmoService", "EdmoAPI"]),
    ]
)
