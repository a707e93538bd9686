import Foundation
@testable import ImagePack

/// An image taken apart into its records, to be changed on purpose and put back together with
/// the library's own encoders. Everything not changed stays consistent: record offsets, index,
/// digests, root and footer are recomputed on assembly, so a sample breaks exactly the rule it
/// is meant to break.
struct ImageModel {
    /// One record of the data area.
    struct Record {
        var header: ChunkHeader
        var payload: [UInt8]
        /// Whether the index lists it.
        var listed = true
        /// Applied to the record's bytes (prefix and payload) before the header CRC is recomputed.
        var patch: ((inout [UInt8]) -> Void)?
        /// Recompute the chunk header CRC after `patch` (false: leave it as encoded before the patch).
        var fixHeaderCRC = true
        /// Raw bytes written instead of a chunk record (an unknown record, garbage).
        var raw: [UInt8]?
        /// Applied to this record's index entry.
        var patchEntry: ((inout ChunkEntry) -> Void)?
        /// For a reference chunk: its target offset, given every record's file offset (known only
        /// on assembly); becomes the 8-byte payload, with its CRC.
        var target: (([Int]) -> UInt64)?
    }

    var header: FileHeader
    var patchHeader: ((inout [UInt8]) -> Void)?
    var fixHeaderCRC = true
    var metadataBody: [UInt8]
    var streamBody: [UInt8]
    var records: [Record]
    /// Index entries of zero chunks (no record).
    var zeroEntries: [ChunkEntry]
    /// Records written before META (to break the order) are not supported; this swaps META and STRM.
    var swapMetaAndStreams = false
    var patchMetaRecord: ((inout [UInt8]) -> Void)?
    var patchIndex: ((inout ImageIndex) -> Void)?
    var patchIndexBody: ((inout [UInt8]) -> Void)?
    var signatures: [UInt8] = []
    var patchFooter: ((inout FileFooter) -> Void)?
    /// Applied to the finished file.
    var patchFile: ((inout [UInt8]) -> Void)?

    /// Takes apart the image in `bytes`.
    init(bytes: [UInt8], path: String) throws {
        let reader = try ImageReader(path: path)
        header = try FileHeader.decode(Array(bytes[0..<64]))
        metadataBody = MetadataRecord.encodeBody(json: reader.metadataJSON, schemaVersion: 1)
        streamBody = StreamTable.encodeBody(reader.streams)
        records = []
        zeroEntries = []
        for e in reader.entries {
            if e.kind == .zero {
                zeroEntries.append(e)
                continue
            }
            let at = Int(e.recordOffset)
            let h = try ChunkHeader.decodePrefix(Array(bytes[at..<at + Layout.chunkPrefixSize]), at: e.recordOffset, limits: .init())
            records.append(Record(header: h, payload: Array(bytes[at + Layout.chunkPrefixSize..<at + Layout.chunkPrefixSize + Int(h.payloadLength)])))
        }
    }

    static func setCRC(_ bytes: inout [UInt8], over range: Range<Int>, at position: Int) {
        let crc = CRC32C.checksum(Array(bytes[range]))
        for k in 0..<4 { bytes[position + k] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(k))) }
    }

    /// A chunk record's payload CRC and header CRC, recomputed after changing its payload.
    static func chunk(_ header: ChunkHeader, payload: [UInt8]) -> Record {
        var h = header
        h.payloadLength = UInt32(payload.count)
        h.payloadCRC = CRC32C.checksum(payload)
        return Record(header: h, payload: payload)
    }

    func assemble() -> [UInt8] {
        var out = header.encode()
        patchHeader?(&out)
        if fixHeaderCRC { Self.setCRC(&out, over: 0..<60, at: 60) }
        var meta = encodeStructuralRecord(.metadata, body: metadataBody)
        patchMetaRecord?(&meta)
        let strm = encodeStructuralRecord(.streams, body: streamBody)
        out += swapMetaAndStreams ? strm + meta : meta + strm
        let dataStart = out.count
        var offsets: [Int] = []
        var next = dataStart
        for r in records {
            offsets.append(next)
            next += r.raw?.count ?? Layout.chunkPrefixSize + r.payload.count
        }
        var entries: [ChunkEntry] = []
        for var r in records {
            let at = out.count
            if let target = r.target {
                r.payload = withUnsafeBytes(of: target(offsets).littleEndian) { Array($0) }
                r.header.payloadCRC = CRC32C.checksum(r.payload)
            }
            if let raw = r.raw {
                out += raw
                continue
            }
            var bytes = r.header.encodePrefix() + r.payload
            if let patch = r.patch {
                patch(&bytes)
                if r.fixHeaderCRC { Self.setCRC(&bytes, over: 0..<Layout.chunkPrefixSize - 4, at: Layout.chunkPrefixSize - 4) }
            }
            out += bytes
            if r.listed {
                var entry = ChunkEntry(header: r.header, recordOffset: UInt64(at))
                r.patchEntry?(&entry)
                entries.append(entry)
            }
        }
        _ = dataStart
        entries += zeroEntries
        entries.sort { ($0.stream, $0.logicalOffset) < ($1.stream, $1.logicalOffset) }
        let json = Array(metadataBody.dropFirst(8))
        var index = ImageIndex(metadataDigest: Digest.sha256(json), streamTableDigest: Digest.sha256(streamBody), entries: entries)
        patchIndex?(&index)
        var indexBody = index.encodeBody()
        patchIndexBody?(&indexBody)
        let indexOffset = out.count
        out += encodeStructuralRecord(.index, body: indexBody)
        let signaturesOffset = out.count
        out += signatures
        var footer = FileFooter(
            indexOffset: UInt64(indexOffset), indexLength: UInt64(signaturesOffset - indexOffset),
            signaturesOffset: signatures.isEmpty ? 0 : UInt64(signaturesOffset), signaturesLength: UInt64(signatures.count),
            fileLength: UInt64(out.count + Layout.footerSize), rootDigest: index.rootDigest())
        patchFooter?(&footer)
        out += footer.encode()
        patchFile?(&out)
        return out
    }
}

extension [UInt8] {
    mutating func setLE<T: FixedWidthInteger>(_ value: T, at position: Int) {
        Swift.withUnsafeBytes(of: value.littleEndian) { raw in
            for (k, b) in raw.enumerated() { self[position + k] = b }
        }
    }
}
