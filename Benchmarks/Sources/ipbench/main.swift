// ipbench: what the imgpack CLI cannot measure, for Benchmarks/compare.sh: the latency
// distribution of random reads, each timed in-process (a process per read would measure process
// start-up and image opening instead). Pack, extract, verify and streaming are measured through
// the imgpack binary itself.
//
//   ipbench read IMG [-n samples] [-s bytes] [--seed S] [--stream INDEX]
//
// Reads at offsets inside stored (non-zero) chunks, aligned to 4 KiB, and prints one line:
//   op=read samples=N size=B chunk=C p50us=.. p90us=.. p99us=.. maxus=..
// Errors go to standard error (exit 2).
import Foundation
import ImagePack

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("ipbench: \(message)\n".utf8))
    exit(2)
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

var arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.first == "read" else { fail("usage: ipbench read IMG [-n samples] [-s bytes] [--seed S] [--stream INDEX]") }
arguments.removeFirst()
var positional: [String] = []
var options: [String: Int] = [:]
var k = 0
while k < arguments.count {
    let a = arguments[k]
    if a.hasPrefix("-") {
        guard k + 1 < arguments.count, let n = Int(arguments[k + 1]) else { fail("option \(a) wants a number") }
        options[a] = n
        k += 2
    } else {
        positional.append(a)
        k += 1
    }
}
guard positional.count == 1 else { fail("read IMG") }
let samples = options["-n"] ?? 500
let size = options["-s"] ?? 4096
let streamIndex = options["--stream"] ?? 0
guard samples > 0, size > 0 else { fail("-n and -s must be positive") }

do {
    let reader = try ImageReader(path: positional[0])
    guard reader.streams.indices.contains(streamIndex) else { fail("no stream \(streamIndex)") }
    let logical = reader.streams[streamIndex].logicalSize
    guard logical >= UInt64(size) else { fail("stream smaller than -s") }
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
    defer { buffer.deallocate() }
    // Only offsets inside stored chunks: a zero chunk costs nothing to read.
    let stored = reader.entries.filter { $0.kind != .zero && $0.stream == streamIndex }
    guard !stored.isEmpty else { fail("no stored chunks") }
    var rng = UInt64(options["--seed"] ?? 1)
    func next() -> UInt64 {
        rng = rng &* 6364136223846793005 &+ 1442695040888963407
        return rng >> 33
    }
    var latencies: [Double] = []
    latencies.reserveCapacity(samples)
    for _ in 0..<samples {
        let entry = stored[Int(next() % UInt64(stored.count))]
        let span = max(UInt64(entry.logicalLength) - UInt64(size), 1)
        let offset = min(entry.logicalOffset + (next() % span) / 4096 * 4096, logical - UInt64(size))
        let t0 = now()
        try reader.read(stream: streamIndex, at: offset, into: buffer)
        latencies.append((now() - t0) * 1e6)
    }
    latencies.sort()
    func pct(_ p: Double) -> Int { Int(latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]) }
    print("op=read samples=\(samples) size=\(size) chunk=\(reader.chunkSize) p50us=\(pct(0.5)) p90us=\(pct(0.9)) p99us=\(pct(0.99)) maxus=\(Int(latencies.last!))")
} catch {
    fail("\(error)")
}
