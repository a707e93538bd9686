import Testing
@testable import ImagePack

@Suite("zstd payloads: exactly one conforming frame (spec §7.3, rule V27)")
struct ZstdFrameTests {
    static let content = InvalidSamples.logText(256 << 10, seed: 9)

    /// The rule and code decoding `payload` as a zstd chunk of `length` bytes fails with; nil if it decodes.
    static func failure(_ payload: [UInt8], length: Int = content.count) -> String? {
        var output = [UInt8](repeating: 0, count: length)
        do {
            try payload.withUnsafeBytes { p in
                try output.withUnsafeMutableBytes { o in try PayloadDecoder().decode(.zstd, p, into: o) }
            }
            return nil
        } catch let error as ImagePackError {
            return "\(error.rule ?? "-")/\(error.code)"
        } catch {
            return "\(error)"
        }
    }

    static func le32(_ v: Int) -> [UInt8] { withUnsafeBytes(of: UInt32(v).littleEndian, Array.init) }

    @Test("a payload from the writer's compressor is one frame with its content size and a window within 2^27")
    func writerFrame() throws {
        let frame = try InvalidSamples.compress(.zstd, Self.content)
        let parsed = try frame.withUnsafeBytes { p throws(ImagePackError) in try Zstd.checkFrame(p, logicalLength: Self.content.count) }
        #expect(parsed.contentSize == UInt64(Self.content.count))
        #expect(parsed.frameSize == frame.count)
        #expect(parsed.windowSize <= 1 << 27)
        #expect(Self.failure(frame) == nil)
    }

    @Test("trailing bytes, a second frame and skippable frames before or after are refused")
    func oneFrame() throws {
        let frame = try InvalidSamples.compress(.zstd, Self.content)
        let skippable: [UInt8] = [0x5F, 0x2A, 0x4D, 0x18] + Self.le32(2) + [1, 2]
        #expect(Self.failure(frame + (try InvalidSamples.compress(.zstd, []))) == "V27/decompressionFailed")
        #expect(Self.failure(skippable + frame) == "V27/decompressionFailed")
        #expect(Self.failure(frame + skippable) == "V27/decompressionFailed")
        #expect(Self.failure(frame + [0]) == "V27/decompressionFailed")
        #expect(Self.failure(Array(frame.dropLast())) == "V27/decompressionFailed")
    }

    @Test("legacy magics, unknown magics, the reserved descriptor bit and a dictionary are refused")
    func header() throws {
        let frame = try InvalidSamples.compress(.zstd, Self.content)
        for legacy: UInt8 in 0x22...0x27 {
            #expect(Self.failure([legacy, 0xB5, 0x2F, 0xFD] + frame[4...]) == "V27/decompressionFailed")
        }
        #expect(Self.failure([0x28, 0xB5, 0x2F]) == "V27/decompressionFailed")
        var reserved = frame
        reserved[4] |= 0x08
        #expect(Self.failure(reserved) == "V27/decompressionFailed")
        // Descriptor with a 1-byte dictionary ID (7) inserted after the window or content size fields.
        let header = try frame.withUnsafeBytes { p throws(ImagePackError) in try Zstd.checkFrame(p, logicalLength: Self.content.count) }.headerSize
        var dictionary = Array(frame[0..<header])
        dictionary[4] |= 0x01
        dictionary.insert(7, at: dictionary[4] & 0x20 != 0 ? 5 : 6)
        #expect(Self.failure(dictionary + frame[header...]) == "V27/decompressionFailed")
    }

    @Test("a window over 2^27 is refused, 2^27 itself is not; a declared content size must be the chunk's length")
    func window() throws {
        let frame = try InvalidSamples.compress(.zstd, Self.content)
        let header = try frame.withUnsafeBytes { p throws(ImagePackError) in try Zstd.checkFrame(p, logicalLength: Self.content.count) }.headerSize
        func withWindow(exponent: UInt8, mantissa: UInt8) -> [UInt8] {
            [0x28, 0xB5, 0x2F, 0xFD, 0x80, exponent << 3 | mantissa] + Self.le32(Self.content.count) + frame[header...]
        }
        #expect(Self.failure(withWindow(exponent: 17, mantissa: 0)) == nil)
        #expect(Self.failure(withWindow(exponent: 17, mantissa: 1)) == "V27/decompressionFailed")
        #expect(Self.failure(withWindow(exponent: 21, mantissa: 0)) == "V27/decompressionFailed")
        let lie = [0x28, 0xB5, 0x2F, 0xFD, 0xA0] + Self.le32(Self.content.count - 1) + frame[header...]
        #expect(Self.failure(lie) == "V27/chunkSizeMismatch")
    }

    @Test("a 200 KiB raw block (block maximum 128 KiB) is refused; blocks at the maximum decode")
    func blockMaximum() throws {
        let head: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD, 0xA0] + Self.le32(Self.content.count)
        let big = head + InvalidSamples.zstdBlockHeader(last: false, type: 0, size: 200 << 10) + Self.content[0..<(200 << 10)]
            + InvalidSamples.zstdBlockHeader(last: true, type: 0, size: 56 << 10) + Self.content[(200 << 10)...]
        #expect(Self.failure(big) == "V27/decompressionFailed")
        var rle = head
        for i in 0..<2 { rle += InvalidSamples.zstdBlockHeader(last: i == 1, type: 1, size: 128 << 10) + [0x41] }
        #expect(Self.failure(rle) == nil)
        let reservedType = head + InvalidSamples.zstdBlockHeader(last: true, type: 3, size: 4) + [0, 0, 0, 0]
        #expect(Self.failure(reservedType) == "V27/decompressionFailed")
    }

    @Test("every truncation, and every value of each frame header byte and the first block header, is decoded or refused with V27")
    func mutationSweep() throws {
        let content = InvalidSamples.logText(64 << 10, seed: 5)
        let frame = try InvalidSamples.compress(.zstd, content)
        let header = try frame.withUnsafeBytes { p throws(ImagePackError) in try Zstd.checkFrame(p, logicalLength: content.count) }.headerSize
        var outcomes: [String: Int] = [:]
        func decode(_ payload: [UInt8]) {
            let outcome = Self.failure(payload, length: content.count) ?? "accepted"
            #expect(outcome == "accepted" || outcome == "V27/decompressionFailed" || outcome == "V27/chunkSizeMismatch", "\(payload.prefix(16)): \(outcome)")
            outcomes[outcome, default: 0] += 1
        }
        for end in 0..<frame.count { decode(Array(frame[0..<end])) }
        for i in 0..<header + 3 {
            for value in 0...255 where value != frame[i] {
                var mutated = frame
                mutated[i] = UInt8(value)
                decode(mutated)
            }
        }
        #expect(outcomes["V27/decompressionFailed", default: 0] > 0 && outcomes["V27/chunkSizeMismatch", default: 0] > 0)
    }
}
