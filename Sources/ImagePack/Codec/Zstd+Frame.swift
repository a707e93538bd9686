import CZstd

/// The shape of a zstd chunk payload, read from its bytes before libzstd sees them (spec §7.3).
///
/// libzstd's one-shot decoder is more permissive than the format allows: it decodes several
/// concatenated frames, skips skippable frames (bytes hidden inside a payload that no reader
/// returns), decodes legacy v0.x frames when built with legacy support (Debian's is), ignores
/// `ZSTD_d_windowLogMax` (it applies only to streaming), and accepts a raw block longer than the
/// format's block maximum. Each of these lets two readers of one image disagree, so the frame
/// header and the block headers are checked here, field by field (RFC 8878 §3.1.1), and only a
/// payload that is exactly one conforming frame reaches libzstd.
extension Zstd {
    /// What a conforming frame declares.
    struct Frame: Equatable {
        /// Window_Size in bytes (for a single-segment frame, the content size).
        var windowSize: UInt64
        /// Frame_Content_Size, when the header carries it.
        var contentSize: UInt64?
        /// Frame header length: magic, descriptor, window descriptor, dictionary ID and content size fields.
        var headerSize: Int
        /// Length of the whole frame: header, blocks and the optional checksum.
        var frameSize: Int
    }

    /// Magic_Number of a zstd frame (RFC 8878 §3.1.1), as read little-endian.
    static let frameMagic: UInt32 = 0xFD2F_B528
    /// Magic numbers of the pre-1.0 frame formats v0.2 to v0.7, which libzstd may still decode.
    static let legacyMagics: ClosedRange<UInt32> = 0xFD2F_B522...0xFD2F_B527
    /// Magic numbers of skippable frames (RFC 8878 §3.1.2): content a decoder silently skips.
    static let skippableMagics: ClosedRange<UInt32> = 0x184D_2A50...0x184D_2A5F
    /// Largest window a payload may ask for (spec §7.3): 2^27 bytes, 128 MiB.
    static let maxWindowLog = 27
    /// Block_Maximum_Size is the smaller of the window and 128 KiB (RFC 8878 §3.1.1.2.4).
    static let maxBlockSize = 128 << 10

