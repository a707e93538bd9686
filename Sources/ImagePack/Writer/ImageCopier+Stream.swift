extension ImageCopier {
    /// Copies an image read front to back (a pipe, standard input, or a file read once) to `sink`
    /// verbatim, checking it as it passes: every byte read is handed on unchanged while a
    /// ``StreamingReader`` verifies the same bytes (every chunk's CRC, decode and content digest,
    /// the index, the root digest, the signatures' structure, and with `trust` that a trusted key
    /// signed it).
    ///
    /// A pipe cannot be taken back, so the last 96 bytes, the footer, are held back until the
    /// reader has finished without error, and written only then. On any error they are never
    /// written: what reached `sink` is an image without its footer, which every reader refuses
    /// (it is cut off, rule V40, or its last bytes are no footer, V42), so a consumer further
    /// down the pipe cannot take a damaged image for a whole one. The footer is the only part
    /// whose absence every reader notices before using anything, which is why it and not some
    /// other part is held.
    /// - Parameters:
    ///   - source: the image's path; "-" for standard input.
    ///   - trust: when given, the image must be signed by one of its keys; otherwise the footer is
    ///     withheld as for any other error (`.untrustedImage`).
    ///   - options: threads, cancellation, progress, and for a delta its parents (matched by root
    ///     digest; a delta without them is refused, V49, before its content is read).
    /// - Throws: the reader's ``ImagePackError`` (naming the first rule the image breaks),
    ///   `.signatureInvalid` (V48) or `.untrustedImage` from `trust`, the sink's `.ioFailed`,
    ///   `.cancelled`.
    @discardableResult
    public static func copy(streamFrom source: String, to sink: some ByteSink, trust: TrustPolicy? = nil, options: ReadOptions = .init()) throws(ImagePackError) -> CopySummary {
        try passThrough(try ReadableFile(path: source), to: sink, trust: trust, options: options)
    }

    /// ``copy(streamFrom:to:trust:options:)`` into the file `destination`, which appears only once
    /// the whole image, footer included, was read, checked and written (an `O_TMPFILE` file
    /// published by name at the end, as every other output is); on error nothing appears.
    /// - Parameter overwrite: replace an existing destination.
    @discardableResult
    public static func copy(streamFrom source: String, toFile destination: String, overwrite: Bool = false, trust: TrustPolicy? = nil, options: ReadOptions = .init()) throws(ImagePackError) -> CopySummary {
        let input = try ReadableFile(path: source)
        let output = try OutputFile(path: destination, overwrite: overwrite)
        do throws(ImagePackError) {
            let summary = try passThrough(input, to: output, trust: trust, options: options)
            try output.commit()
            return summary
        } catch {
            output.abandon()
            throw error
        }
    }

    static func passThrough(_ input: ReadableFile, to sink: some ByteSink, trust: TrustPolicy?, options: ReadOptions) throws(ImagePackError) -> CopySummary {
        let reader = StreamingReader(file: input, options: options)
        let held = FooterHoldback(sink)
        reader.input.tap = { (bytes) throws(ImagePackError) in try held.pass(bytes) }
        var checked: UInt64 = 0
        let summary: StreamingSummary
        do {
            // A reference's content was checked when its target was read (spec §7.2 (d)), and the
            // bytes are handed on as stored, so no window of the input is kept.
            summary = try reader.read(references: .notNeeded) { event in
                switch event {
                case .data(_, _, let bytes): checked += UInt64(bytes.count)
                case .reference(let content): checked += content.length
                case .begin, .zero: break
                }
            }
        } catch let error as ImagePackError {
            throw error
        } catch {
            throw ImagePackError(.ioFailed, "the streaming read failed: \(error)", path: input.path)
        }
        // The reader read its input to the end; what was passed on is exactly that input.
        guard held.total == summary.fileLength else {
            throw ImagePackError(.ioFailed, "read \(held.total) bytes but the image is \(summary.fileLength) bytes: the input changed while it was read", path: input.path)
        }
        try trust?.check(summary.signatures, rootDigest: summary.rootDigest, path: input.path)
        try held.release()
        return CopySummary(rootDigest: summary.rootDigest, fileLength: summary.fileLength, reencoded: false, signatureCount: summary.signatures.count, bytesChecked: checked)
    }
}

/// Hands bytes on to a sink, always keeping the last ``Layout/footerSize`` back until
/// ``release()``: the footer of an image passed through, written only once the image is known
/// good (see ``ImageCopier/copy(streamFrom:to:trust:options:)``).
final class FooterHoldback<Sink: ByteSink> {
    let sink: Sink
    /// The last bytes seen, at most a footer's worth, not yet written.
    private var held: [UInt8] = []
    /// Bytes seen so far (written and held).
    private(set) var total: UInt64 = 0

    init(_ sink: Sink) { self.sink = sink }

    func pass(_ bytes: UnsafeRawBufferPointer) throws(ImagePackError) {
        total += UInt64(bytes.count)
        let keep = Layout.footerSize
        if bytes.count >= keep {
            if !held.isEmpty { try sink.write(held) }
            try sink.write(UnsafeRawBufferPointer(rebasing: bytes[0..<bytes.count - keep]))
            held = Array(bytes[(bytes.count - keep)...])
        } else {
            held.append(contentsOf: bytes)
            if held.count > keep {
                try sink.write(Array(held[0..<held.count - keep]))
                held.removeFirst(held.count - keep)
            }
        }
    }

    /// Writes the held bytes: the image checked out.
    func release() throws(ImagePackError) {
        try sink.write(held)
        held = []
    }
}
