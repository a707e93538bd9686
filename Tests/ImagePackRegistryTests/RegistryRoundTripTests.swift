import Foundation
import Testing
import TestSupport

/// push, pull, copy-remote and ls-remote against real docker-registry instances on loopback,
/// with skopeo as a peer. Each test starts and stops its own registries.
@Suite("Registry round trips against docker-registry on loopback", .serialized)
struct RegistryRoundTripTests {
    /// A signed image of a 24 MiB disk in 256 KiB chunks: about 70 stored records, a dozen layers.
    static func signedImage(_ f: RegistryFixture) throws {
        let w = f.w
        try f.packDisk(megabytes: 24, seed: 7)
        #expect(try w.imgpack(["key", "generate", "-o", w.path("key")]).status == 0)
        #expect(try w.imgpack(["sign", w.path("v1.ipk"), "--key", w.path("key")]).status == 0)
    }

    @Test func pushThenPullGivesTheSameBytesSignaturesIncluded() throws {
        let f = try RegistryFixture()
        defer { f.stop() }
        let (w, registry) = (f.w, f.registry)
        try Self.signedImage(f)
        let ref = "\(registry.address)/vm/web:1.0"
        let push = try w.imgpack(["push", w.path("v1.ipk"), ref, "--json"] + registry.clientArguments)
        #expect(push.status == 0, "\(push.stderr)")
        #expect((push.json["layers"] as? Int ?? 0) > 3)
        #expect(push.json["signatureTag"] as? String == (push.json["manifestDigest"] as? String ?? "").replacingOccurrences(of: ":", with: "-") + ".sig")

        let pull = try w.imgpack(["pull", ref, "-o", w.path("pulled.ipk"), "--json", "--trusted-key", w.path("key.pub")] + registry.clientArguments)
        #expect(pull.status == 0, "\(pull.stderr)")
        expectSameBytes(w.data("pulled.ipk"), w.data("v1.ipk"))
        #expect(pull.json["signatures"] as? Int == 1)
        #expect(pull.json["rootDigest"] as? String == push.json["rootDigest"] as? String)
        #expect(try w.execute("/usr/bin/cmp", [w.path("v1.ipk"), w.path("pulled.ipk")]).status == 0)

        // By digest, too; and a second push of the same image uploads nothing.
        let digest = push.json["manifestDigest"] as? String ?? ""
        let byDigest = try w.imgpack(["pull", "\(registry.address)/vm/web@\(digest)", "-o", w.path("by-digest.ipk")] + registry.clientArguments)
        #expect(byDigest.status == 0, "\(byDigest.stderr)")
        expectSameBytes(w.data("by-digest.ipk"), w.data("v1.ipk"))
        // The summary of a written file goes to standard error, as pack's; nothing with --quiet.
        #expect(byDigest.stdout.isEmpty && byDigest.stderr.contains("every chunk verified"), "\(byDigest.stdout)")
        let quiet = try w.imgpack(["pull", ref, "-o", w.path("quiet.ipk"), "--quiet"] + registry.clientArguments)
        #expect(quiet.status == 0 && quiet.stdout.isEmpty && quiet.stderr.isEmpty, "\(quiet.stderr)")
        let again = try w.imgpack(["push", w.path("v1.ipk"), ref, "--json"] + registry.clientArguments)
        #expect(again.json["bytesUploaded"] as? Int == 0)
        #expect(again.json["manifestDigest"] as? String == digest)

        // An existing destination is never replaced without --force.
        let refused = try w.imgpack(["pull", ref, "-o", w.path("v1.ipk")] + registry.clientArguments)
        #expect(refused.status == 2)
    }

