// swift-tools-version:6.0
//
// sriov-operator: an SR-IOV network operator in Swift.
// Layers point down only: executables -> services -> renderer / host / RPC
// -> API model -> C modules. See README.md for the map.
import PackageDescription

/// Settings shared by every Swift target. Swift 6 language mode (strict
/// concurrency checking) is the default of this tools version.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "sriov-operator",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "sriovctl", targets: ["sriovctl"]),
        .executable(name: "sriov-controller", targets: ["sriov-controller"]),
        .executable(name: "sriov-agent", targets: ["sriov-agent"]),
        .executable(name: "sriov-mirror", targets: ["sriov-mirror"]),
        .library(name: "SriovAPI", targets: ["SriovAPI"]),
        .library(name: "SriovRender", targets: ["SriovRender"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
    ],
    targets: [
        // ---- C layer: one thin target per system library, one shim target,
        // ---- and the committed protoc-c output.
        .systemLibrary(
            name: "CNGHTTP2", pkgConfig: "libnghttp2",
            providers: [.apt(["libnghttp2-dev"])]),
        .systemLibrary(
            name: "COpenSSL", pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]),
        .systemLibrary(
            name: "CProtobufC", pkgConfig: "libprotobuf-c",
            providers: [.apt(["libprotobuf-c-dev"])]),
        .systemLibrary(
            name: "CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(
            name: "CSQLite", pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]),
        .target(name: "CSriovShims", dependencies: ["COpenSSL"]),
        .target(name: "CSriovProto", dependencies: ["CProtobufC"]),

        // ---- Wire-level message model: generated Swift value types with
        // ---- protobuf-c conversions. No I/O.
        .target(
            name: "SriovProto", dependencies: ["CSriovProto", "CProtobufC"],
            swiftSettings: swiftSettings),

        // ---- Domain: the API model (CR codecs, defaults, validation) and the
        // ---- pure renderer.
        .target(
            name: "SriovAPI",
            dependencies: ["SriovProto", .product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings),
        .target(
            name: "SriovRender", dependencies: ["SriovAPI", "SriovProto"],
            swiftSettings: swiftSettings),

        // ---- Locks that ThreadSanitizer can follow (Synchronization's Mutex,
        // ---- annotated in a -DSRIOV_TSAN build).
        .target(name: "SriovSync", swiftSettings: swiftSettings),

        // ---- RPC: gRPC wire protocol over HTTP/2 (nghttp2) and TLS (OpenSSL).
        .target(
            name: "SriovGRPC",
            dependencies: [
                "CNGHTTP2", "COpenSSL", "CZlib", "CSriovShims", "SriovProto", "SriovSync",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),

        // ---- The controller's store: a revisioned key-value protocol and
        // ---- its embedded SQLite backend.
        .target(
            name: "SriovStore", dependencies: ["CSQLite", "SriovSync"],
            swiftSettings: swiftSettings),
        // ---- The same store protocol on an etcd cluster (v3 KV, Watch and
        // ---- Lease over our gRPC client), for controller replicas.
        .target(
            name: "SriovStoreEtcd", dependencies: ["SriovStore", "SriovGRPC", "SriovProto", "SriovSync"],
            swiftSettings: swiftSettings),

        // ---- Services: the controller (Operator and Agent services,
        // ---- authorization, config fan-out, metrics).
        .target(
            name: "SriovControllerCore",
            dependencies: [
                "SriovStore", "SriovRender", "SriovAPI", "SriovGRPC", "SriovProto", "SriovSync",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings),

        // ---- Host: sysfs discovery, the pure plan, apply and checkpoint; the
        // ---- simulated kernel behind the same sysfs protocol.
        .target(
            name: "SriovHost",
            dependencies: ["SriovProto", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings),
        .target(
            name: "SriovSimKernel", dependencies: ["SriovHost", "SriovSync"],
            swiftSettings: swiftSettings),

        // ---- Services: the node agent's loop on the RPC client.
        .target(
            name: "SriovAgentCore",
            dependencies: [
                "SriovHost", "SriovGRPC", "SriovProto", "COpenSSL", "SriovSync",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),

        // ---- Services: the cluster mirror (controller watches -> Kubernetes
        // ---- REST API over HTTPS).
        .target(
            name: "SriovMirror",
            dependencies: [
                "SriovAPI", "SriovGRPC", "SriovProto", "COpenSSL", "CSriovShims", "SriovSync",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),

        // ---- Executables.
        .executableTarget(
            name: "sriov-mirror",
            dependencies: [
                "SriovMirror", "SriovGRPC", "SriovAPI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "sriov-agent",
            dependencies: [
                "SriovAgentCore", "SriovHost", "SriovSimKernel", "SriovGRPC", "SriovAPI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "sriov-controller",
            dependencies: [
                "SriovControllerCore", "SriovStore", "SriovStoreEtcd", "SriovGRPC", "SriovProto", "SriovAPI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "grpc-load", dependencies: ["SriovGRPC", "SriovProto"],
            path: "Benchmarks/grpc/load", swiftSettings: swiftSettings),
        .executableTarget(
            name: "sriov-controller-bench", dependencies: ["SriovGRPC", "SriovProto", "COpenSSL"],
            path: "Benchmarks/controller", exclude: ["run.sh", "ha.sh"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "sriov-agent-bench",
            dependencies: [
                "SriovAgentCore", "SriovHost", "SriovSimKernel", "SriovGRPC", "SriovProto",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/sriov-agent-bench", swiftSettings: swiftSettings),
        .executableTarget(
            name: "sriov-render-bench", dependencies: ["SriovRender", "SriovAPI", "SriovProto"],
            path: "Benchmarks/sriov-render-bench", swiftSettings: swiftSettings),
        .executableTarget(
            name: "sriovctl",
            dependencies: [
                "SriovAPI", "SriovRender", "SriovProto", "SriovGRPC",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings),

        // ---- Fuzzing: the fuzz targets and their libFuzzer driver
        // ---- (scripts/fuzz.sh builds it with -sanitize=fuzzer,address).
        .target(
            name: "SriovFuzzTargets",
            dependencies: [
                "SriovProto", "SriovAPI", "SriovRender", "SriovGRPC", "SriovSync", .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/Fuzz/SriovFuzzTargets", swiftSettings: swiftSettings),
        .executableTarget(
            name: "sriov-fuzz", dependencies: ["SriovFuzzTargets"],
            path: "Tests/Fuzz/sriov-fuzz", swiftSettings: swiftSettings),

        // ---- Tests mirror Sources.
        .target(
            name: "SriovTestSupport",
            dependencies: ["SriovProto", "SriovAPI", "SriovGRPC", "SriovSync", .product(name: "Logging", package: "swift-log")],
            path: "Tests/SriovTestSupport", swiftSettings: swiftSettings),
        .testTarget(
            name: "SriovProtoTests", dependencies: ["SriovProto", "SriovTestSupport"],
            exclude: ["Python"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "SriovAPITests", dependencies: ["SriovAPI", "SriovProto", "SriovTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "SriovGRPCTests",
            dependencies: ["SriovGRPC", "SriovProto", "SriovTestSupport", "COpenSSL"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "SriovStoreTests", dependencies: ["SriovStore", "SriovStoreEtcd", "SriovSync", "SriovTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "SriovControllerTests",
            dependencies: [
                "SriovControllerCore", "SriovStore", "SriovStoreEtcd", "SriovGRPC", "SriovProto", "SriovAPI", "SriovSync", "SriovTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "SriovFuzzTests", dependencies: ["SriovFuzzTargets", "SriovTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "SriovMirrorTests",
            dependencies: ["SriovMirror", "SriovGRPC", "SriovProto", "SriovAPI", "SriovTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "SriovRenderTests",
            dependencies: ["SriovRender", "SriovAPI", "SriovProto", "SriovTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "SriovHostTests",
            dependencies: ["SriovHost", "SriovSimKernel", "SriovProto", "SriovTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "SriovctlTests",
            dependencies: ["SriovGRPC", "SriovProto", "SriovAPI", "SriovTestSupport"],
            exclude: ["Golden"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "SriovAgentTests",
            dependencies: [
                "SriovAgentCore", "SriovHost", "SriovSimKernel", "SriovGRPC", "SriovProto", "SriovSync", "SriovTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
    ]
)
