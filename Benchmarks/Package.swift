// swift-tools-version: 6.1
// A nested package, so that package-benchmark and its dependencies never enter the library's
// build or its tests (as swift-nio and swift-asn1 do). Run from this folder:
//   swift package benchmark                  # package-benchmark suites
//   swift build -c release --product ipbench # random-read latency distribution, for compare.sh
import Foundation
import PackageDescription

// A path dependency's identity is its folder name (the checkout's name: "ImagePack", "wt-perf",
// whatever CI chose), not the name in its manifest; derive it so the products resolve anywhere.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "ImagePackBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // Random-read latency distribution (p50/p90/p99/max), timed in-process, for compare.sh;
        // pack, extract, verify and streaming are measured through the imgpack binary itself.
        .executableTarget(
            name: "ipbench",
            dependencies: [.product(name: "ImagePack", package: root)],
            path: "Sources/ipbench"
        ),
        .executableTarget(
            name: "ImagePackBenchmarks",
            dependencies: [
                .product(name: "ImagePack", package: root),
                .product(name: "ImagePackSimulation", package: root),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/ImagePackBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
