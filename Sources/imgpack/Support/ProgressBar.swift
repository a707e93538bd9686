import ImagePack
import Synchronization

/// A one-line progress bar on standard error: bytes done, rate and time left.
///
/// Drawn only when standard error is a terminal and `--quiet` is not given, so pipes and log
/// files never see it. Redraws at most ten times a second; the first and the last update are
/// always drawn. ``finish()`` erases the line, so the summary that follows starts clean.
final class ProgressBar: Sendable {
    let label: String
    let isEnabled: Bool
    private let state: Mutex<State>

    struct State {
        var start: Double
        var lastDraw: Double = 0
        var drawn = false
        var finished = false
        /// The fraction last drawn: a frame never shows less (reports from several threads or
        /// streams can arrive out of order, and a bar that runs backwards looks like a bug).
        var shown: Double = 0
        /// Bar columns, fixed at the first frame so the line never changes shape.
        var barWidth: Int?
    }

    init(_ label: String, enabled: Bool) {
        self.label = label
        isEnabled = enabled
        state = Mutex(State(start: Terminal.now()))
    }

    /// A bar for `label` that shows only on a terminal and without `--quiet`.
    convenience init(_ label: String, quiet: Bool) {
        self.init(label, enabled: !quiet && Terminal.standardErrorIsTerminal)
    }

    /// The handler to pass to the library, or nil when the bar is off (saves the calls).
    var handler: ProgressHandler? {
        guard isEnabled else { return nil }
        return { [self] done, total in update(done: done, total: total) }
    }

    func update(done: UInt64, total: UInt64) {
        guard isEnabled else { return }
        if let line = frame(done: done, total: total, now: Terminal.now(), width: Terminal.width) {
            Terminal.writeError("\r\u{1B}[K" + line)
        }
    }

    /// The line to draw for this report at time `now`, or nil when it is not drawn (throttled to
    /// ten frames a second; the first and the last are always drawn).
    func frame(done: UInt64, total: UInt64, now: Double, width: Int) -> String? {
        state.withLock { s in
            guard !s.finished else { return nil }
            let first = !s.drawn
            guard first || done >= total || now - s.lastDraw >= 0.1 else { return nil }
            s.drawn = true
            s.lastDraw = now
            let barWidth = s.barWidth ?? Self.barWidth(label: label, width: width)
            s.barWidth = barWidth
            s.shown = max(s.shown, total == 0 ? 1 : min(1, Double(done) / Double(total)))
            return Self.render(label: label, fraction: s.shown, done: done, total: total, elapsed: now - s.start, barWidth: barWidth)
        }
    }

    /// Erases the bar.
    func finish() {
        guard isEnabled else { return }
        let erase = state.withLock { s in
            defer { s.finished = true }
            return s.drawn && !s.finished
        }
        if erase { Terminal.writeError("\r\u{1B}[K") }
    }

    /// The widest tail `render` writes after the bar: percent, done / total, rate and ETA.
    static let tailWidth = 50

    /// Columns for the bar on a terminal `width` wide: up to 30, what is left beside the label
    /// and the widest tail; 0 (no bar) below 5. It depends on nothing that changes while running.
    static func barWidth(label: String, width: Int) -> Int {
        let room = min(30, width - label.count - tailWidth - 6)
        return room >= 5 ? room : 0
    }

    /// `pack  [#########.........]  45%  690 MiB / 1.5 GiB  250 MiB/s  ETA 0:03`
    static func render(label: String, fraction: Double, done: UInt64, total: UInt64, elapsed: Double, barWidth: Int) -> String {
        let percent = "\(Int(fraction * 100))%"
        guard barWidth > 0 else { return "\(label) \(percent)" }
        let rate = elapsed > 0.05 ? Double(done) / elapsed : 0
        var tail = "\(percent)  \(ByteCount.format(done)) / \(ByteCount.format(total))"
        if rate > 0 {
            tail += "  \(ByteCount.format(UInt64(rate)))/s"
            if done < total { tail += "  ETA \(duration(Double(total - done) / rate))" }
        }
        let filled = Int(fraction * Double(barWidth))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: barWidth - filled)
        return "\(label)  [\(bar)]  \(tail)"
    }

    /// `0:07`, `12:03`, `2:01:00`.
    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded(.up))
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return s >= 3600 ? "\(s / 3600):\(two(s / 60 % 60)):\(two(s % 60))" : "\(s / 60):\(two(s % 60))"
    }
}
