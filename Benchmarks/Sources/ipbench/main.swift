// ipbench: a minimal command-line driver over the ImagePack library for Benchmarks/compare.sh.
//
//   ipbench pack RAW OUT [-t threads] [-l level] [-c chunkKiB] [--codec zstd|zlib|stored]
//   ipbench extract IMG OUT [-t threads]        (stream 0, sparse, fully verified)
//   ipbench verify IMG [-t threads]             (decode and hash every chunk, write nothing)
//   ipbench stream IMG [-t threads]             (streaming reader, output discarded)
//   ipbench read IMG [-n samples] [-s bytes] [--seed S]   (random reads; latency percentiles)
//   ipbench simulate OUT --size BYTES [--profile server] [--seed S]   (write a SimulatedDisk as raw)
//
// Prints one line of `key=value` results on standard output; errors go to standard error.
import Foundation
import ImagePack

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("ipbench: \(message)\n".utf8))
    exit(2)
}

var arguments = Array(CommandLine.arguments.dropFirst())
guard let command = arguments.first else { fail("usage: ipbench pack|extract|verify|stream|read|simulate ...") }
arguments.removeFirst()
var positional: [String] = []
var options: [String: String] = [:]
var k = 0
while k < arguments.count {
    let a = arguments[k]
    if a.hasPrefix("-") {
        guard k + 1 < arguments.count else { fail("option \(a) needs a value") }
        options[a] = arguments[k + 1]
        k += 2
    } else {
        positional.append(a)
        k += 1
    }
}
@MainActor func int(_ keys: String..., default value: Int) -> Int {
    for key in keys { if let v = options[key] { guard let n = Int(v) else { fail("\(key) wants a number") }; return n } }
    return value
}
let threads = int("-t", "--threads", default: WriterOptions.defaultThreads)

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

let start = now()
do {
    switch command {
    case "pack":
        guard positional.count == 2 else { fail("pack RAW OUT") }
        var writer = WriterOptions(threads: threads)
        if let level = options["-l"] { writer.level = Int(level) }
        writer.chunkSize = int("-c", "--chunk-kib", default: WriterOptions.defaultChunkSize >> 10) << 10
        if let codec = options["--codec"] {
            guard let c = Codec.allCases.first(where: { "\($0)" == codec }) else { fail("unknown codec \(codec)") }
            writer.codec = c
        }
        let source = try RawFileDiskSource(path: positional[0])
        let state = SystemState(metadata: ImageMetadata(name: "bench"), streams: [StreamSpec(name: "root", source: source)])
        let summary = try ImageWriter.write(state, toFile: positional[1], overwrite: true, options: writer)
        let seconds = now() - start
        print("op=pack seconds=\(seconds) bytes=\(summary.logicalBytes) output=\(summary.fileLength) chunks=\(summary.chunkCount) MBps=\(Double(summary.logicalBytes) / seconds / 1e6)")
    case "extract":
        guard positional.count == 2 else { fail("extract IMG OUT") }
        let reader = try ImageReader(path: positional[0])
        try reader.extract(stream: 0, toFile: positional[1], overwrite: true, threads: threads)
        let seconds = now() - start
        print("op=extract seconds=\(seconds) bytes=\(reader.streams[0].logicalSize) MBps=\(Double(reader.streams[0].logicalSize) / seconds / 1e6)")
    case "verify":
        guard positional.count == 1 else { fail("verify IMG") }
        let reader = try ImageReader(path: positional[0])
        let report = try reader.verify(threads: threads)
        let seconds = now() - start
        guard report.isValid else { fail("invalid: \(report.failures[0])") }
        print("op=verify seconds=\(seconds) checked=\(report.bytesChecked) MBps=\(Double(report.bytesChecked) / seconds / 1e6)")
    case "stream":
        guard positional.count == 1 else { fail("stream IMG") }
        let reader = try StreamingReader(path: positional[0], threads: threads)
        var bytes: UInt64 = 0
        try reader.read { event in
            switch event {
            case .data(_, _, let b): bytes += UInt64(b.count)
            case .zero(_, _, let n): bytes += n
            case .begin: break
            }
        }
        let seconds = now() - start
        print("op=stream seconds=\(seconds) bytes=\(bytes) MBps=\(Double(bytes) / seconds / 1e6)")
    case "read":
        guard positional.count == 1 else { fail("read IMG") }
        let reader = try ImageReader(path: positional[0])
        let samples = int("-n", default: 500)
        let size = int("-s", default: 4096)
        var rng = UInt64(int("--seed", default: 1))
        let logical = reader.streams[0].logicalSize
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
        defer { buffer.deallocate() }
        // Only offsets inside stored (non-zero) chunks: a zero chunk costs nothing to read.
        let stored = reader.entries.filter { $0.kind != .zero && $0.stream == 0 }
        guard !stored.isEmpty else { fail("no stored chunks") }
        var latencies: [Double] = []
        for _ in 0..<samples {
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            let entry = stored[Int((rng >> 33) % UInt64(stored.count))]
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            let span = max(UInt64(entry.logicalLength) - UInt64(size), 1)
            let offset = min(entry.logicalOffset + ((rng >> 33) % span) / 4096 * 4096, logical - UInt64(size))
            let t0 = now()
            try reader.read(stream: 0, at: offset, into: buffer)
            latencies.append((now() - t0) * 1e6)
        }
        latencies.sort()
        func pct(_ p: Double) -> Int { Int(latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]) }
        print("op=read samples=\(samples) size=\(size) chunk=\(reader.chunkSize) p50us=\(pct(0.5)) p90us=\(pct(0.9)) p99us=\(pct(0.99)) maxus=\(Int(latencies.last!))")
    case "simulate":
        guard positional.count == 1, let sizeText = options["--size"], let size = UInt64(sizeText) else { fail("simulate OUT --size BYTES") }
        let profile = SimulationProfile(rawValue: options["--profile"] ?? "server") ?? .server
        let disk = SimulatedDisk(seed: UInt64(int("--seed", default: 1)), size: size, profile: profile)
        let fd = open(positional[0], O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { fail("cannot create \(positional[0])") }
        let chunk = 4 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 64)
        defer { buffer.deallocate() }
        var offset: UInt64 = 0
        while offset < size {
            let n = Int(min(UInt64(chunk), size - offset))
            if disk.isKnownZero(offset: offset, length: n) {
                offset += UInt64(n)
                continue
            }
            let part = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<n])
            try disk.read(at: offset, into: part)
            guard pwrite(fd, part.baseAddress, n, off_t(offset)) == n else { fail("write failed") }
            offset += UInt64(n)
        }
        ftruncate(fd, off_t(size))
        close(fd)
        print("op=simulate seconds=\(now() - start) bytes=\(size)")
    default:
        fail("unknown command \(command)")
    }
} catch {
    fail("\(error)")
}
