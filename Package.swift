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
        // Domain types and rules: no HTTP, no SQL, no network.
        .target(name: "EdmoCore"),
        .target(
            name: "EdmoAPI",
            dependencies: [
                "EdmoCore", "CSodium", "CCurl",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .target(name: "EdmoFastCGI", dependencies: ["CFastCGI", "EdmoAPI"]),
        .executableTarget(
            name: "edmo",
            dependencies: [
                "EdmoCore", "EdmoAPI", "EdmoFastCGI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "EdmoAPITests", dependencies: ["EdmoCore", "EdmoAPI"]),
        .testTarget(name: "EdmoFastCGITests", dependencies: ["EdmoFastCGI", "EdmoAPI"]),
    ]
)
