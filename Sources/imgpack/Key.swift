import ArgumentParser
import Foundation
import ImagePack

/// `imgpack key`: Ed25519 keys for signing images.
struct Key: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make Ed25519 keys for signing images.",
        subcommands: [Generate.self])

    /// `imgpack key generate -o NAME`.
    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a new Ed25519 key pair: NAME (private) and NAME.pub (public).",
            discussion: """
                NAME holds the private key as PEM PKCS#8 ("BEGIN PRIVATE KEY", the form \
                `openssl genpkey -algorithm ed25519` writes), created with mode 0600; it is never \
                printed. NAME.pub holds the public key as PEM ("BEGIN PUBLIC KEY", as `openssl \
                pkey -pubout` writes): give it to whoever checks your images (--trusted-key). \
                Prints the key id, the SHA-256 of the raw public key, which SIGN records, info and \
                verify name the key by.
                """)

        @Option(name: [.customShort("o"), .customLong("output")], help: ArgumentHelp("The private key file; the public key goes to NAME.pub.", valueName: "name"), completion: .file())
        var name: String

        @Flag(help: "Replace existing key files.")
        var force = false

        func run() throws {
            let key = SigningKey.generate()
            let publicPath = name + ".pub"
            for path in [name, publicPath] where !force && FileManager.default.fileExists(atPath: path) {
                throw ImagePackError(.destinationExists, "\(path) exists; choose another name or pass --force to replace it", path: path)
            }
            let secret = try OutputFile(path: name, overwrite: force)
            do {
                // Before any byte: the file has no name yet, so there is no moment when others can read it.
                try secret.setPermissions(0o600)
                try Array(key.pemRepresentation.utf8).withUnsafeBytes { try secret.write($0) }
                try secret.commit(sync: true)
            } catch {
                secret.abandon()
                throw error
            }
            let open = try OutputFile(path: publicPath, overwrite: force)
            do {
                try Array(key.publicKey.pemRepresentation.utf8).withUnsafeBytes { try open.write($0) }
                try open.commit(sync: true)
            } catch {
                open.abandon()
                throw error
            }
            print("key id \(key.publicKey.keyID.hex)")
            Terminal.note("wrote \(name) (private, keep it secret) and \(publicPath) (public)")
        }
    }
}
