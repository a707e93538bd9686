import ImagePack

/// Where human output goes, and whether a person is watching.
enum Terminal {
    static var standardErrorIsTerminal: Bool { system_isatty(2) }
    static var standardOutputIsTerminal: Bool { system_isatty(1) }

    /// Columns of the terminal on standard error; 80 when unknown.
    static var width: Int {
        system_terminal_columns(2) ?? 80
    }

    /// Writes `text` to standard error, unbuffered (safe next to a progress bar).
    static func writeError(_ text: String) {
        var bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { system_write(2, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && system_errno == _EINTR { continue }
            if n <= 0 { return }
            done += n
        }
        bytes.removeAll()
    }

    /// A line on standard error.
    static func note(_ line: String) { writeError(line + "\n") }

    /// Seconds on a monotonic clock.
    static func now() -> Double {
        system_monotonic_seconds()
    }
}
