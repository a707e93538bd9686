import ArgumentParser
import Foundation
import ImagePack
import ImagePackRegistry

/// `imgpack info`: what an image holds, without reading its chunk payloads.
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show an image's metadata, streams, chunk statistics and root digest.",
        discussion: """
            Opening the image checks its whole structure (header, metadata, stream table, index, \
            footer and the root digest recomputed from the index) but reads no chunk payload; \
            use verify for that. --json prints a document with "schema": 1 (see docs/imgpack.md).

            An argument that is not an existing file but a registry reference \
            (HOST[:PORT]/REPOSITORY[:TAG][@sha256:DIGEST]) shows the image in the registry: the \
            same report, from the manifest and the config blob alone (no layer is downloaded), \
            with the registry options of pull.
            """,
        aliases: ["inspect"])

    @Argument(help: ArgumentHelp("The image file, or an image in a registry (HOST[:PORT]/REPOSITORY[:TAG]).", valueName: "image"), completion: .file())
    var image: String

    @OptionGroup var trust: TrustOptions
    @OptionGroup(title: "Parents") var parents: ParentOptions
    @OptionGroup(title: "Registry (for an image in a registry)") var registry: RegistryOptions
    @OptionGroup var json: JSONOption

    func validate() throws {
        if image == "-" { throw ValidationError("info needs random access to a file; for standard input use: imgpack verify -") }
    }

    /// The registry reference `image` names: only when no file of that name exists, so a local
    /// path that happens to parse as a reference (`host.d/x`) is still read as a file.
    var remoteReference: RegistryReference? {
        guard !FileManager.default.fileExists(atPath: image) else { return nil }
        return try? RegistryReference.parse(image)
    }

    func run() throws {
        let policy = try trust.policy()
        var report: InfoReport
        if let ref = remoteReference {
            if !parents.files.isEmpty || !parents.directories.isEmpty {
                throw CommandFailure(.usage, "--parent and --parent-dir apply to image files; an image in a registry is read without parents (pull a delta with pull --parent)")
            }
            let cancellation = Interrupts.install()
            let client = try registry.client(for: ref.registry, password: try registry.readPassword())
            let cache = try registry.blobCache()
            let remote = try runRegistryWork(cancellation: cancellation, closing: [client]) { () throws(ImagePackError) -> RemoteImage in
                try await RemoteImage.open(ref, client: client, cache: cache)
            }
            let reader = remote.skeleton
            report = Self.report(reader)
            report.path = ref.description
            report.manifestDigest = remote.manifestDigest
            report.signatures = SignatureReport.list(reader.signatures, rootDigest: reader.rootDigest, policy: policy)
        } else {
            let reader = try ImageReader(path: image, parents: try parents.open())
            report = Self.report(reader)
            report.signatures = SignatureReport.list(reader.signatures, rootDigest: reader.rootDigest, policy: policy)
        }
        if json.json {
            try printJSON(report)
        } else {
            print(Self.text(report), terminator: "")
        }
    }

    static func report(_ reader: ImageReader) -> InfoReport {
        let stored = reader.entries.reduce(UInt64(0)) { $0 + $1.storedSize }
        let payload = reader.entries.reduce(UInt64(0)) { $0 + ($1.storedSize > 0 ? UInt64($1.payloadLength) : 0) }
        let logical = reader.streams.reduce(UInt64(0)) { $0 + $1.logicalSize }
        return InfoReport(
            path: reader.path, formatVersion: reader.formatVersion, fileLength: reader.fileLength, chunkSize: reader.chunkSize, rootDigest: reader.rootDigest.description,
            metadata: reader.metadata, logicalBytes: logical, storedBytes: stored, payloadBytes: payload,
            overheadBytes: reader.fileLength - payload, ratio: compressionRatio(logical, reader.fileLength),
            chunks: ChunkCounts(reader.entries), streams: streamReports(streams: reader.streams, entries: reader.entries),
            parentDigest: reader.parentDigest?.description,
            parentChain: reader.parents.readers.isEmpty ? nil : reader.parents.readers.map { .init(path: $0.path, rootDigest: $0.rootDigest.description) })
    }

    /// The human report. Metadata strings come from the image: they are printed through
    /// `ImageMetadata.escapedForDisplay`, so control, bidirectional and zero-width characters show
    /// as `\u{XXXX}` instead of acting on the terminal (`--json` output is escaped by JSON itself).
    static func text(_ r: InfoReport) -> String {
        let m = r.metadata
        let shown = ImageMetadata.escapedForDisplay
        var rows: [[String]] = [["Image", r.path]]
        if let manifest = r.manifestDigest { rows.append(["Manifest", manifest]) }
        rows += [["Format", "version \(r.formatVersion)"], ["Name", shown(m.name)]]
        if let d = m.description { rows.append(["Description", shown(d)]) }
        rows.append(["OS", [m.os.family, m.os.distribution, m.os.version].compactMap { $0 }.map(shown).joined(separator: " ")])
        rows.append(["Machine", "\(m.architecture.rawValue), \(m.bootMode.rawValue), \(m.vcpuCount) vCPU, \(m.memoryMiB) MiB memory"])
        if let c = m.createdAt { rows.append(["Created", shown(c)]) }
        if let v = m.sourceInstanceID { rows.append(["Source", shown(v)]) }
        if let v = m.region { rows.append(["Region", shown(v)]) }
        if let v = m.ownerAccount { rows.append(["Owner", shown(v)]) }
        rows.append(["Visibility", m.visibility.rawValue + (m.sharedWith.isEmpty ? "" : " (with \(m.sharedWith.map(shown).joined(separator: ", ")))")])
        if !m.tags.isEmpty { rows.append(["Tags", m.tags.sorted { $0.key < $1.key }.map { "\(shown($0.key))=\(shown($0.value))" }.joined(separator: ", ")]) }
        rows.append(["Root digest", r.rootDigest])
        if let parent = r.parentDigest {
            rows.append(["Parent", parent + (r.parentChain == nil ? " (not supplied: --parent FILE)" : "")])
            for (depth, link) in (r.parentChain ?? []).enumerated() {
                rows.append([depth == 0 ? "Chain" : "", "\(depth + 1). \(link.path) \(link.rootDigest)"])
            }
        }
        if r.signatures.isEmpty {
            rows.append(["Signatures", "none"])
        } else {
            for (i, s) in r.signatures.enumerated() {
                rows.append([i == 0 ? "Signatures" : "", "key \(s.keyID)" + (s.status.map { " (\($0))" } ?? "")])
            }
        }
        rows.append(["File", "\(ByteCount.format(r.fileLength)) (\(r.fileLength) bytes), chunk size \(ByteCount.format(UInt64(r.chunkSize)))"])
        rows.append(["Logical", "\(ByteCount.format(r.logicalBytes)) (\(r.logicalBytes) bytes), ratio \(decimal(r.ratio)):1"])
        rows.append(["Stored", "\(ByteCount.format(r.storedBytes)) in chunks, \(ByteCount.format(r.overheadBytes)) overhead"])
        rows.append(["Chunks", "\(r.chunks.total): \(r.chunks.kindsText)"])
        rows.append(["Codecs", "data chunks: \(r.chunks.codecsText)"])
        var streamRows = [["#", "NAME", "KIND", "BLOCK", "LOGICAL", "STORED", "RATIO", "CHUNKS", "DATA", "FILL", "ZERO", "REF", "PARENT"]]
        for s in r.streams {
            streamRows.append([
                "\(s.index)", s.name, s.kind, "\(s.blockSize)", ByteCount.format(s.logicalSize), ByteCount.format(s.storedBytes),
                s.storedBytes == 0 ? "-" : decimal(s.ratio), "\(s.chunks.total)", "\(s.chunks.byKind["data"] ?? 0)",
                "\(s.chunks.byKind["fill"] ?? 0)", "\(s.chunks.byKind["zero"] ?? 0)", "\(s.chunks.byKind["reference"] ?? 0)",
                "\(s.chunks.byKind["parent"] ?? 0)",
            ])
        }
        return table(rows) + "\n\nStreams\n" + table(streamRows, rightAligned: [0, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]).split(separator: "\n").map { "  " + $0 }.joined(separator: "\n") + "\n"
    }
}
