import CZlib

/// Thin, bounded wrappers over zlib. Output buffers have a fixed capacity; inflate stops there.
package enum Zlib {
    /// Which wrapper the deflate data carries.
    package enum Wrapping {
        /// RFC 1950 zlib stream (ImagePack chunks, VMDK grains).
        case zlib
        /// Raw RFC 1951 deflate with the given window bits (qcow2 uses 12).
        case raw(windowBits: Int32)

        var windowBits: Int32 {
            switch self {
            case .zlib: 15
            case .raw(let bits): -bits
            }
        }
    }

    static func bound(_ count: Int) -> Int { Int(compressBound(uLong(count))) + 64 }

    /// A reusable deflate state (one per worker thread).
    package final class Compressor: @unchecked Sendable {
        private var stream = z_stream()
        let level: Int

        /// - Parameter wrapping: `.zlib` for ImagePack chunks; `.raw(windowBits: 12)` for qcow2 clusters,
        ///   whose readers inflate with a 4 KiB window.
        package init(level: Int, wrapping: Wrapping = .zlib) throws(ImagePackError) {
            self.level = level
            let status = czlib_deflateInit2(&stream, Int32(level), wrapping.windowBits, 9)
            guard status == Z_OK else {
                throw ImagePackError(.compressionFailed, "zlib deflateInit2 failed", cause: Int(status))
            }
        }
        deinit { deflateEnd(&stream) }

        /// Compresses `input` as one stream (of the chosen wrapping) into `output`; nil when it does not fit.
        package func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(ImagePackError) -> Int? {
            deflateReset(&stream)
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
            stream.avail_in = uInt(input.count)
            stream.next_out = output.baseAddress?.assumingMemoryBound(to: Bytef.self)
            stream.avail_out = uInt(output.count)
            let status = deflate(&stream, Z_FINISH)
            switch status {
            case Z_STREAM_END: return output.count - Int(stream.avail_out)
            case Z_OK, Z_BUF_ERROR: return nil  // ran out of output space
            default: throw ImagePackError(.compressionFailed, "zlib deflate failed", cause: Int(status))
            }
        }
    }

    /// A reusable inflate state for one wrapping (one per worker thread).
    package final class Decompressor: @unchecked Sendable {
        private var stream = z_stream()
        let wrapping: Wrapping

        package init(wrapping: Wrapping = .zlib) throws(ImagePackError) {
            self.wrapping = wrapping
            let status = czlib_inflateInit2(&stream, wrapping.windowBits)
            guard status == Z_OK else {
                throw ImagePackError(.compressionFailed, "zlib inflateInit2 failed", cause: Int(status))
            }
        }
        deinit { inflateEnd(&stream) }

        /// Result of one inflate call.
        package struct Outcome {
            /// Bytes written to the output.
            package var produced: Int
            /// Bytes of input consumed.
            package var consumed: Int
            /// Whether the deflate stream ended (its final block and, for zlib, the checksum were seen).
            package var ended: Bool
        }

        /// Inflates from `input` into `output` until the stream ends, the output is full or the input runs out.
        package func inflate(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(ImagePackError) -> Outcome {
            inflateReset(&stream)
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
            stream.avail_in = uInt(input.count)
            stream.next_out = output.baseAddress?.assumingMemoryBound(to: Bytef.self)
            stream.avail_out = uInt(output.count)
            let status = CZlib.inflate(&stream, Z_FINISH)
            let outcome = Outcome(
                produced: output.count - Int(stream.avail_out), consumed: input.count - Int(stream.avail_in),
                ended: status == Z_STREAM_END)
            switch status {
            case Z_STREAM_END, Z_OK, Z_BUF_ERROR: return outcome
            default:
                let reason = stream.msg.map { String(cString: $0) } ?? "status \(status)"
                throw ImagePackError(.decompressionFailed, "deflate data does not decode: \(reason)", cause: Int(status))
            }
        }
    }
}