    /// Checks that `payload` is exactly one zstd frame of the RFC 8878 format with no dictionary,
    /// a window of at most 2^27 bytes, blocks within the block maximum, a content size (if it
    /// declares one) equal to `logicalLength`, and nothing after it (rule V27).
    /// - Throws: `.decompressionFailed`, or `.chunkSizeMismatch` for a declared content size that is
    ///   not the chunk's length; the message names the zstd field and where it is in the payload.
    static func checkFrame(_ payload: UnsafeRawBufferPointer, logicalLength: Int) throws(ImagePackError) -> Frame {
        func fail(_ message: String) -> ImagePackError {
            ImagePackError(.decompressionFailed, "zstd payload: " + message, rule: "V27", field: "payload")
        }
        func byte(_ i: Int) -> UInt64 { UInt64(payload[i]) }
        func little(_ at: Int, _ count: Int) -> UInt64 { (0..<count).reversed().reduce(0) { $0 << 8 | byte(at + $1) } }
        let count = payload.count
        guard count >= 4 else { throw fail("\(count) bytes, too short for a frame's magic number") }
        let magic = UInt32(little(0, 4))
        guard magic == frameMagic else {
            let hex = "0x" + String(magic, radix: 16, uppercase: true)
            if legacyMagics.contains(magic) {
                throw fail("a legacy v0.\(magic - 0xFD2F_B520) frame (magic \(hex)); only the RFC 8878 frame format is allowed (prefix_unknown)")
            }
            if skippableMagics.contains(magic) {
                throw fail("starts with a skippable frame (magic \(hex)), which would hide bytes in the payload; exactly one zstd frame is allowed (prefix_unknown)")
            }
            throw fail("magic number \(hex) is not a zstd frame's 0xFD2FB528 (prefix_unknown)")
        }
        guard count >= 5 else { throw fail("ends inside its frame header (srcSize_wrong)") }
        // Frame_Header_Descriptor: FCS flag (bits 7-6), Single_Segment (5), unused (4),
        // reserved (3, must be zero), Content_Checksum (2), Dictionary_ID flag (1-0).
        let descriptor = payload[4]
        let fcsFlag = Int(descriptor >> 6)
        let singleSegment = descriptor & 0x20 != 0
        let hasChecksum = descriptor & 0x04 != 0
        let dictionaryIDSize = descriptor & 0x03 == 3 ? 4 : Int(descriptor & 0x03)
        let contentSizeSize = fcsFlag == 0 ? (singleSegment ? 1 : 0) : 1 << fcsFlag
        guard descriptor & 0x08 == 0 else { throw fail("the reserved bit of the frame header descriptor is set (frameParameter_unsupported)") }
        let headerSize = 5 + (singleSegment ? 0 : 1) + dictionaryIDSize + contentSizeSize
        guard count >= headerSize else { throw fail("ends inside its \(headerSize)-byte frame header (srcSize_wrong)") }
        var at = 5
        var windowSize: UInt64 = 0
        if !singleSegment {
            // Window_Descriptor: Exponent (bits 7-3), Mantissa (2-0); windowLog = 10 + Exponent.
            let exponent = UInt64(payload[at] >> 3), mantissa = UInt64(payload[at] & 7)
            let base: UInt64 = 1 << (10 + exponent)
            windowSize = base + (base / 8) * mantissa
            at += 1
        }
        if dictionaryIDSize > 0 {
            let id = little(at, dictionaryIDSize)
            guard id == 0 else { throw fail("names dictionary \(id); ImagePack payloads use no dictionary (dictionary_wrong)") }
            at += dictionaryIDSize
        }
        var contentSize: UInt64?
        if contentSizeSize > 0 {
            // A 2-byte Frame_Content_Size is stored minus 256 (RFC 8878 §3.1.1.1.4).
            contentSize = little(at, contentSizeSize) + (contentSizeSize == 2 ? 256 : 0)
            at += contentSizeSize
        }
        if singleSegment { windowSize = contentSize! }
        guard windowSize <= 1 << maxWindowLog else {
            throw fail("its window is \(windowSize) bytes, over the 2^\(maxWindowLog) (128 MiB) that spec §7.3 allows (frameParameter_windowTooLarge)")
        }
        if let contentSize, contentSize != UInt64(logicalLength) {
            throw ImagePackError(
                .chunkSizeMismatch, "zstd payload: its frame header declares \(contentSize) bytes of content but the chunk is \(logicalLength)",
                rule: "V27", field: "payload")
        }
        // Blocks: a 3-byte little-endian header each: Last_Block (bit 0), Block_Type (2-1), Block_Size (23-3).
        let blockMaximum = Int(min(windowSize, UInt64(maxBlockSize)))
        var block = 0
        while true {
            guard at + 3 <= count else { throw fail("ends inside the header of block \(block) at payload byte \(at) (srcSize_wrong)") }
            let header = Int(little(at, 3))
            let last = header & 1 != 0, type = (header >> 1) & 3, size = header >> 3
            guard type != 3 else { throw fail("block \(block) at payload byte \(at) has the reserved block type 3 (corruption_detected)") }
            let kind = type == 0 ? "raw" : type == 1 ? "RLE" : "compressed"
            guard size <= blockMaximum else {
                throw fail("\(kind) block \(block) at payload byte \(at) is \(size) bytes, over the block maximum of \(blockMaximum) (corruption_detected)")
            }
            at += 3 + (type == 1 ? 1 : size)
            guard at <= count else { throw fail("ends inside \(kind) block \(block) (srcSize_wrong)") }
            block += 1
            if last { break }
        }
        if hasChecksum {
            guard at + 4 <= count else { throw fail("ends inside its content checksum (srcSize_wrong)") }
            at += 4
        }
        guard at == count else {
            var what = "\(count - at) bytes follow the frame"
            if count - at >= 4 {
                let next = UInt32(little(at, 4))
                if next == frameMagic { what += ": a second frame" }
                if skippableMagics.contains(next) { what += ": a skippable frame" }
            }
            throw fail("\(what) at payload byte \(at); exactly one frame is allowed")
        }
        // libzstd's own reading of the frame's extent must agree with the walk above; a
        // disagreement means one of the two misreads the frame, and then neither is trusted.
        let measured = ZSTD_findFrameCompressedSize(payload.baseAddress, count)
        guard !isError(measured), measured == at else {
            var e = fail(isError(measured) ? "libzstd cannot find the frame's end: \(errorName(measured))" : "libzstd finds the frame \(measured) bytes long, not \(at)")
            if isError(measured) { e.cause = errorCode(measured) }
            throw e
        }
        return Frame(windowSize: windowSize, contentSize: contentSize, headerSize: headerSize, frameSize: at)
    }
}
