// swift-tools-version:6.2
import PackageDescription

// The executable allocates with jemalloc (Debian's libjemalloc, `scripts/setup` installs it; see
// Sources/MallocConfiguration/malloc_conf.c for why). Sanitizer and fuzzer builds bring their own
// allocator, so they keep the system's: `scripts/sanitize` sets CURRENTS_RELAY_SYSTEM_MALLOC=1,
// `scripts/fuzz` CURRENTS_RELAY_FUZZ=1.
let systemMalloc = Context.environment["CURRENTS_RELAY_SYSTEM_MALLOC"] != nil || Context.environment["CURRENTS_RELAY_FUZZ"] != nil
let mallocLinkerSettings: [LinkerSetting] = systemMalloc ? [] : [
    .linkedLibrary("jemalloc", .when(platforms: [.linux])),
]

// Unsafe pointers live only in the Kafka target, the one layer over librdkafka's C API. Every
// other Swift target is compiled with strict memory safety, and its warnings are errors: an
// unsafe construct anywhere else does not build.
let memorySafe: [SwiftSetting] = [.strictMemorySafety(), .treatWarning("StrictMemorySafety", as: .error)]

let package = Package(
    name: "currents-relay",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "currents-relay", targets: ["currents-relay"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0", traits: ["YAML", "Reloading"]),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // The C API of Debian's librdkafka. Nothing vendored.
        .systemLibrary(
            name: "Crdkafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        // The only Swift code that touches the C API.
        .target(
            name: "Kafka",
            dependencies: [
                "Crdkafka",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // Braze Currents: event model, input decoding, the event-type catalogue.
        .target(name: "Currents", swiftSettings: memorySafe),
        // mParticle Events API: model, JSON encoding, limits, HTTP client, response classes.
        .target(
            name: "MParticle",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: memorySafe
        ),
        // The pipeline: routing, mapping, batching, delivery, offset tracking, configuration.
        .target(
            name: "Relay",
            dependencies: [
                "Kafka", "Currents", "MParticle",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: memorySafe
        ),
        // `doctor`: checks that the Kafka cluster, mParticle inputs and registry a configuration
        // points at work. The checks are plain functions; their I/O goes through two protocols.
        .target(
            name: "Doctor",
            dependencies: [
                "Relay", "Kafka", "MParticle",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: memorySafe
        ),
        // A local mParticle Events API that behaves like the real one.
        .target(
            name: "MParticleSimulator",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: memorySafe
        ),
        // jemalloc's settings (the executable is linked against jemalloc; see malloc_conf.c).
        .target(name: "MallocConfiguration"),
        // CPU clocks for bench-stages (C, so the executable passes no pointer to clock_gettime).
        .target(name: "CPUClock"),
        // The command line: it wires, it does not decide.
        .executableTarget(
            name: "currents-relay",
            dependencies: [
                "Relay", "Kafka", "Doctor", "MParticleSimulator", "MallocConfiguration", "CPUClock",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: memorySafe,
            linkerSettings: mallocLinkerSettings
        ),
        .testTarget(name: "KafkaTests", dependencies: ["Kafka"]),
        .testTarget(name: "CurrentsTests", dependencies: ["Currents"]),
        .testTarget(name: "MParticleTests", dependencies: ["MParticle"]),
        .testTarget(
            name: "RelayTests",
            dependencies: ["Relay", "Currents", "MParticle", "MParticleSimulator", .product(name: "NIOConcurrencyHelpers", package: "swift-nio")],
            exclude: ["Fixtures"]
        ),
        .testTarget(name: "MParticleSimulatorTests", dependencies: ["MParticleSimulator", "MParticle"]),
        .testTarget(
            name: "DoctorTests",
            dependencies: [
                "Doctor", "Relay", "Kafka", "MParticle", "MParticleSimulator",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["Relay", "Kafka", "MParticleSimulator", "MParticle", "Currents", .product(name: "NIOConcurrencyHelpers", package: "swift-nio")]
        ),
    ]
)

// The libFuzzer target exists only for `scripts/fuzz` (CURRENTS_RELAY_FUZZ=1): it has no `main`
// (libFuzzer brings one), so a normal build must not see it.
if Context.environment["CURRENTS_RELAY_FUZZ"] != nil {
    package.targets.append(
        .executableTarget(name: "relay-fuzz", dependencies: ["Relay", "Kafka", "MParticle", "MParticleSimulator"], path: "Fuzz")
    )
}
