// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "ImagePack",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "ImagePack", targets: ["ImagePack"]),
        // qcow2/VMDK/VHD import and raw/qcow2 export, over the core's `package` API.
        .library(name: "ImagePackInterop", targets: ["ImagePackInterop"]),
        // Simulated VM instances: deterministic disks, memory and NVRAM for demos, tests and benchmarks.
        .library(name: "ImagePackSimulation", targets: ["ImagePackSimulation"]),
        // NBD server over an image's disks (imgpack serve), with an optional copy-on-write overlay.
        .library(name: "ImagePackNBD", targets: ["ImagePackNBD"]),
        // Push and pull images through an OCI registry (spec/REGISTRY.md), on AsyncHTTPClient.
        .library(name: "ImagePackRegistry", targets: ["ImagePackRegistry"]),
        .executable(name: "imgpack", targets: ["imgpack"]),
        // libFuzzer target over the readers and the validator (.ci/fuzz); a replay driver in a normal build.
        .executable(name: "imagepack-fuzz", targets: ["ImagePackFuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // System libraries: the codecs come from the host (Debian: libzstd-dev, zlib1g-dev).
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // CRC-32C with the SSE4.2 / ARMv8 CRC instructions and a portable fallback.
        .target(name: "CCRC32C"),
        .target(
            name: "ImagePack",
            dependencies: [
                "CZstd", "CZlib", "CCRC32C",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(name: "ImagePackInterop", dependencies: ["ImagePack"]),
        .target(name: "ImagePackSimulation", dependencies: ["ImagePack"]),
        .target(
            name: "ImagePackNBD",
            dependencies: [
                "ImagePack",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // The registry client lives apart so AsyncHTTPClient (and its TLS stack) stays out of the core.
        .target(
            name: "ImagePackRegistry",
            dependencies: [
                "ImagePack",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .executableTarget(
            name: "imgpack",
            dependencies: [
                "ImagePack", "ImagePackInterop", "ImagePackSimulation", "ImagePackNBD", "ImagePackRegistry",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            exclude: ["Manual"]
        ),
        .executableTarget(name: "ImagePackFuzz", dependencies: ["ImagePack"]),
        // What the test targets share: byte comparisons that fail fast (a mismatch of two
        // megabyte buffers in `#expect(a == b)` made Swift Testing diff them for 20+ minutes).
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(
            name: "ImagePackTests",
            dependencies: ["ImagePack", "ImagePackInterop", "ImagePackSimulation", "ImagePackFuzz", "TestSupport"]
        ),
        // Runs the built imgpack binary (a dependency, so SwiftPM builds it first and puts it next
        // to the test bundle); --help snapshots live in Snapshots/.
        .testTarget(
            name: "ImgpackCLITests",
            dependencies: ["ImagePack", "ImagePackSimulation", "imgpack", "TestSupport"],
            exclude: ["Snapshots"]
        ),
        // The server against a raw client in process, and against qemu-img, qemu-io, nbdinfo and nbdcopy.
        .testTarget(name: "ImagePackNBDTests", dependencies: ["ImagePack", "ImagePackNBD", "TestSupport"]),
        // Push/pull against real docker-registry instances on loopback, and skopeo as a peer.
        .testTarget(
            name: "ImagePackRegistryTests",
            dependencies: [
                "ImagePack", "ImagePackRegistry", "imgpack", "TestSupport",
                // The bearer-token tests run a token service: an HTTP/1 server issuing ES256 JWTs.
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
    ],
    swiftLanguageModes: [.v6]
)
