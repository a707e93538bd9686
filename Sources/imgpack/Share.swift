import ArgumentParser
import ImagePack

/// `imgpack share`: change who may use an image, and its name, without changing what it is.
struct Share: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Change an image's sharing, name or description; its root digest and signatures stay valid.",
        discussion: """
            Rewrites only the catalogue record of a format 1.2 image (spec §5.4): the new record \
            is written into the image's tail area and flushed, then the footer is switched to it \
            with one write, in constant time whatever the image's size; a kill, a crash or a full \
            disk leaves the old catalogue or the new one. The root digest does not cover the \
            catalogue, so every signature still verifies. Images in the format 1.0 layout (packed \
            with --legacy-layout or by older imgpack) keep these fields in their root digest and \
            are refused.

            Visibility: public (anyone), custom (the owner only) or shared (the owner and the \
            accounts listed). Adding accounts to an image that is not shared makes it shared; \
            --visibility public or custom clears the list.
            """)

    @Argument(help: ArgumentHelp("The image file (changed in place, atomically).", valueName: "image"), completion: .file())
    var image: String

    @Option(name: .customLong("add"), parsing: .upToNextOption, help: ArgumentHelp("Accounts to share the image with.", valueName: "account"))
    var add: [String] = []

    @Option(name: .customLong("remove"), parsing: .upToNextOption, help: ArgumentHelp("Accounts to stop sharing the image with.", valueName: "account"))
    var remove: [String] = []

    @Option(help: "Who may use the image.")
    var visibility: VisibilityChoice?

    @Option(help: ArgumentHelp("A new name for the image (1-128 bytes).", valueName: "name"))
    var name: String?

    @Option(help: ArgumentHelp("A new description; an empty one removes it.", valueName: "text"))
    var description: String?

    @OptionGroup var json: JSONOption

    enum VisibilityChoice: String, ExpressibleByArgument, CaseIterable {
        case `public`, custom, shared
        var value: ImageMetadata.Visibility { ImageMetadata.Visibility(rawValue: rawValue)! }
    }

    func validate() throws {
        if image == "-" { throw ValidationError("share changes an image file in place; it cannot change standard input.") }
        if add.isEmpty, remove.isEmpty, visibility == nil, name == nil, description == nil {
            throw ValidationError("nothing to change: give --add, --remove, --visibility, --name or --description.")
        }
        if let both = Set(add).intersection(remove).sorted().first { throw ValidationError("account \(both) is both added and removed.") }
        if let visibility, visibility != .shared, !add.isEmpty {
            throw ValidationError("--add shares the image with accounts, which needs --visibility shared, not \(visibility.rawValue).")
        }
    }

    func run() throws {
        let update = try ImageCatalogueEditor.update(imageAt: image) { catalogue in
            if let name { catalogue.name = name }
            if let description { catalogue.description = description.isEmpty ? nil : description }
            let removed = Set(remove)
            var accounts = catalogue.sharedWith.filter { !removed.contains($0) }
            for account in add where !accounts.contains(account) { accounts.append(account) }
            if let visibility {
                catalogue.visibility = visibility.value
            } else if !add.isEmpty {
                catalogue.visibility = .shared
            }
            catalogue.sharedWith = catalogue.visibility == .shared ? accounts : []
        }
        let c = update.catalogue
        if json.json {
            try printJSON(ShareJSONReport(
                path: image, rootDigest: update.rootDigest.description, name: c.name, visibility: c.visibility.rawValue, sharedWith: c.sharedWith,
                signatures: update.signatureCount, inPlace: update.inPlace, fileLength: update.fileLength))
        } else {
            let who = c.visibility == .shared ? "shared with \(c.sharedWith.isEmpty ? "no account" : c.sharedWith.joined(separator: ", "))" : c.visibility.rawValue
            print("\(image): \(ImageMetadata.escapedForDisplay(c.name)), \(who); root \(update.rootDigest) unchanged, \(update.signatureCount) signature\(update.signatureCount == 1 ? "" : "s") still valid (\(update.inPlace ? "catalogue written into the tail area" : "image rewritten beside itself with a larger tail area"))")
        }
    }
}

/// `share --json`.
struct ShareJSONReport: Encodable {
    var schema = 1
    var path: String
    var rootDigest: String
    var name: String
    var visibility: String
    var sharedWith: [String]
    var signatures: Int
    /// Whether only the tail area and the footer were written.
    var inPlace: Bool
    var fileLength: UInt64
}
