import Foundation
import ImagePack
import Testing

/// One writing command as the crash-consistency harness runs it: what it writes and how to tell
/// a complete output from a damaged one. A new writing command (sign, share, copy, pull,
/// serve --overlay) is one more value of this type in ``CrashConsistencyTests/commands``.
struct WritingCommand: Sendable {
    /// The name in the report table.
    var name: String
    /// The arguments after `imgpack`; `force` appends the flag that allows replacing.
    var arguments: @Sendable (_ force: Bool) -> [String]
    /// The files it publishes, relative to the scratch directory.
    var destinations: [String]
    /// Whether `destination` (a path in the scratch directory) is a complete, valid output.
    var isComplete: @Sendable (_ cli: CLI, _ destination: String) throws -> Bool
}

/// What one destination held after a killed run.
enum KillOutcome: String, CaseIterable {
    /// No file: the run died before publishing.
    case absent
    /// The complete, valid output.
    case complete
    /// The file that was there before, byte for byte.
    case previousIntact = "previous-intact"
    /// Anything else: a partial or corrupt file published, or a previous file damaged.
    case damaged
}

/// How a run meets its destination.
enum KillMode: CaseIterable {
    /// Nothing there before.
    case fresh
    /// A previous file of the same name, replaced with --force.
    case replacing
    /// A previous file of the same name, without --force: it must stay as it was.
    case existing
}

/// Where a run is killed: after a delay, or once it has written a number of bytes.
enum KillPoint: CustomStringConvertible {
    case after(seconds: Double)
    case afterWriting(bytes: Int)

    var description: String {
        switch self {
        case .after(let s): String(format: "after %.3f s", s)
        case .afterWriting(let b): "after \(b) bytes written"
        }
    }
}

/// The tally of one command's kill runs, a row of the report table.
struct KillTally {
    var command: String
    var points = 0
    /// Runs that ended on their own before the kill landed (the point was past the end).
    var finishedFirst = 0
    var outcomes: [KillOutcome: Int] = [:]
    var leftovers = 0
    /// Hidden names left by a kill between the two steps of a replacement, removed by the next run.
    var sweptLater = 0
    var seconds = 0.0
}

/// Runs writing commands and kills them with SIGKILL at chosen points, then checks what is left
/// (Linux: reads /proc/PID/io for bytes written).
struct KillHarness {
    let cli: CLI

    /// Runs `command` to completion once, polling how much it writes: returns its wall time and
    /// the most bytes seen written (`wchar` of /proc/PID/io, which counts write and pwrite calls).
    func measure(_ command: WritingCommand) throws -> (seconds: Double, bytes: Int) {
        for destination in command.destinations { try? FileManager.default.removeItem(atPath: cli.path(destination)) }
        let process = try launch(command, force: false)
        let start = Date()
        var bytes = 0
        while process.isRunning {
            if let written = Self.bytesWritten(by: process.processIdentifier) { bytes = max(bytes, written) }
            usleep(1_000)
        }
        process.waitUntilExit()
        let seconds = Date().timeIntervalSince(start)
        #expect(process.terminationStatus == 0, "\(command.name) failed on its own, so killing it proves nothing")
        for destination in command.destinations {
            #expect(try command.isComplete(cli, destination), "\(command.name): \(destination) is not complete after a clean run")
            try? FileManager.default.removeItem(atPath: cli.path(destination))
        }
        return (seconds, bytes)
    }

    /// `count` kill points spread over a run of `seconds` that writes `bytes`: alternately by time
    /// and by bytes written, from the start to a little past the end (so that some runs finish and
    /// the complete outcome is checked too).
    static func points(count: Int, seconds: Double, bytes: Int) -> [KillPoint] {
        (0..<count).map { i in
            let fraction = Double(i / 2) / Double((count + 1) / 2 - 1) * 1.1
            return i % 2 == 0 ? .after(seconds: seconds * fraction) : .afterWriting(bytes: Int(Double(bytes) * fraction))
        }
    }

