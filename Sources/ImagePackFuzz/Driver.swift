import Foundation
import ImagePack

// Without libFuzzer (a plain `swift build`), the fuzz target is a driver: it runs each file named
// on the command line through the same code, prints what each checker says and how long it took,
// and the peak memory at the end. Used to replay fuzz findings and to measure the hostile samples.
// `--quiet` prints only the summary.
//
// Under `--sanitize=fuzzer` libFuzzer brings its own `main`: .ci/fuzz builds with -DFUZZING, which
// leaves this entry point out.
#if !FUZZING
@main
enum Driver {
    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    static func describe(_ error: (any Error)?) -> String {
        guard let error else { return "accepted" }
        if let e = error as? ImagePackError { return "\(e.rule ?? "-")/\(e.code)" }
        return "\(error)"
    }

    static func main() {
        var quiet = false
        var files: [String] = []
        for arg in CommandLine.arguments.dropFirst() {
            if arg == "--quiet" { quiet = true } else { files.append(arg) }
        }
        var slowest = 0.0
        for path in files {
            let start = now()
            var random: (any Error)?
            do {
                let reader = try ImageReader(path: path)
                random = try reader.verify(ReadOptions(threads: 2)).failures.first
            } catch { random = error }
            let t1 = now()
            var streaming: (any Error)?
            do { _ = try StreamingReader(path: path, options: ReadOptions(threads: 2)).read { _ in } } catch { streaming = error }
            let t2 = now()
            var summary = ""
            do {
                let report = try ImageValidator.validate(path: path)
                summary = report.isValid ? "valid" : report.problems.prefix(4).map { "\($0.rule ?? "-")/\($0.code)" }.joined(separator: " ") + (report.problems.count > 4 ? " (+\(report.problems.count - 4))" : "")
            } catch { summary = describe(error) }
            let t3 = now()
            // The fuzz entry point too, bytes as they are and with checksums fixed.
            if let data = FileManager.default.contents(atPath: path) {
                data.withUnsafeBytes { FuzzTarget.run($0) }
            }
            slowest = max(slowest, t1 - start, t2 - t1, t3 - t2)
            if !quiet {
                print("\((path as NSString).lastPathComponent)\trandom \(describe(random)) \(Int((t1 - start) * 1000)) ms\tstreaming \(describe(streaming)) \(Int((t2 - t1) * 1000)) ms\tvalidator \(summary) \(Int((t3 - t2) * 1000)) ms")
            }
        }
        print("files: \(files.count), slowest single check: \(Int(slowest * 1000)) ms, peak RSS: \(system_peak_resident_kib() / 1024) MiB")
    }
}
#endif
