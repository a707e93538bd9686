import Foundation
import Testing

/// What a registry test starts from: a scratch workspace and a registry of its own, both gone
/// after ``stop()``, and the steps most tests take first (a made-up disk packed as `v1.ipk`,
/// pushed under `vm/web:1`).
///
/// Each test writes `let f = try RegistryFixture()` and `defer { f.stop() }`, then works with
/// `f.w` and `f.registry` as before.
final class RegistryFixture {
    let w: Workspace
    let registry: RegistryServer

    /// Starts the registry (with basic auth for `user`/`password`, with TLS for `tls`).
    init(user: String? = nil, password: String? = nil, tls: Bool = false) throws {
        w = try Workspace()
        do {
            registry = try RegistryServer(user: user, password: password, tls: tls)
        } catch {
            w.cleanUp()
            throw error
        }
    }

    /// Stops the registry and removes its storage and the workspace.
    func stop() {
        registry.stop()
        w.cleanUp()
    }

    /// `disk.raw`, a made-up disk of `megabytes` MiB from `seed`, packed into `v1.ipk`.
    func packDisk(megabytes: Int, seed: UInt64) throws {
        _ = try w.makeDisk("disk.raw", megabytes: megabytes, seed: seed)
        try w.pack("disk.raw", to: "v1.ipk")
    }

    /// ``packDisk(megabytes:seed:)``, then `v1.ipk` pushed to `repository` of this registry,
    /// expected to succeed; returns the reference.
    @discardableResult
    func pushDisk(megabytes: Int, seed: UInt64, to repository: String = "vm/web:1", sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        try packDisk(megabytes: megabytes, seed: seed)
        let ref = "\(registry.address)/\(repository)"
        let push = try w.imgpack(["push", w.path("v1.ipk"), ref] + registry.clientArguments)
        #expect(push.status == 0, "\(push.stderr)", sourceLocation: sourceLocation)
        return ref
    }
}