    @Test func anUntrustedImageIsRefusedBeforeAnythingIsWritten() throws {
        let f = try RegistryFixture()
        defer { f.stop() }
        let (w, registry) = (f.w, f.registry)
        try Self.signedImage(f)
        #expect(try w.imgpack(["key", "generate", "-o", w.path("other")]).status == 0)
        let ref = "\(registry.address)/vm/web:1.0"
        #expect(try w.imgpack(["push", w.path("v1.ipk"), ref] + registry.clientArguments).status == 0)
        let pull = try w.imgpack(["pull", ref, "-o", w.path("pulled.ipk"), "--trusted-key", w.path("other.pub")] + registry.clientArguments)
        #expect(pull.status == 5, "\(pull.stderr)")
        #expect(!w.exists("pulled.ipk"))
        // Nothing was downloaded beyond the config: no layer blob, complete or partial, in the cache.
        let blobs = (try? FileManager.default.contentsOfDirectory(atPath: w.path("cache/blobs/sha256"))) ?? []
        #expect(blobs.count == 1)
    }

    @Test func skopeoSeesOurManifestAndCopiesItToASecondRegistry() throws {
        let f = try RegistryFixture()
        defer { f.stop() }
        let second = try RegistryServer()
        defer { second.stop() }
        let (w, first) = (f.w, f.registry)
        try Self.signedImage(f)
        #expect(try w.imgpack(["push", w.path("v1.ipk"), "\(first.address)/vm/web:1.0"] + first.clientArguments).status == 0)

        let inspect = try w.execute("/usr/bin/skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(first.address)/vm/web:1.0"])
        #expect(inspect.status == 0, "\(inspect.stderr)")
        #expect(inspect.stdout.contains("\"artifactType\":\"application/vnd.imagepack.image.v1\""))
        #expect(inspect.stdout.contains("org.imagepack.root-digest"))

        let copy = try w.execute("/usr/bin/skopeo", [
            "copy", "--src-tls-verify=false", "--dest-tls-verify=false", "docker://\(first.address)/vm/web:1.0", "docker://\(second.address)/mirror/web:1.0",
        ])
        #expect(copy.status == 0, "\(copy.stderr)")
        let pull = try w.imgpack(["pull", "\(second.address)/mirror/web:1.0", "-o", w.path("from-second.ipk")] + second.clientArguments)
        #expect(pull.status == 0, "\(pull.stderr)")
        expectSameBytes(w.data("from-second.ipk"), w.data("v1.ipk"))
    }

    @Test func copyRemoteMovesOnlyMissingBlobsAndMountsWithinARegistry() throws {
        let f = try RegistryFixture()
        defer { f.stop() }
        let second = try RegistryServer()
        defer { second.stop() }
        let (w, first) = (f.w, f.registry)
        try Self.signedImage(f)
        let source = "\(first.address)/vm/web:1.0"
        let push = try w.imgpack(["push", w.path("v1.ipk"), source, "--json"] + first.clientArguments)
        #expect(push.status == 0, "\(push.stderr)")

        let across = try w.imgpack(["copy-remote", source, "\(second.address)/vm/web:1.0", "--json", "--insecure"])
        #expect(across.status == 0, "\(across.stderr)")
        #expect((across.json["blobsCopied"] as? Int ?? 0) > 3)
        #expect(across.json["signatureTag"] as? String != nil)
        let again = try w.imgpack(["copy-remote", source, "\(second.address)/vm/web:1.0", "--json", "--insecure"])
        #expect(again.json["bytesCopied"] as? Int == 0)

        let within = try w.imgpack(["copy-remote", source, "\(first.address)/other/web:2", "--json", "--insecure"])
        #expect(within.status == 0, "\(within.stderr)")
        #expect(within.json["bytesCopied"] as? Int == 0)
        #expect((within.json["blobsMounted"] as? Int ?? 0) > 3)

        let pull = try w.imgpack(["pull", "\(second.address)/vm/web:1.0", "-o", w.path("copied.ipk"), "--insecure"])
        #expect(pull.status == 0, "\(pull.stderr)")
        expectSameBytes(w.data("copied.ipk"), w.data("v1.ipk"))
        let ls = try w.imgpack(["ls-remote", "\(first.address)/other/web:2", "--json", "--insecure"])
        #expect(ls.status == 0, "\(ls.stderr)")
        #expect((ls.json["layers"] as? [Any])?.count == push.json["layers"] as? Int)
        #expect(ls.json["rootDigest"] as? String == push.json["rootDigest"] as? String)
    }
}
