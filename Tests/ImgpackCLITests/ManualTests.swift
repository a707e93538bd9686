import Foundation
import Testing

/// The generated man page is clean mdoc and documents every subcommand.
@Suite("man page")
struct ManualTests {
    static let page = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Sources/imgpack/Manual/imgpack.1").standardizedFileURL.path

    static let mandoc = ["/usr/bin/mandoc", "/usr/local/bin/mandoc"].first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test("mandoc -T lint -W warning reports nothing", .enabled(if: mandoc != nil, "mandoc not installed (bash .ci/deps)"))
    func lint() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        let r = try cli.execute(Self.mandoc!, ["-T", "lint", "-W", "warning", Self.page], stdinFile: nil, environment: [:])
        #expect(r.stdoutText.isEmpty && r.stderr.isEmpty, "\(r.stdoutText)\(r.stderr)")
    }

    @Test("every subcommand has its entry (regenerate with .ci/generate-cli-docs)")
    func subcommands() throws {
        let text = try String(contentsOfFile: Self.page, encoding: .utf8)
        for name in ["pack", "import", "info", "verify", "validate", "extract", "export", "cat", "ls", "recover", "demo"] {
            // `.It Em pack`, or with aliases `.It Em "info, inspect"`.
            #expect(text.contains(".It Em \(name)\n") || text.contains(".It Em \"\(name),"), "no entry for \(name) in the man page")
        }
    }
}
