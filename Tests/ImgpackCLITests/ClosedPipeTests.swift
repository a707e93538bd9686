import Foundation
import Testing

/// Commands writing to standard output when its reader goes away early (`| head -c`): they stop
/// with a non-zero status and leave nothing behind. With SIGPIPE ignored (as an embedding
/// program or a parent may leave it) the write fails with EPIPE, and the error says so.
@Suite("a reader that closes standard output early")
struct ClosedPipeTests {
    /// The commands, each writing far more than a pipe holds, so the reader's exit is seen.
    static let commands: [(name: String, command: String)] = [
        ("pack -o -", "\"$IMGPACK\" pack --simulate 32M -o -"),
        ("copy FILE -o -", "\"$IMGPACK\" copy big.ipk -o -"),
        ("copy - -o -", "\"$IMGPACK\" copy - -o - < big.ipk"),
        ("extract --stdout", "\"$IMGPACK\" extract big.ipk --disk root --stdout"),
        ("extract - --stdout", "\"$IMGPACK\" extract - --disk root --stdout < big.ipk"),
    ]

    @Test("SIGPIPE ignored: exit 3 naming the broken pipe; no file left in the directory")
    func epipe() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        #expect(try cli.run(["pack", "--simulate", "32M", "-o", "big.ipk", "--quiet"]).status == 0)
        let before = cli.listing()
        for (name, command) in Self.commands {
            // The status of the command in the middle of the pipe goes to a file.
            let r = try cli.shell("trap '' PIPE; { \(command) 2> err; echo $? > status; } | head -c 1000 > /dev/null")
            #expect(r.status == 0, "\(name): \(r.stderr)")
            let status = String(decoding: try cli.read("status"), as: UTF8.self)
            let stderr = String(decoding: try cli.read("err"), as: UTF8.self)
            #expect(status == "3\n", "\(name): status \(status), \(stderr)")
            #expect(stderr.contains("broken pipe") && stderr.contains("<stdout>"), "\(name): \(stderr)")
            #expect(!stderr.contains("wrote") && !stderr.contains("copied"), "\(name): a summary after a failure: \(stderr)")
            #expect(cli.listing() == before + ["err", "status"].filter { !before.contains($0) }, "\(name): \(cli.listing())")
        }
    }

    @Test("SIGPIPE as inherited: a non-zero status (the signal's, as for any filter, or 3)")
    func sigpipe() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        #expect(try cli.run(["pack", "--simulate", "32M", "-o", "big.ipk", "--quiet"]).status == 0)
        for (name, command) in Self.commands {
            _ = try cli.shell("{ \(command) 2> /dev/null; echo $? > status; } | head -c 1000 > /dev/null")
            let status = String(decoding: try cli.read("status"), as: UTF8.self)
            #expect(["141\n", "3\n"].contains(status), "\(name): status \(status)")
        }
    }

    @Test("copy to a file: the summary goes to standard error, as pack's; nothing at all with --quiet")
    func copySummary() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        _ = try cli.packSample()
        let r = try cli.run(["copy", "sample.ipk", "-o", "c.ipk"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.contains("copied sample.ipk to c.ipk"), "\(r.stderr)")
        let quiet = try cli.run(["copy", "sample.ipk", "-o", "q.ipk", "--quiet"])
        #expect(quiet.status == 0 && quiet.stdout.isEmpty && quiet.stderr.isEmpty, "\(quiet.stderr)")
    }
}
