import Foundation
import ImagePack
import Testing

/// What `--sync` promises (docs/imgpack.md, "Durability"): before the command reports success the
/// image's bytes are flushed (fsync of the file, before it gets its name) and so is its name (fsync
/// of the directory, after the link or rename). Observed with strace, which shows each fsync with
/// the path of its descriptor (-y): the least brittle witness, since it watches the system calls
/// themselves rather than a hook in the code under test.
@Suite("durability")
struct DurabilityTests {
    static let strace: String? = ["/usr/bin/strace", "/bin/strace"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// The paths of the descriptors `imgpack arguments` passed to fsync, in order.
    func fsyncedPaths(_ cli: CLI, _ arguments: [String]) throws -> [String] {
        let trace = cli.path(".trace")
        let result = try cli.execute(try #require(Self.strace), ["-f", "-y", "-qq", "-e", "trace=fsync,fdatasync", "-o", trace, try CLI.binary] + arguments, stdinFile: nil, environment: [:])
        try #require(result.status == 0, "imgpack \(arguments.joined(separator: " ")) failed: \(result.stderr)")
        let text = try String(contentsOfFile: trace, encoding: .utf8)
        try FileManager.default.removeItem(atPath: trace)
        // Lines read like: 1234 fsync(7</tmp/dir/#16262116>(deleted)) = 0
        return text.split(separator: "\n").compactMap { line in
            line.firstMatch(of: /f(?:data)?sync\(\d+<([^>]*)>(?:\(deleted\))?\)\s*= 0/).map { String($0.1) }
        }
    }

    @Test("--sync fsyncs the file before publishing and its directory after; without it, neither",
          .enabled(if: strace != nil, "watches fsync with strace (.ci/deps installs it)"))
    func syncFlushesFileAndDirectory() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        let directory = URL(fileURLWithPath: cli.directory).resolvingSymlinksInPath().path
        for replacing in [false, true] {
            let synced = try fsyncedPaths(cli, ["pack", "--simulate", "16M", "--quiet", "--sync", "--force", "-o", "d.ipk"])
            let mode = replacing ? "replacing" : "new"
            // The file while still unnamed (O_TMPFILE: "DIR/#INODE (deleted)") or under its
            // temporary name, then the directory.
            #expect(synced.count == 2, "\(mode): fsync calls: \(synced)")
            #expect(synced.first.map { $0.hasPrefix(directory + "/") } == true, "\(mode): the file was not fsynced first: \(synced)")
            #expect(synced.last == directory, "\(mode): the directory was not fsynced last: \(synced)")
        }
        #expect(try fsyncedPaths(cli, ["pack", "--simulate", "16M", "--quiet", "-o", "e.ipk"]) == [])
    }
}
