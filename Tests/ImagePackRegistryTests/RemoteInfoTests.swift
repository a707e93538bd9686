import Foundation
import Testing
import TestSupport

/// `info REF`: the report of `info FILE`, from the manifest and config blob alone.
@Suite("info of an image in a registry", .serialized)
struct RemoteInfoTests {
    @Test func infoOfAReferenceIsTheFilesReportAndDownloadsOnlyTheConfig() throws {
        let f = try RegistryFixture()
        defer { f.stop() }
        let (w, registry) = (f.w, f.registry)
        let ref = try f.pushDisk(megabytes: 16, seed: 21)
        let readsBefore = registry.blobReads().count

        let remote = try w.imgpack(["info", ref, "--json"] + registry.clientArguments)
        #expect(remote.status == 0, "\(remote.stderr)")
        let local = try w.imgpack(["info", w.path("v1.ipk"), "--json"])
        #expect(local.status == 0, "\(local.stderr)")
        for key in ["rootDigest", "fileLength", "chunkSize", "logicalBytes", "storedBytes", "payloadBytes", "overheadBytes", "formatVersion"] {
            #expect("\(remote.json[key] ?? "missing")" == "\(local.json[key] ?? "absent")", "\(key)")
        }
        for key in ["chunks", "streams", "metadata", "signatures"] {
            let a = try JSONSerialization.data(withJSONObject: remote.json[key] ?? [], options: .sortedKeys)
            let b = try JSONSerialization.data(withJSONObject: local.json[key] ?? [], options: .sortedKeys)
            expectSameBytes(a, b, "\(key)")
        }
        #expect(remote.json["formatVersion"] as? String == "1.2")
        #expect(remote.json["path"] as? String == ref)
        #expect((remote.json["manifestDigest"] as? String)?.hasPrefix("sha256:") == true)
        #expect(local.json["manifestDigest"] == nil)

        // Only the config blob travelled, whole, once.
        let raw = try w.execute("/usr/bin/skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(ref)"])
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(raw.stdout.utf8)) as? [String: Any])
        let config = try #require(manifest["config"] as? [String: Any])
        let reads = registry.blobReads().dropFirst(readsBefore)
        #expect(reads.map(\.digest) == [config["digest"] as? String ?? "?"])
        #expect(reads.map(\.bytes).reduce(0, +) == config["size"] as? Int)
        let layerBytes = ((manifest["layers"] as? [[String: Any]]) ?? []).compactMap { $0["size"] as? Int }.reduce(0, +)
        #expect(layerBytes > 10 * (config["size"] as? Int ?? .max))

        // The text report, with the manifest it read.
        let text = try w.imgpack(["info", ref] + registry.clientArguments)
        #expect(text.status == 0, "\(text.stderr)")
        for line in ["Image        \(ref)", "Manifest     sha256:", "Format       version 1.2", "Root digest  \(local.json["rootDigest"] as? String ?? "?")", "REF"] {
            #expect(text.stdout.contains(line), "missing \(line) in\n\(text.stdout)")
        }
        // Parents are for files: with a reference they are a usage error, not silently ignored.
        let withParent = try w.imgpack(["info", ref, "--parent", w.path("v1.ipk")] + registry.clientArguments)
        #expect(withParent.status == 2 && withParent.stderr.contains("--parent"), "\(withParent.stderr)")
        // A reference with no image behind it: the registry's error, not a file error.
        let missing = try w.imgpack(["info", "\(registry.address)/vm/none:1"] + registry.clientArguments)
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("manifestUnknown"), "\(missing.stderr)")
    }
}
