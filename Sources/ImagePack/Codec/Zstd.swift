import CZstd

/// Thin, bounded wrappers over libzstd. Every output buffer has a fixed capacity, so a
/// decompression bomb fails with `dstSize_tooSmall` instead of allocating.
package enum Zstd {
    static func isError(_ code: Int) -> Bool { ZSTD_isError(code) != 0 }
    static func errorName(_ code: Int) -> String { String(cString: ZSTD_getErrorName(code)) }
    static func errorCode(_ code: Int) -> Int { Int(ZSTD_getErrorCode(code).rawValue) }

    /// Worst-case compressed size of `count` bytes.
    static func bound(_ count: Int) -> Int { ZSTD_compressBound(count) }

    /// A reusable compression context (one per worker thread).
    package final class Compressor: @unchecked Sendable {
        private let context: OpaquePointer
        let level: Int

        /// - Parameter inputSize: the largest input it will see. When the level's default window is
        ///   smaller, the window is widened to cover the whole input: a chunk is compressed alone, so
        ///   matches anywhere in it should be usable (spec R2; +0.4 % ratio at 4 MiB, level 3).
        package init(level: Int, inputSize: Int? = nil) throws(ImagePackError) {
            guard let context = ZSTD_createCCtx() else {
                throw ImagePackError(.compressionFailed, "zstd could not allocate a compression context")
            }
            self.context = context
            self.level = level
            ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, Int32(level))
            ZSTD_CCtx_setParameter(context, ZSTD_c_contentSizeFlag, 1)
            ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 0)
            if let inputSize, inputSize > 1 {
                // Levels 3 and up default to a window of at least 2 MiB; a window larger than the
                // input never helps, so setting it to cover the input only ever widens it.
                let needed = Int32(Int.bitWidth - (inputSize - 1).leadingZeroBitCount)
                if needed > 21 { ZSTD_CCtx_setParameter(context, ZSTD_c_windowLog, min(needed, Int32(maxWindowLog))) }
            }
        }
        deinit { ZSTD_freeCCtx(context) }

        /// Compresses `input` into `output`; returns the compressed size, or nil when it does not fit.
        package func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(ImagePackError) -> Int? {
            let result = ZSTD_compress2(context, output.baseAddress, output.count, input.baseAddress, input.count)
            if isError(result) {
                if ZSTD_getErrorCode(result) == ZSTD_error_dstSize_tooSmall { return nil }
                throw ImagePackError(.compressionFailed, "zstd compression failed: \(errorName(result))", cause: errorCode(result))
            }
            return result
        }
    }

    /// Compresses against a prefix (the `zstd-patch` codec, spec §7.3): the parent's chunk is
    /// referenced as raw content before the input, so unchanged runs become matches into it.
    package final class PatchCompressor: @unchecked Sendable {
        private let context: OpaquePointer

        /// - Parameter chunkSize: the largest chunk: the window covers prefix and input, both up to
        ///   that size (4 MiB chunks: windowLog 23), or matches at the start of the prefix are lost.
        package init(level: Int, chunkSize: Int) throws(ImagePackError) {
            guard let context = ZSTD_createCCtx() else {
                throw ImagePackError(.compressionFailed, "zstd could not allocate a compression context")
            }
            self.context = context
            ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, Int32(level))
            ZSTD_CCtx_setParameter(context, ZSTD_c_contentSizeFlag, 1)
            ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 0)
            let needed = Int32(Int.bitWidth - (2 * max(chunkSize, 2) - 1).leadingZeroBitCount)
            ZSTD_CCtx_setParameter(context, ZSTD_c_windowLog, min(max(needed, 10), Int32(maxWindowLog)))
        }
        deinit { ZSTD_freeCCtx(context) }

        /// Compresses `input` with `prefix` as raw-content history; nil when it does not fit `output`.
        package func compress(_ input: UnsafeRawBufferPointer, prefix: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(ImagePackError) -> Int? {
            let set = ZSTD_CCtx_refPrefix(context, prefix.baseAddress, prefix.count)
            if isError(set) {
                throw ImagePackError(.compressionFailed, "zstd could not take the parent chunk as prefix: \(errorName(set))", cause: errorCode(set))
            }
            let result = ZSTD_compress2(context, output.baseAddress, output.count, input.baseAddress, input.count)
            if isError(result) {
                ZSTD_CCtx_reset(context, ZSTD_reset_session_only)
                if ZSTD_getErrorCode(result) == ZSTD_error_dstSize_tooSmall { return nil }
                throw ImagePackError(.compressionFailed, "zstd-patch compression failed: \(errorName(result))", cause: errorCode(result))
            }
            return result
        }
    }

    /// A reusable decompression context (one per worker thread).
    package final class Decompressor: @unchecked Sendable {
        private let context: OpaquePointer

        package init() throws(ImagePackError) {
            guard let context = ZSTD_createDCtx() else {
                throw ImagePackError(.compressionFailed, "zstd could not allocate a decompression context")
            }
            self.context = context
            // Refuse frames that ask for a window larger than 128 MiB (spec §7.3). libzstd applies
            // this only when streaming (decompressPrefix); one-shot decoding of chunk payloads
            // relies on Zstd.checkFrame, which reads the window from the frame header first.
            ZSTD_DCtx_setParameter(context, ZSTD_d_windowLogMax, Int32(maxWindowLog))
        }
        deinit { ZSTD_freeDCtx(context) }

        /// Decompresses one whole payload into `output`; returns the number of bytes produced.
        /// Fails if the payload would produce more than `output.count` bytes.
        /// - Important: libzstd decodes every frame it finds and skips skippable ones; check a chunk
        ///   payload with ``Zstd/checkFrame(_:logicalLength:)`` first.
        func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(ImagePackError) -> Int {
            let result = ZSTD_decompressDCtx(context, output.baseAddress, output.count, input.baseAddress, input.count)
            if isError(result) {
                throw ImagePackError(.decompressionFailed, "zstd payload does not decode: \(errorName(result))", cause: errorCode(result))
            }
            return result
        }

        /// Decompresses one `zstd-patch` payload with `prefix` (the parent's chunk) as history.
        func decompress(_ input: UnsafeRawBufferPointer, prefix: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(ImagePackError) -> Int {
            let set = ZSTD_DCtx_refPrefix(context, prefix.baseAddress, prefix.count)
            if isError(set) {
                throw ImagePackError(.decompressionFailed, "zstd could not take the parent chunk as prefix: \(errorName(set))", cause: errorCode(set))
            }
            // The prefix is used once: by this frame (ZSTD_decompressDCtx honours it, then drops it).
            return try decompress(input, into: output)
        }

        /// Streams frames from `input` until `output` is full or the input ends; trailing input is ignored.
        /// Returns the bytes produced. Used for foreign formats (qcow2) that pad compressed clusters.
        package func decompressPrefix(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(ImagePackError) -> Int {
            ZSTD_DCtx_reset(context, ZSTD_reset_session_only)
            var inBuffer = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
            var outBuffer = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
            while outBuffer.pos < outBuffer.size && inBuffer.pos < inBuffer.size {
                let before = (inBuffer.pos, outBuffer.pos)
                let result = ZSTD_decompressStream(context, &outBuffer, &inBuffer)
                if isError(result) {
                    throw ImagePackError(.decompressionFailed, "zstd data does not decode: \(errorName(result))", cause: errorCode(result))
                }
                if result == 0 { break }  // frame complete
                if before == (inBuffer.pos, outBuffer.pos) { break }  // no progress: input exhausted mid-frame
            }
            return outBuffer.pos
        }
    }
}
