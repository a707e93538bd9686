import ImagePack

/// The format of a qcow2 overlay's backing file, written in the overlay's header (extension
/// 0xE2792ACA) so that qemu never has to guess it: probing a raw backing file is what qemu refuses
/// to do for safety.
public enum Qcow2BackingFormat: String, CaseIterable, Sendable, CustomStringConvertible {
    case qcow2
    case raw

    public var description: String { rawValue }
}

/// A qcow2 overlay on a backing file: the exported qcow2 holds only the clusters whose content
/// differs from `content`, the image whose disk the backing file holds (for a delta, its parent).
///
/// Clusters that are the same as the parent's are left unallocated, so qemu reads them through to
/// the backing file; clusters that are zero in the image but not in the parent are written as zero
/// clusters (qcow2 v3 L2 bit 0), since leaving them unallocated would show the parent's bytes.
public struct Qcow2Backing: Sendable {
    /// The backing file name written in the overlay's header, as given: qemu resolves a relative
    /// name against the overlay's directory, and so does the size check here.
    public var name: String
    /// The backing file's format; nil to detect it (qcow2 by its magic, otherwise raw).
    public var format: Qcow2BackingFormat?
    /// The image whose disk (the stream of the exported one's name) the backing file holds.
    public var content: ImageReader

    public init(name: String, format: Qcow2BackingFormat? = nil, content: ImageReader) {
        self.name = name
        self.format = format
        self.content = content
    }

    /// qemu's limit on a backing file name (`docs/interop/qcow2.txt`: "must not be longer than 1023 bytes").
    static let maxNameLength = 1023

    /// Header extension type of the backing file format name.
    static let formatExtension: UInt32 = 0xE279_2ACA

    /// The path the name designates, for a file written at `overlayPath`: a relative name is
    /// relative to the overlay's directory (qemu's rule), not to the current directory.
    static func resolve(_ name: String, overlayPath: String) -> String {
        guard !name.hasPrefix("/"), let slash = overlayPath.lastIndex(of: "/") else { return name }
        return String(overlayPath[...slash]) + name
    }

    /// Checks the backing file against the disk the overlay is for, and returns its format.
    ///
    /// - Throws: `.invalidArgument` naming the backing file when the name is empty or too long,
    ///   the file cannot be opened, its format is not the one given, or its disk size is not
    ///   `virtualSize` (an overlay on a backing file of another size reads another disk).
    func check(overlayPath: String, virtualSize: UInt64) throws(ImagePackError) -> Qcow2BackingFormat {
        guard !name.isEmpty, name.utf8.count <= Self.maxNameLength, !name.utf8.contains(0) else {
            throw ImagePackError(.invalidArgument, "a qcow2 backing file name must be 1 to \(Self.maxNameLength) bytes without NUL, got \(name.utf8.count)", field: "backingFile")
        }
        let path = Self.resolve(name, overlayPath: overlayPath)
        let file: ReadableFile
        do {
            file = try ReadableFile(path: path)
        } catch {
            throw ImagePackError(
                .invalidArgument,
                "cannot open the backing file \(path)\(path == name ? "" : " (\"\(name)\", relative to the overlay's directory as qemu reads it)"): \(error.message); export the parent first (imgpack export PARENT --format qcow2 -o \(name))",
                field: "backingFile", cause: error.cause, path: path)
        }
        guard file.isSeekable, let fileSize = file.size else {
            throw ImagePackError(.invalidArgument, "the backing file \(path) is not a regular file or block device", field: "backingFile", path: path)
        }
        let head = fileSize >= 32 ? try file.read(at: 0, count: 32) : []
        let isQcow2 = head.count == 32 && Array(head[0..<4]) == [0x51, 0x46, 0x49, 0xFB]
        let format = self.format ?? (isQcow2 ? .qcow2 : .raw)
        let size: UInt64
        switch format {
        case .raw:
            size = fileSize
        case .qcow2:
            guard isQcow2 else {
                throw ImagePackError(.invalidArgument, "the backing file \(path) is not a qcow2 file (no QFI\\xfb magic); give --backing-format raw if it is a raw disk", field: "backingFormat", path: path)
            }
            size = head[24..<32].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        }
        guard size == virtualSize else {
            throw ImagePackError(
                .invalidArgument,
                "the backing file \(path) holds a \(size)-byte \(format) disk, and the overlay's disk is \(virtualSize) bytes; the backing file must be the parent's disk, exported whole",
                field: "backingFile", path: path)
        }
        return format
    }
}
