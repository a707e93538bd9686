import ArgumentParser
import Foundation

/// Checks of the command line that swift-argument-parser makes too late or in the wrong words.
///
/// The parser runs a command's `validate()` before it looks at the arguments it did not use, so
/// `pack --dsk root=disk.raw` reported "Nothing to pack" instead of the misspelt option; and at
/// the root, an unknown subcommand followed by options (`pakc --disk …`) reported the first
/// option as unknown, not the subcommand. Both are checked here first, with a suggestion by edit
/// distance, in the parser's own format ("Error: …", the usage, exit 2).
enum CommandLineCheck {
    /// One subcommand's names: long options (without "--") and its own subcommands (`key generate`).
    struct Command {
        var name: String
        /// Other names the command answers to (`info` is also `inspect`).
        var aliases: [String]
        var longOptions: Set<String>
        var subcommands: [Command]
    }

    /// The subcommands and their long options, from the parser's own description of the tool
    /// (the JSON of `--experimental-dump-help`), so nothing is listed twice by hand.
    static let commands: [Command] = {
        guard let data = Imgpack._dumpHelp().data(using: .utf8),
              let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let tool = root["command"] as? [String: Any]
        else { return [] }
        return subcommands(of: tool)
    }()

    static func subcommands(of command: [String: Any]) -> [Command] {
        (command["subcommands"] as? [[String: Any]] ?? []).compactMap { sub in
            guard let name = sub["commandName"] as? String else { return nil }
            var longs: Set<String> = ["help"]
            for argument in sub["arguments"] as? [[String: Any]] ?? [] {
                for n in argument["names"] as? [[String: Any]] ?? [] {
                    if (n["kind"] as? String) == "long", let long = n["name"] as? String { longs.insert(long) }
                }
            }
            return Command(name: name, aliases: sub["aliases"] as? [String] ?? [], longOptions: longs, subcommands: subcommands(of: sub))
        }
    }

    /// The message for a command line that names an unknown subcommand or long option, or nil.
    static func problem(in arguments: [String]) -> String? {
        guard let first = arguments.first, !first.hasPrefix("-"), !commands.isEmpty else { return nil }
        guard let named = commands.first(where: { $0.name == first || $0.aliases.contains(first) }) else {
            if first == "help" { return nil }
            let suggestion = closest(to: first, among: commands.map(\.name)).map { " Did you mean '\($0)'?" } ?? ""
            return "Error: Unknown subcommand '\(first)'.\(suggestion)\nUsage: \(Imgpack.usageString(for: Imgpack.self))\n  See 'imgpack --help' for the subcommands."
        }
        // A command with subcommands of its own (`key generate`): check the options of the one named.
        var command = named
        var rest = arguments.dropFirst()
        while let next = rest.first, let nested = command.subcommands.first(where: { $0.name == next || $0.aliases.contains(next) }) {
            command = nested
            rest = rest.dropFirst()
        }
        for argument in rest {
            if argument == "--" { break }
            guard argument.hasPrefix("--"), argument.count > 2 else { continue }
            let name = String(argument.dropFirst(2).prefix { $0 != "=" })
            guard !command.longOptions.contains(name) else { continue }
            let suggestion = closest(to: name, among: Array(command.longOptions)).map { " Did you mean '--\($0)'?" } ?? ""
            return "Error: Unknown option '--\(name)'.\(suggestion)\n" + usage(of: first)
        }
        return nil
    }

    /// `Usage: imgpack NAME …` and the pointer to its help, as the parser prints them.
    static func usage(of name: String) -> String {
        guard let type = Imgpack.configuration.subcommands.first(where: { $0._commandName == name }) else {
            return "Usage: \(Imgpack.usageString(for: Imgpack.self))"
        }
        return "Usage: \(Imgpack.usageString(for: type))\n  See 'imgpack \(name) --help' for more information."
    }

    /// The candidate nearest to `word` by edit distance, if near enough to be a slip: at most a
    /// third of the word's length (two letters swapped count as two edits).
    static func closest(to word: String, among candidates: [String]) -> String? {
        let limit = max(2, word.count / 3)
        let scored = candidates.map { ($0, editDistance(word, $0)) }.filter { $0.1 <= limit }
        return scored.min { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }?.0
    }

    /// Levenshtein distance: insertions, deletions and substitutions.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
