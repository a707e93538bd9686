import ArgumentParser
import Foundation
import ImagePack
import ImagePackSimulation

/// `imgpack demo`: the whole life of an image, on a simulated instance, with no arguments.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Simulate an instance, pack it, verify it and read it back.",
        discussion: """
            Simulates a cloud instance with two disks (root: server profile, data: database \
            profile; 1 GiB and 512 MiB by default), packs it into a temporary directory, verifies \
            every chunk, reads it back twice (random-access reads at random offsets, and one \
            streaming pass over the whole image) comparing every byte with the simulation, and \
            prints sizes, ratio and throughput per phase. Exits 1 if anything disagrees.

            Build in release mode for meaningful numbers: swift run -c release imgpack demo
            """)

    @Option(help: ArgumentHelp("Logical size of the instance: 2/3 root disk, 1/3 data disk.", valueName: "size"))
    var size = ByteCount(UInt64(3) << 29)

    @Option(help: ArgumentHelp("Seed of the simulation.", valueName: "n"))
    var seed: UInt64 = 1

    @Option(help: ArgumentHelp("Random-access reads to compare.", valueName: "n"))
    var reads = 300

    @Option(help: ArgumentHelp("Keep the image in this directory instead of a temporary one.", valueName: "dir"), completion: .directory)
    var keep: String?

    @OptionGroup(title: "Encoding")
    var encoding: EncodingOptions

    @OptionGroup var threads: ThreadOptions
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        guard size.bytes >= 1 << 20 else { throw ValidationError("--size must be at least 1M.") }
        guard reads >= 0 else { throw ValidationError("--reads must not be negative.") }
    }

    func run() throws {
        let cancellation = Interrupts.install()
        let total = size.bytes & ~UInt64(4095)
        let rootSize = (total / 3 * 2) & ~UInt64(4095)
        let state = SimulatedInstance.state(seed: seed, rootSize: rootSize, dataSize: total - rootSize)
        let directory = try workDirectory()
        defer { if keep == nil { try? FileManager.default.removeItem(atPath: directory) } }
        let image = directory + "/demo-\(seed).ipk"
        let disks = state.streams.map { "\($0.name) \(ByteCount.format($0.source.logicalSize)) (\(($0.source as? SimulatedDisk)?.profile.rawValue ?? "?"))" }
        print("imgpack demo: simulated instance \(state.metadata.name), seed \(seed)")
        print("  disks        \(disks.joined(separator: ", "))")
        print("  image        \(image)\(keep == nil ? " (removed at the end; --keep DIR keeps it)" : "")")
        print("")
        print(Self.cells(["PHASE", "DATA", "TIME", "RATE", ""]))
        var problems: [String] = []

        // 1. Pack.
        let options = encoding.writerOptions(threads: threads.threads, cancellation: cancellation)
        var clock = Terminal.now()
        let summary = try withBar("pack") { bar in
            try ImageWriter.write(state, toFile: image, overwrite: keep != nil, options: options, progress: bar.handler)
        }
        row("pack", summary.logicalBytes, since: clock, note: "→ \(ByteCount.format(summary.fileLength)) image, ratio \(decimal(compressionRatio(summary.logicalBytes, summary.fileLength))):1, \(summary.chunkCount) chunks")

        // 2. Verify: open (structure, index, root digest), then every chunk.
        clock = Terminal.now()
        let reader = try ImageReader(path: image)
        let report = try withBar("verify") { bar in
            try reader.verify(ReadOptions(threads: threads.threads, cancellation: cancellation, progress: bar.handler))
        }
        for failure in report.failures { problems.append("verify: \(failure)") }
        if reader.rootDigest != summary.rootDigest { problems.append("the reader's root digest \(reader.rootDigest) is not the writer's \(summary.rootDigest)") }
        row("verify", report.bytesChecked, since: clock, note: report.isValid ? "\(report.chunksChecked) stored chunks, all digests match" : "\(report.failures.count) chunks FAILED")

        // 3. Random-access reads at random offsets, compared with the simulator.
        clock = Terminal.now()
        let (readBytes, readProblems) = try randomReads(reader, state, cancellation: cancellation)
        problems += readProblems
        row("random reads", readBytes, since: clock, note: "\(reads) reads of 1 B to 1 MiB (\(Int(Double(reads) / max(Terminal.now() - clock, 0.001))) reads/s), \(readProblems.isEmpty ? "all match" : "\(readProblems.count) MISMATCHED")")

        // 4. One streaming pass (as `extract -` does), every byte compared.
        clock = Terminal.now()
        let (streamed, streamRoot, streamProblems) = try streamingRead(image, state, cancellation: cancellation)
        problems += streamProblems
        if streamRoot != summary.rootDigest { problems.append("the streaming reader's root digest \(streamRoot) is not the writer's") }
        row("streaming read", streamed, since: clock, note: streamProblems.isEmpty ? "every byte of every disk matches" : "\(streamProblems.count) ranges MISMATCHED")

        print("")
        print("  root digest  \(summary.rootDigest)")
        guard problems.isEmpty else {
            for p in problems.prefix(20) { Terminal.note("imgpack: demo: \(p)") }
            print("  result       FAILED: \(problems.count) problem\(problems.count == 1 ? "" : "s")")
            throw CommandFailure(.invalidImage, "demo failed: what was read back differs from what was packed", reported: false)
        }
        print("  result       OK: verified, and every byte read back equals the simulated disks")
    }

    // MARK: Phases

    func randomReads(_ reader: ImageReader, _ state: SystemState, cancellation: Cancellation) throws -> (UInt64, [String]) {
        var rng = SplitMix64(seed: seed ^ 0x5DEE_CE66_D1CE_4E5B)
        let limit = 1 << 20
        let got = UnsafeMutableRawBufferPointer.allocate(byteCount: limit, alignment: 64)
        let want = UnsafeMutableRawBufferPointer.allocate(byteCount: limit, alignment: 64)
        defer { got.deallocate(); want.deallocate() }
        var bytes: UInt64 = 0
        var problems: [String] = []
        let bar = ProgressBar("random reads", quiet: global.quiet)
        defer { bar.finish() }
        for n in 0..<reads {
            if cancellation.isCancelled { throw ImagePackError(.cancelled, "cancelled") }
            let stream = Int(rng.next() % UInt64(state.streams.count))
            let source = state.streams[stream].source
            var offset = rng.next() % source.logicalSize
            if n % 4 == 0 {  // one read in four straddles a chunk boundary
                let chunk = UInt64(encoding.chunkSize.bytes)
                offset = min(source.logicalSize - 1, (offset / chunk + 1) * chunk - rng.next() % 4096)
            }
            // Lengths from 1 byte to 1 MiB, spread evenly over the powers of two.
            let span = 1 << Int(rng.next() % 21)
            let length = Int(min(UInt64(1 + Int(rng.next() % UInt64(span))), source.logicalSize - offset))
            let a = UnsafeMutableRawBufferPointer(rebasing: got[0..<length])
            let b = UnsafeMutableRawBufferPointer(rebasing: want[0..<length])
            try reader.read(stream: stream, at: offset, into: a)
            try source.read(at: offset, into: b)
            if memcmp(a.baseAddress!, b.baseAddress!, length) != 0 {
                problems.append("read of \(length) bytes of \(state.streams[stream].name) at \(offset) differs from the simulation")
            }
            bytes += UInt64(length)
            bar.update(done: UInt64(n + 1), total: UInt64(reads))
        }
        return (bytes, problems)
    }

    func streamingRead(_ image: String, _ state: SystemState, cancellation: Cancellation) throws -> (UInt64, Digest, [String]) {
        let reader = try StreamingReader(path: image, options: ReadOptions(threads: threads.threads, cancellation: cancellation))
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 20, alignment: 64)
        defer { scratch.deallocate() }
        let total = state.streams.reduce(UInt64(0)) { $0 + $1.source.logicalSize }
        var done: UInt64 = 0
        var problems: [String] = []
        let summary = try withBar("streaming read") { bar in
            // The content is compared with the simulation, so references come as data.
            try reader.read(references: .keepWindow) { (event) throws(ImagePackError) in
                switch event {
                case .reference:
                    break  // not sent with .keepWindow
                case .begin(_, let streams):
                    if streams.map(\.name) != state.streams.map(\.name) { problems.append("the stream table lists \(streams.map(\.name))") }
                case .data(let stream, let offset, let bytes):
                    let want = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<bytes.count])
                    try state.streams[stream].source.read(at: offset, into: want)
                    if memcmp(bytes.baseAddress!, want.baseAddress!, bytes.count) != 0 {
                        problems.append("\(state.streams[stream].name) at \(offset) (\(bytes.count) bytes) differs from the simulation")
                    }
                    done += UInt64(bytes.count)
                    bar.update(done: done, total: total)
                case .zero(let stream, let offset, let length):
                    let source = state.streams[stream].source
                    var at = offset
                    while at < offset + length {
                        let n = Int(min(UInt64(scratch.count), offset + length - at))
                        if !source.isKnownZero(offset: at, length: n) {
                            let want = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<n])
                            try source.read(at: at, into: want)
                            if want.contains(where: { $0 != 0 }) {
                                problems.append("\(state.streams[stream].name) at \(at) reads as zeros but the simulation has data there")
                            }
                        }
                        at += UInt64(n)
                    }
                    done += length
                    bar.update(done: done, total: total)
                }
            }
        }
        return (done, summary.rootDigest, problems)
    }

    // MARK: Helpers

    func workDirectory() throws -> String {
        if let keep {
            do {
                try FileManager.default.createDirectory(atPath: keep, withIntermediateDirectories: true)
            } catch {
                throw CommandFailure(.io, "\(keep): cannot create the directory: \(error.localizedDescription)")
            }
            return keep
        }
        let base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        var template = Array((base + "/imgpack-demo-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw CommandFailure(.io, "cannot create a temporary directory in \(base)") }
        let path = String(cString: made)
        Interrupts.removeOnInterrupt(path)
        return path
    }

    func withBar<T>(_ label: String, _ body: (ProgressBar) throws -> T) throws -> T {
        let bar = ProgressBar(label, quiet: global.quiet)
        defer { bar.finish() }
        return try body(bar)
    }

    /// One line of the phase table.
    static func cells(_ c: [String]) -> String {
        let widths = [14, 10, 8, 12]
        return "  " + c.enumerated().map { i, s in i < widths.count ? s.padding(toLength: max(widths[i], s.count), withPad: " ", startingAt: 0) : s }.joined(separator: "  ")
    }

    func row(_ phase: String, _ bytes: UInt64, since start: Double, note: String) {
        let seconds = Terminal.now() - start
        print(Self.cells([phase, ByteCount.format(bytes), decimal(seconds) + " s", ByteCount.formatRate(bytes: bytes, seconds: seconds), note]))
        fflush(nil)
    }
}
