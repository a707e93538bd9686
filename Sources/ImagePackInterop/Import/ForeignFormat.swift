import ImagePack

/// A disk image format that ImagePack can import.
///
/// The format of a file is always decided from its content (magic numbers and structure),
/// never from its name: a qcow2 file named `disk.vmdk` is qcow2.
public enum ForeignFormat: String, CaseIterable, Sendable, CustomStringConvertible {
    /// A plain disk: every byte of the file is a byte of the disk.
    case raw
    /// QEMU copy-on-write, versions 2 and 3.
    case qcow2
    /// VMware virtual disk: a hosted sparse extent (monolithicSparse or streamOptimized).
    case vmdk
    /// Microsoft Virtual Hard Disk (Virtual PC / Hyper-V), fixed or dynamic. Not VHDX.
    case vhd

    public var description: String { rawValue }

    var displayName: String {
        switch self {
        case .raw: "raw"
        case .qcow2: "qcow2"
        case .vmdk: "VMDK"
        case .vhd: "VHD"
        }
    }

    // Magic numbers (each spec's header or footer).
    static let qcow2Magic: [UInt8] = [0x51, 0x46, 0x49, 0xFB]  // "QFI\xfb", qcow2 spec, header byte 0
    static let vmdkSparseMagic: [UInt8] = Array("KDMV".utf8)  // hosted sparse extent header, byte 0
    static let vmdkCowdMagic: [UInt8] = Array("COWD".utf8)  // ESX vmfsSparse extent, byte 0
    static let vhdCookie: [UInt8] = Array("conectix".utf8)  // VHD footer, byte 0
    static let vhdxSignature: [UInt8] = Array("vhdxfile".utf8)  // VHDX file type identifier, byte 0

    /// Detects the format of the file at `path` from its content.
    public static func detect(path: String) throws(ImagePackError) -> ForeignFormat {
        let file = try ReadableFile(path: path)
        return try detect(file: file)
    }

    /// Detects the format from the first and last 512 bytes of `file`.
    ///
    /// Order: qcow2 magic, VMDK sparse magic (or a VMDK text descriptor, or a VMFS sparse
    /// extent), a VHD footer copy at offset 0 (dynamic/differencing), a VHD footer cookie in
    /// the last 512 bytes (fixed; validated when opened); anything else is raw. VHDX files and
    /// ImagePack images are refused, not read as raw.
    static func detect(file: ReadableFile) throws(ImagePackError) -> ForeignFormat {
        guard file.isSeekable, let size = file.size else {
            throw ImagePackError(.invalidArgument, "an imported disk must be a regular file or block device, not a pipe", path: file.path)
        }
        let headCount = Int(min(size, 512))
        let head = ForeignBytes(try file.read(at: 0, count: headCount))
        if head.matches(0, Layout.headerMagic) {
            // Read as raw, an image would be wrapped whole as a disk: the caller surely meant
            // one of the commands that read images.
            throw ImagePackError(
                .invalidArgument,
                "the file is already an ImagePack image, not a disk to import; extract its disks with `imgpack extract`, "
                    + "convert one with `imgpack export`, or copy the image with `imgpack copy`",
                offset: 0, field: "magic", path: file.path)
        }
        if head.matches(0, qcow2Magic) { return .qcow2 }
        if head.matches(0, vmdkSparseMagic) || head.matches(0, vmdkCowdMagic) { return .vmdk }
        if VmdkSource.looksLikeDescriptor(head.bytes) { return .vmdk }
        if head.matches(0, vhdCookie) { return .vhd }
        if head.matches(0, vhdxSignature) {
            throw ImagePackError(
                .unsupportedInput, "VHDX is not supported (only VHD); convert it with `qemu-img convert -O raw` or `-O qcow2` first",
                offset: 0, field: "file type identifier", path: file.path)
        }
        if size >= 1024 {
            let tail = try file.read(at: size - 512, count: 512)
            if VhdFooter.isPlausibleFixedFooter(tail) { return .vhd }
        }
        return .raw
    }

    /// Opens a foreign disk image for reading as a `StreamSource`.
    ///
    /// - Parameters:
    ///   - path: the image file. It is opened read-only; no other file is ever opened on its behalf
    ///     (a qcow2 backing file named inside it is reported, never followed).
    ///   - format: the expected format, or nil to detect it from the content. A format that
    ///     disagrees with the content is an `.invalidArgument` error naming both.
    ///   - limits: bounds on what the file may declare (sizes, tables, cache memory).
    ///   - backing: for a qcow2 image with a backing file, the parent disk, opened by the caller;
    ///     unallocated clusters read from it. Without it such an image is refused.
    /// - Throws: `.invalidInput` (corrupt or crafted file), `.unsupportedInput` (valid but not
    ///   supported: encryption, differencing, split extents...), `.truncated`, `.limitExceeded`,
    ///   `.invalidArgument`, `.ioFailed`.
    public static func open(
        path: String, format: ForeignFormat? = nil, limits: ImportLimits = .init(), backing: (any StreamSource)? = nil
    ) throws(ImagePackError) -> ImportedDisk {
        let file = try ReadableFile(path: path, watching: true)
        let detected = try detect(file: file)
        if let format, format != detected {
            throw ImagePackError(
                .invalidArgument,
                "the content of the file is \(detected.displayName) but the format \(format.displayName) was requested; "
                    + "drop the format option to use the detected one (formats are told by content, not by file name)",
                path: path)
        }
        if backing != nil && detected != .qcow2 {
            throw ImagePackError(.invalidArgument, "a backing disk was given but \(detected.displayName) images have none", path: path)
        }
        switch detected {
        case .raw:
            let source = try FileSource(path: path)
            guard source.logicalSize <= limits.maxVirtualSize else {
                throw ImportError.limit(.raw, "the disk is \(source.logicalSize) bytes, above the limit of \(limits.maxVirtualSize)", offset: 0, field: "file size", path: path)
            }
            let facts = ImportedDisk.Facts(variant: "raw", fileSize: source.logicalSize)
            return ImportedDisk(source: source, format: .raw, facts: facts)
        case .qcow2:
            let source = try Qcow2Source(file: file, limits: limits, backing: backing)
            return ImportedDisk(source: source, format: .qcow2, facts: source.facts)
        case .vmdk:
            let source = try VmdkSource(file: file, limits: limits)
            return ImportedDisk(source: source, format: .vmdk, facts: source.facts)
        case .vhd:
            let source = try VhdSource(file: file, limits: limits)
            return ImportedDisk(source: source, format: .vhd, facts: source.facts)
        }
    }
}
