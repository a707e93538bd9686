// package-benchmark suites for ImagePack: pack, extract, verify, random 4 KiB reads and the disk
// simulator. Inputs (simulated disks, the images packed from them) are built once in setup,
// outside the measured part. If Benchmarks/.cache/ext4.raw exists (compare.sh builds it), the
// real ext4 disk is benchmarked too.
//
//   cd Benchmarks && swift package benchmark
//   swift package benchmark --filter "pack.*"
import Benchmark
import Foundation
import ImagePack
import ImagePackSimulation

let mib = 1 << 20
let threads = WriterOptions.defaultThreads
let workDirectory = NSTemporaryDirectory() + "imagepack-bench-\(getpid())"

/// A disk to benchmark: a simulated one, or the cached real ext4 disk.
struct Input: Sendable {
    let name: String
    let source: any StreamSource
    var bytes: UInt64 { source.logicalSize }
}

let ext4Path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent(".cache/ext4.raw").path

let inputs: [Input] = {
    var list = [
        Input(name: "sim-server-512M", source: SimulatedDisk(seed: 1, size: 512 << 20, profile: .server)),
        Input(name: "sim-database-256M", source: SimulatedDisk(seed: 2, size: 256 << 20, profile: .database)),
        Input(name: "sim-random-256M", source: SimulatedDisk(seed: 3, size: 256 << 20, profile: .random)),
    ]
    if FileManager.default.fileExists(atPath: ext4Path), let raw = try? FileSource(path: ext4Path) {
        list.append(Input(name: "ext4-real", source: raw))
    }
    return list
}()

func state(_ input: Input) -> SystemState {
    SystemState(metadata: ImageMetadata(name: input.name), streams: [StreamSpec(name: "root", source: input.source)])
}

/// Packs `input` once into the work directory (setup, not measured) and returns the image path.
func packed(_ input: Input, chunkSize: Int = WriterOptions.defaultChunkSize) -> String {
    try? FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: true)
    let path = workDirectory + "/\(input.name)-\(chunkSize >> 10)k.ipk"
    if !FileManager.default.fileExists(atPath: path) {
        _ = try! ImageWriter.write(state(input), toFile: path, options: WriterOptions(chunkSize: chunkSize, threads: threads))
    }
    return path
}

/// A sink that drops everything, so pack measures the writer, not the file system.
final class NullSink: ByteSink {
    var count: UInt64 = 0
    func write(_ bytes: UnsafeRawBufferPointer) throws(ImagePackError) { count += UInt64(bytes.count) }
}

let benchmarks: @Sendable () -> Void = {
    let metrics: [BenchmarkMetric] = [.wallClock, .cpuTotal, .throughput, .mallocCountTotal, .peakMemoryResident]
    func configuration(_ bytes: UInt64, iterations: Int = 3) -> Benchmark.Configuration {
        // Throughput is iterations per second; scalingFactor .mega makes it "M iterations"; the
        // bytes per iteration are in the name, so MB/s = bytes / wall clock.
        .init(metrics: metrics, timeUnits: .milliseconds, warmupIterations: 1, maxDuration: .seconds(60), maxIterations: iterations)
    }

    for input in inputs {
        let size = "\(input.bytes >> 20)MiB"
        Benchmark("pack \(input.name) (\(size), zstd-3, \(threads) threads, to /dev/null)", configuration: configuration(input.bytes)) { benchmark in
            for _ in benchmark.scaledIterations {
                let sink = NullSink()
                blackHole(try ImageWriter.write(state(input), to: sink, options: WriterOptions(threads: threads)))
            }
        }

        var image = ""
        Benchmark("verify \(input.name) (\(size))", configuration: configuration(input.bytes)) { benchmark in
            let reader = try ImageReader(path: image)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                let report = try reader.verify(ReadOptions(threads: threads))
                precondition(report.isValid)
            }
        } setup: {
            image = packed(input)
        }

        Benchmark("extract \(input.name) (\(size), verified, to /dev/null)", configuration: configuration(input.bytes)) { benchmark in
            let reader = try ImageReader(path: image)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                try reader.extract(stream: 0, to: NullSink(), threads: threads)
            }
        } setup: {
            image = packed(input)
        }

        for chunkSize in [4 * mib, 1 * mib, 256 << 10] where input.name.hasPrefix("sim-server") || input.name == "ext4-real" {
            var readImage = ""
            Benchmark(
                "random 4KiB read \(input.name) (chunk \(chunkSize >> 10) KiB, x100)",
                configuration: .init(metrics: [.wallClock, .mallocCountTotal, .peakMemoryResident], timeUnits: .microseconds, warmupIterations: 1, maxDuration: .seconds(20), maxIterations: 20)
            ) { benchmark in
                let reader = try ImageReader(path: readImage)
                let stored = reader.entries.filter { $0.kind != .zero }
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 64)
                defer { buffer.deallocate() }
                var rng = SystemRandomNumberGenerator()
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations {
                    for _ in 0..<100 {
                        let entry = stored.randomElement(using: &rng)!
                        let offset = entry.logicalOffset + UInt64.random(in: 0..<UInt64(entry.logicalLength / 4096), using: &rng) * 4096
                        try reader.read(stream: 0, at: offset, into: buffer)
                    }
                }
            } setup: {
                readImage = packed(input, chunkSize: chunkSize)
            }
        }
    }

    Benchmark("simulate server disk (256 MiB generated)", configuration: configuration(256 << 20, iterations: 5)) { benchmark in
        let disk = SimulatedDisk(seed: 9, size: 256 << 20, profile: .server)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4 * mib, alignment: 64)
        defer { buffer.deallocate() }
        for _ in benchmark.scaledIterations {
            var offset: UInt64 = 0
            while offset < disk.logicalSize {
                if !disk.isKnownZero(offset: offset, length: buffer.count) { try disk.read(at: offset, into: buffer) }
                offset += UInt64(buffer.count)
            }
            blackHole(buffer)
        }
    }

    Benchmark.teardown = { try? FileManager.default.removeItem(atPath: workDirectory) }
}
