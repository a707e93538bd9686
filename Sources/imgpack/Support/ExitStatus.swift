import ArgumentParser
import ImagePack

/// The exit codes of `imgpack`, documented in docs/imgpack.md ("Exit status") and in `imgpack --help`.
enum ExitStatus: Int32, Sendable {
    /// Success: written, verified, extracted.
    case ok = 0
    /// The image is invalid: verification failed, or it is damaged, truncated or not an image.
    case invalidImage = 1
    /// The command line asks for something impossible: a bad option, an unknown disk, an existing
    /// destination without `--force`.
    case usage = 2
    /// The operating system refused an operation: open, read, write, rename, a full disk.
    case io = 3
    /// A library failed in a way the input does not explain (a bug: please report it).
    case `internal` = 4
    /// The image is intact but not signed by a trusted key (`--trusted-key`, `--trust-dir`).
    case untrusted = 5
    /// Interrupted by SIGINT or SIGTERM; nothing was left at the destination.
    case interrupted = 130

    init(_ category: ImagePackError.Category) {
        switch category {
        case .invalidImage: self = .invalidImage
        case .usage: self = .usage
        case .io: self = .io
        case .internal: self = .internal
        case .untrusted: self = .untrusted
        }
    }
}

/// An error that knows which exit code it deserves (the tart pattern: a small protocol, no
/// string-payload enums).
protocol ExitStatusError: Error, CustomStringConvertible {
    var exitStatus: ExitStatus { get }
    /// Already printed (e.g. verify lists every failure itself); main only exits.
    var isReported: Bool { get }
}

extension ExitStatusError {
    var isReported: Bool { false }
}

extension ImagePackError: ExitStatusError {
    var exitStatus: ExitStatus { code == .cancelled ? .interrupted : ExitStatus(code.category) }

    /// The same error, naming standard input in words rather than as "-".
    var displayed: ImagePackError {
        path == "-" ? replacing(path: "<stdin>") : self
    }
}

/// A failure the CLI itself detects at run time (not a malformed command line).
struct CommandFailure: ExitStatusError {
    var exitStatus: ExitStatus
    var message: String
    var isReported = false

    init(_ status: ExitStatus, _ message: String, reported: Bool = false) {
        exitStatus = status
        self.message = message
        isReported = reported
    }

    var description: String { message }
}
