import Testing
@testable import imgpack

/// The bar as drawn, frame by frame: fixed width, and never less filled than before.
@Suite("progress bar")
struct ProgressBarTests {
    @Test("fixed width and monotonic fill, even when reports go backwards")
    func monotonic() {
        let bar = ProgressBar("extract", enabled: true)
        // Out-of-order reports, as several threads or streams give them, and rates from 0 to
        // gigabytes a second, so the text after the bar changes length.
        let total: UInt64 = 10 << 30
        let reports: [UInt64] = [0, 1 << 20, 3 << 30, 2 << 30, 5 << 30, 4 << 30, 4 << 30, 9 << 30, 1 << 30, total - 1, total]
        var frames: [String] = []
        for (step, done) in reports.enumerated() {
            if let line = bar.frame(done: done, total: total, now: 1000 + Double(step) * (step < 3 ? 0.01 : 7), width: 100) {
                frames.append(line)
            }
        }
        #expect(frames.count >= 8, "\(frames)")
        let bars = frames.map { line in line.split(separator: "[", maxSplits: 1)[1].prefix { $0 != "]" } }
        #expect(Set(bars.map(\.count)).count == 1, "bar width changed: \(bars)")
        let filled = bars.map { $0.filter { $0 == "#" }.count }
        #expect(filled == filled.sorted(), "fill went backwards: \(filled)")
        let percents = frames.map { line in Int(line.split(separator: "]")[1].split(separator: "%")[0].trimmingCharacters(in: .whitespaces)) ?? -1 }
        #expect(percents == percents.sorted(), "percent went backwards: \(percents)")
        #expect(percents.last == 100)
    }
}
