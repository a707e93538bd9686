import ArgumentParser
import ImagePack

/// `imgpack diff`: which ranges of which streams differ between two images, from their indexes.
struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the ranges that differ between two images, by chunk digest.",
        discussion: """
            Compares the index of A with the index of B: a range is unchanged when both images \
            have a chunk at exactly that place with the same content digest. Nothing is \
            decompressed, and deltas need no parents (their indexes hold every chunk's digest). \
            Ranges are whole chunks, so a one-byte change shows as its chunk; images cut into \
            different chunk sizes differ everywhere their chunks do not line up.

            Exit status 0 whether or not the images differ.
            """)

    @Argument(help: ArgumentHelp("The first image.", valueName: "a"), completion: .file())
    var a: String

    @Argument(help: ArgumentHelp("The second image.", valueName: "b"), completion: .file())
    var b: String

    @OptionGroup var json: JSONOption

    func validate() throws {
        if a == "-" || b == "-" { throw ValidationError("diff needs two files: it reads their indexes at the end.") }
    }

    func run() throws {
        let report = Self.diff(try ImageReader(path: a), try ImageReader(path: b))
        if json.json {
            try printJSON(report)
        } else {
            print(Self.text(report), terminator: "")
        }
    }

    static func diff(_ ra: ImageReader, _ rb: ImageReader) -> DiffReport {
        var streams: [DiffReport.Stream] = []
        let names = ra.streams.map(\.name) + rb.streams.map(\.name).filter { n in !ra.streams.contains { $0.name == n } }
        for name in names {
            let ia = ra.streams.firstIndex { $0.name == name }
            let ib = rb.streams.firstIndex { $0.name == name }
            guard let ia, let ib else {
                let size = ia.map { ra.streams[$0].logicalSize } ?? rb.streams[ib!].logicalSize
                streams.append(.init(name: name, status: ia == nil ? "added" : "removed", sizeA: ia.map { ra.streams[$0].logicalSize }, sizeB: ib.map { rb.streams[$0].logicalSize }, changedBytes: size, ranges: [.init(offset: 0, length: size)]))
                continue
            }
            // The same (offset, length) with the same digest is unchanged; everything else is changed.
            var same: [UInt64: (UInt32, Digest)] = [:]
            for e in ra.chunks(ofStream: ia) { same[e.logicalOffset] = (e.logicalLength, e.contentDigest) }
            var ranges: [DiffReport.Range] = []
            for e in rb.chunks(ofStream: ib) {
                if let (length, digest) = same[e.logicalOffset], length == e.logicalLength, digest == e.contentDigest { continue }
                if let last = ranges.last, last.offset + last.length == e.logicalOffset {
                    ranges[ranges.count - 1].length += UInt64(e.logicalLength)
                } else {
                    ranges.append(.init(offset: e.logicalOffset, length: UInt64(e.logicalLength)))
                }
            }
            let sizeA = ra.streams[ia].logicalSize, sizeB = rb.streams[ib].logicalSize
            if sizeA > sizeB { ranges.append(.init(offset: sizeB, length: sizeA - sizeB)) }  // cut off in B
            let changed = ranges.reduce(UInt64(0)) { $0 + $1.length }
            streams.append(.init(name: name, status: changed == 0 && sizeA == sizeB ? "same" : "changed", sizeA: sizeA, sizeB: sizeB, changedBytes: changed, ranges: ranges))
        }
        return DiffReport(
            a: ra.path, b: rb.path, rootDigestA: ra.rootDigest.description, rootDigestB: rb.rootDigest.description,
            identical: ra.rootDigest == rb.rootDigest, streams: streams)
    }

    static func text(_ r: DiffReport) -> String {
        var out = r.identical ? "identical: root \(r.rootDigestA)\n" : ""
        for s in r.streams {
            out += "\(s.name): \(s.status)"
            if s.status != "same" { out += ", \(ByteCount.format(s.changedBytes)) in \(s.ranges.count) range\(s.ranges.count == 1 ? "" : "s")" }
            out += "\n"
            for range in s.ranges { out += "  \(range.offset)..<\(range.offset + range.length) (\(ByteCount.format(range.length)))\n" }
        }
        return out
    }
}

/// `diff --json`.
struct DiffReport: Encodable {
    var schema = 1
    var a: String
    var b: String
    var rootDigestA: String
    var rootDigestB: String
    var identical: Bool
    var streams: [Stream]

    struct Stream: Encodable {
        var name: String
        /// same, changed, added (only in B) or removed (only in A).
        var status: String
        var sizeA: UInt64?
        var sizeB: UInt64?
        var changedBytes: UInt64
        var ranges: [Range]
    }

    struct Range: Encodable {
        var offset: UInt64
        var length: UInt64
    }
}
