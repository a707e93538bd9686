import Foundation
import Testing
import TestSupport

/// Bearer-token auth against a real docker-registry configured with `auth: token:` and a token
/// service of the test's own (``TokenServer``): the flow registries like Docker Hub, GHCR and
/// Harbor use.
@Suite("Registry: bearer tokens from a token service", .serialized)
struct BearerAuthTests {
    @Test func pushAndPullGetTokensForTheirScopesAndAPullOnlyAccountCannotPush() throws {
        let w = try Workspace()
        defer { w.cleanUp() }
        try RegistryServer.shell(
            "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=imgpack-token-issuer "
                + "-keyout '\(w.path("token-key.pem"))' -out '\(w.path("token-cert.pem"))' 2>/dev/null")
        let service = "imgpack-test-registry", issuer = "imgpack-test-tokens"
        let tokens = try TokenServer(
            keyFile: w.path("token-key.pem"), certificateFile: w.path("token-cert.pem"),
            accounts: ["alice": .init(password: "correct-horse-battery", actions: ["pull", "push"]), "bob": .init(password: "staple-reader-42", actions: ["pull"])],
            service: service, issuer: issuer)
        defer { tokens.stop() }
        let registry = try RegistryServer(token: .init(realm: tokens.realm, service: service, issuer: issuer, rootCertBundle: w.path("token-cert.pem")))
        defer { registry.stop() }
        _ = try w.makeDisk("disk.raw", megabytes: 8, seed: 51)
        try w.pack("disk.raw", to: "v1.ipk")
        let ref = "\(registry.address)/vm/web:1"
        let secrets = ["correct-horse-battery", "staple-reader-42", "wrong-password"]

        // Anonymous: the token service grants nothing, the registry refuses.
        let anonymous = try w.imgpack(["push", w.path("v1.ipk"), ref] + registry.clientArguments)
        #expect(anonymous.status == 2, "\(anonymous.stderr)")
        #expect(anonymous.stderr.contains("registryAuthenticationFailed"), "\(anonymous.stderr)")
        // A wrong password: the token service refuses it, and says so.
        let wrong = try w.imgpack(["push", w.path("v1.ipk"), ref, "--username", "alice", "--password-stdin"] + registry.clientArguments, stdin: "wrong-password\n")
        #expect(wrong.status == 2, "\(wrong.stderr)")
        #expect(wrong.stderr.contains("token service") && wrong.stderr.contains("401"), "\(wrong.stderr)")

        let push = try w.imgpack(["push", w.path("v1.ipk"), ref, "--username", "alice", "--password-stdin"] + registry.clientArguments, stdin: "correct-horse-battery\n")
        #expect(push.status == 0, "\(push.stderr)")
        #expect(tokens.grants.contains { $0.user == "alice" && $0.granted.contains("repository:vm/web:pull,push") })

        let pull = try w.imgpack(["pull", ref, "-o", w.path("pulled.ipk"), "--username", "bob", "--password-stdin"] + registry.clientArguments, stdin: "staple-reader-42\n")
        #expect(pull.status == 0, "\(pull.stderr)")
        expectSameBytes(w.data("pulled.ipk"), w.data("v1.ipk"))

        // bob's tokens carry pull only: the registry refuses his push.
        let refused = try w.imgpack(["push", w.path("v1.ipk"), "\(registry.address)/vm/web:2", "--username", "bob", "--password-stdin"] + registry.clientArguments, stdin: "staple-reader-42\n")
        #expect(refused.status == 2, "\(refused.stderr)")
        #expect(refused.stderr.contains("registryAuthenticationFailed") && refused.stderr.contains("does not grant"), "\(refused.stderr)")
        #expect(tokens.grants.contains { $0.user == "bob" && $0.asked.contains { $0.hasSuffix(":pull,push") } && !$0.granted.contains { $0.contains("push") } })
        let tag2 = try w.imgpack(["ls-remote", "\(registry.address)/vm/web:2", "--username", "alice", "--password-stdin"] + registry.clientArguments, stdin: "correct-horse-battery\n")
        #expect(tag2.status == 2 && tag2.stderr.contains("manifestUnknown"), "nothing was published: \(tag2.stderr)")

        for run in [anonymous, wrong, push, pull, refused, tag2] {
            for secret in secrets { #expect(!(run.stdout + run.stderr).contains(secret)) }
        }
        let log = (try? String(contentsOfFile: registry.directory + "/registry.log", encoding: .utf8)) ?? ""
        for secret in secrets { #expect(!log.contains(secret)) }
    }
}
