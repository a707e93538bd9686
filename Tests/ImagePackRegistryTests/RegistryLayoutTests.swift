import ImagePack
import Testing

@testable import ImagePackRegistry

@Suite("Registry layout: content-cut groups of chunk records (spec/REGISTRY.md §4)")
struct RegistryLayoutTests {
    /// `n` records of `size` bytes each, back to back from `start`, keys from a simple generator.
    static func records(_ n: Int, size: UInt64 = 1000, start: UInt64 = 500, seed: UInt64 = 1) -> [(entry: Int, offset: UInt64, size: UInt64, key: UInt64)] {
        var state = seed
        return (0..<n).map { i in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return (i, start + UInt64(i) * size, size, state >> 11)
        }
    }

    @Test func layersTileTheDataAreaFromDataStartToTheLastRecord() {
        let records = Self.records(300)
        let layout = RegistryLayout(fileLength: 1_000_000, dataStart: 400, records: records)
        #expect(layout.headLength == 400)
        #expect(layout.layers.first?.offset == 400)
        for (a, b) in zip(layout.layers, layout.layers.dropFirst()) {
            #expect(a.end == b.offset)
            #expect(a.lastEntry + 1 == b.firstEntry)
        }
        #expect(layout.layers.last?.end == 500 + 300 * 1000)
        #expect(layout.tailOffset == 500 + 300 * 1000)
        #expect(layout.layers.last?.lastEntry == 299)
    }

    @Test func groupsRespectTheMinimumAndMaximumRecordCounts() {
        let layout = RegistryLayout(fileLength: 10_000_000, dataStart: 500, records: Self.records(3000))
        let k = layout.groupRecords
        #expect(k == 16)  // ceil(3000 / 256) = 12 -> 16
        for layer in layout.layers.dropLast() {
            let count = layer.lastEntry - layer.firstEntry + 1
            #expect(count >= k / 2 && count <= 4 * k)
        }
    }

    @Test(arguments: [0, 1, 100, 5000, 100_000, 1 << 22])
    func layerCountStaysUnderAThousandAtAnySize(records n: Int) {
        let layout = RegistryLayout(fileLength: UInt64(n) * 100 + 10_000, dataStart: 500, records: Self.records(n, size: 100))
        #expect(layout.layers.count <= 2 * n / layout.groupRecords + 1)
        #expect(layout.layers.count < 1000)
        if n == 0 {
            #expect(layout.layers.isEmpty)
            #expect(layout.tailOffset == 500)
        }
    }

    @Test func noLayerPassesTheByteCapUnlessOneRecordDoes() {
        // 64 MiB records: 4k = 16 of them would be 1 GiB; make k larger with many records.
        let big = Self.records(40, size: 64 << 20)
        let layout = RegistryLayout(fileLength: 41 * (64 << 20), dataStart: 500, records: big)
        for layer in layout.layers { #expect(layer.length <= RegistryLayout.maxLayerBytes) }
    }

    @Test func aChangedRecordChangesOnlyItsGroupAndTheNext() {
        var records = Self.records(2000)
        let before = RegistryLayout(fileLength: 3_000_000, dataStart: 500, records: records)
        records[1000].key = records[1000].key &+ 12345
        let after = RegistryLayout(fileLength: 3_000_000, dataStart: 500, records: records)
        let changed = Set(after.layers.map { [$0.firstEntry, $0.lastEntry] }).subtracting(before.layers.map { [$0.firstEntry, $0.lastEntry] })
        #expect(changed.count <= 2)
    }

    @Test func theCutKeyIsTheDigestsFirstEightBytesLittleEndian() {
        let digest = Digest(hex: "0102030405060708" + String(repeating: "00", count: 24))!
        #expect(RegistryLayout.cutKey(digest) == 0x0807_0605_0403_0201)
    }
}

@Suite("Registry references and authentication challenges")
struct RegistryReferenceTests {
    @Test func parsesHostRepositoryTagAndDigest() throws {
        let r = try RegistryReference.parse("localhost:5000/team/web:1.0")
        #expect(r.registry == "localhost:5000" && r.repository == "team/web" && r.tag == "1.0" && r.digest == nil)
        #expect(r.isLoopback)
        let d = "sha256:" + String(repeating: "ab", count: 32)
        let s = try RegistryReference.parse("registry.example.com/vm/debian@\(d)")
        #expect(s.digest == d && s.tag == nil && s.manifestReference == d && !s.isLoopback)
        #expect(try RegistryReference.parse("127.0.0.1:1234/a").manifestReference == "latest")
    }

    @Test(arguments: ["team/web:1.0", "web", "localhost:5000/Team/web", "localhost:5000/web:", "localhost:5000/web@sha256:12", "./image.ipk"])
    func refusesWhatIsNotAReference(_ text: String) {
        #expect(throws: ImagePackError.self) { try RegistryReference.parse(text) }
        do { _ = try RegistryReference.parse(text) } catch { #expect(error.code == .invalidReference) }
    }

    @Test func parsesBearerAndBasicChallenges() {
        let bearer = AuthChallenge.parse(#"Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull""#)
        #expect(bearer?.scheme == "bearer")
        #expect(bearer?.parameters["realm"] == "https://auth.example.com/token")
        #expect(bearer?.parameters["service"] == "registry.example.com")
        #expect(bearer?.parameters["scope"] == "repository:a/b:pull")
        #expect(AuthChallenge.parse(#"Basic realm="imgpack-tests""#) == AuthChallenge(scheme: "basic", parameters: ["realm": "imgpack-tests"]))
    }

    @Test func credentialsNeverShowTheirPassword() {
        let c = RegistryCredentials(username: "alice", password: "s3cret-token")
        #expect(!"\(c)".contains("s3cret"))
    }

    @Test func insecureIsRefusedForAHostThatIsNotLoopback() {
        do {
            _ = try RegistryClient(registry: "registry.example.com", options: .init(insecure: true))
            Issue.record("plain HTTP to a remote host was allowed")
        } catch {
            #expect(error.code == .invalidArgument)
        }
    }

    @Test func authFileEntriesAreFoundByHost() throws {
        let w = try Workspace()
        defer { w.cleanUp() }
        let auth = #"{"auths":{"https://127.0.0.1:5000":{"auth":"YWxpY2U6cGFzcw=="}}}"#
        try auth.write(toFile: w.path("auth.json"), atomically: true, encoding: .utf8)
        let c = try RegistryCredentials.fromAuthFiles(registry: "127.0.0.1:5000", file: w.path("auth.json"))
        #expect(c?.username == "alice" && c?.password == "pass")
        #expect(try RegistryCredentials.fromAuthFiles(registry: "127.0.0.1:5001", file: w.path("auth.json")) == nil)
    }
}
