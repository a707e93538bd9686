import Dispatch
import Foundation
import ImagePack
import Synchronization

/// Ctrl-C and `kill`: stop cleanly, leave nothing behind.
///
/// The first SIGINT or SIGTERM sets the returned ``Cancellation`` (the library polls it between
/// chunks and stops with `.cancelled`, exit code 130) and removes every temporary file at once.
/// If the work does not stop within a few seconds (blocked reading a stalled pipe, say), or on a
/// second signal, the process exits 130 on the spot, temporary files removed first.
enum Interrupts {
    private static let installed = Mutex<(cancellation: Cancellation, sources: [any DispatchSourceSignal])?>(nil)
    private static let signals = Atomic<Int>(0)
    private static let scratch = Mutex<[String]>([])

    /// Removes `directory` and everything in it if the process is interrupted (the demo's
    /// temporary directory); the caller still removes it on a normal exit.
    static func removeOnInterrupt(_ directory: String) {
        scratch.withLock { $0.append(directory) }
    }

    private static func removeScratch() {
        OutputFile.removeAllTemporaryFiles()
        for path in scratch.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: path) }
    }

    /// Installs the handlers (once) and returns the cancellation flag they set.
    static func install() -> Cancellation {
        installed.withLock { state in
            if let state { return state.cancellation }
            let cancellation = Cancellation()
            var sources: [any DispatchSourceSignal] = []
            for number in [_SIGINT, _SIGTERM] {
                system_ignore_signal(number)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { interrupted(cancellation) }
                source.resume()
                sources.append(source)
            }
            state = (cancellation, sources)
            return cancellation
        }
    }

    private static func interrupted(_ cancellation: Cancellation) {
        cancellation.cancel()
        removeScratch()
        let count = signals.wrappingAdd(1, ordering: .relaxed).newValue
        if count > 1 { giveUp() }
        DispatchQueue.global().asyncAfter(deadline: .now() + 3) { giveUp() }
    }

    private static func giveUp() -> Never {
        removeScratch()
        Terminal.writeError((Terminal.standardErrorIsTerminal ? "\r\u{1B}[K" : "") + "imgpack: interrupted; nothing was left at the destination\n")
        system_exit(ExitStatus.interrupted.rawValue)
    }
}