    /// Runs `command` once per point, killing it there, and checks every destination afterwards.
    func run(_ command: WritingCommand, points: [KillPoint], modes: [KillMode]) throws -> KillTally {
        var tally = KillTally(command: command.name)
        let start = Date()
        // Bytes that are no image, disk or qcow2 file: a previous file is never mistaken for an output.
        let previous = Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        for (index, point) in points.enumerated() {
            let mode = modes[index % modes.count]
            for destination in command.destinations {
                let path = cli.path(destination)
                try? FileManager.default.removeItem(atPath: path)
                if mode != .fresh { try previous.write(to: URL(fileURLWithPath: path)) }
            }
            let before = Set(cli.listing())
            let process = try launch(command, force: mode == .replacing)
            Self.wait(for: process, until: point)
            _ = system_kill(process.processIdentifier, _SIGKILL)
            process.waitUntilExit()
            tally.points += 1
            if process.terminationReason == .exit { tally.finishedFirst += 1 }

            let label = "\(command.name) killed \(point) (\(mode))"
            for destination in command.destinations {
                let outcome = try classify(destination, of: command, previous: previous)
                tally.outcomes[outcome, default: 0] += 1
                switch mode {
                case .fresh:
                    #expect(outcome == .absent || outcome == .complete, "\(label): \(destination) is \(outcome)")
                case .replacing:
                    #expect(outcome == .previousIntact || outcome == .complete, "\(label): \(destination) is \(outcome)")
                case .existing:
                    #expect(outcome == .previousIntact, "\(label): \(destination) is \(outcome) but was not to be replaced")
                }
            }
            var new = Set(cli.listing()).subtracting(before).subtracting(command.destinations)
            if mode == .replacing {
                // Replacing takes two system calls (link the finished file to a hidden name, rename
                // that over the destination); a kill between them leaves the hidden name, which
                // the next writer into the directory removes (its process is gone). Counted apart,
                // and the sweep is checked after the loop.
                let stale = new.filter { $0.contains(".imgpack-tmp-\(process.processIdentifier)-") }
                tally.sweptLater += stale.count
                new.subtract(stale)
            }
            tally.leftovers += new.count
            #expect(new.isEmpty, "\(label) left \(new.sorted())")
        }
        if tally.sweptLater > 0 {
            // One more complete run: its output file sweeps the directory of the dead processes' names.
            let process = try launch(command, force: true)
            process.waitUntilExit()
            let remaining = cli.listing().filter { $0.contains(OutputFile.temporaryMarker) }
            #expect(remaining.isEmpty, "\(command.name): the next run did not remove \(remaining)")
        }
        tally.seconds = Date().timeIntervalSince(start)
        return tally
    }

    func classify(_ destination: String, of command: WritingCommand, previous: Data) throws -> KillOutcome {
        let path = cli.path(destination)
        guard FileManager.default.fileExists(atPath: path) else { return .absent }
        if FileManager.default.contents(atPath: path) == previous { return .previousIntact }
        return try command.isComplete(cli, destination) ? .complete : .damaged
    }

    func launch(_ command: WritingCommand, force: Bool) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try CLI.binary)
        process.arguments = command.arguments(force)
        process.currentDirectoryURL = URL(fileURLWithPath: cli.directory)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Returns once `point` is reached or the process has ended.
    static func wait(for process: Process, until point: KillPoint) {
        let start = Date()
        while process.isRunning {
            switch point {
            case .after(let seconds):
                if Date().timeIntervalSince(start) >= seconds { return }
            case .afterWriting(let bytes):
                if let written = Self.bytesWritten(by: process.processIdentifier), written >= bytes { return }
            }
            usleep(500)
        }
    }

    /// `wchar` of /proc/PID/io: bytes the process has passed to write-like calls so far.
    static func bytesWritten(by pid: Int32) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/io", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("wchar:") {
            return Int(line.dropFirst("wchar:".count).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    /// The report table, for the CI log.
    static func table(_ tallies: [KillTally]) -> String {
        var lines = ["command         points  finished-first  absent  complete  previous-intact  damaged  leftovers  swept-later  seconds"]
        for t in tallies {
            let cells = [
                t.command.padding(toLength: 14, withPad: " ", startingAt: 0),
                String(format: "%6d", t.points), String(format: "%14d", t.finishedFirst),
                String(format: "%6d", t.outcomes[.absent] ?? 0), String(format: "%8d", t.outcomes[.complete] ?? 0),
                String(format: "%15d", t.outcomes[.previousIntact] ?? 0), String(format: "%7d", t.outcomes[.damaged] ?? 0),
                String(format: "%9d", t.leftovers), String(format: "%11d", t.sweptLater), String(format: "%7.1f", t.seconds),
            ]
            lines.append(cells.joined(separator: "  "))
        }
        return lines.joined(separator: "\n")
    }
}
