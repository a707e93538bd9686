import ArgumentParser
import Foundation
import ImagePack

/// `imgpack`: pack, inspect, verify and extract ImagePack system images.
@main
struct Imgpack: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "imgpack",
        abstract: "Pack, inspect, verify and extract ImagePack system images.",
        discussion: """
            An ImagePack image holds a whole machine in one file: its disks (and other sections \
            such as memory or NVRAM) cut into chunks that are compressed and checksummed one by \
            one, plus metadata. Every image has a root digest, a SHA-256 over its metadata, \
            stream table and every chunk's digest: equal digests mean equal images.

            EXIT STATUS
              0    success
              1    invalid image: verification failed, damaged, truncated, not an image
              2    usage error: bad option or argument, unknown disk, destination exists
              3    I/O error: a file could not be opened, read or written
              4    internal error (a bug: please report it)
              5    intact but not signed by a trusted key (--trusted-key, --trust-dir)
              130  interrupted (SIGINT or SIGTERM); no partial output was left
            """,
        version: "0.1.0 (ImagePack format \(FormatVersion.major).\(FormatVersion.minor))",
        subcommands: [
            Pack.self, Import.self, Info.self, Verify.self, Validate.self, Extract.self, Export.self, Cat.self, Ls.self, Recover.self,
            Key.self, Sign.self, Share.self, Copy.self, Flatten.self, Rebase.self, Diff.self, Serve.self, Demo.self,
            Push.self, Pull.self, CopyRemote.self, LsRemote.self, CatRemote.self,
        ])

    /// Parses, runs, and maps every failure to a documented exit status (see ``ExitStatus``).
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let problem = CommandLineCheck.problem(in: arguments) {
            Terminal.note(problem)
            Foundation.exit(ExitStatus.usage.rawValue)
        }
        var command: any ParsableCommand
        do {
            command = try parseAsRoot(arguments)
        } catch {
            exit(reporting: error)
        }
        do {
            try command.run()
        } catch let error as ValidationError {
            // Thrown by run() (metadata checks, say), after parsing: the parser would print the
            // root's usage ("imgpack <subcommand>"); the user needs the usage of this command.
            Terminal.note("Error: \(error.message)\n" + CommandLineCheck.usage(of: type(of: command)._commandName))
            Foundation.exit(ExitStatus.usage.rawValue)
        } catch {
            exit(reporting: error)
        }
    }

    static func exit(reporting error: any Error) -> Never {
        if let failure = error as? any ExitStatusError {
            if !failure.isReported {
                if let e = failure as? ImagePackError, e.code == .cancelled {
                    Terminal.note("imgpack: interrupted; nothing was left at the destination")
                } else if let e = failure as? ImagePackError {
                    Terminal.note("imgpack: error: \(e.displayed)")
                } else {
                    Terminal.note("imgpack: error: \(failure)")
                }
            }
            Foundation.exit(failure.exitStatus.rawValue)
        }
        if let code = error as? ExitCode { Foundation.exit(code.rawValue) }
        // --help, --version and --generate-completion-script: argument-parser prints them.
        if exitCode(for: error) == .success { exit(withError: error) }
        // Everything else is a malformed command line: the message and the usage, exit 2.
        Terminal.note(fullMessage(for: error))
        Foundation.exit(ExitStatus.usage.rawValue)
    }
}
