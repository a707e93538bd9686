extension ImageReader {
    /// Opens the images a delta may stand on, for ``ImageReader/init(path:limits:parents:)`` or
    /// ``ReadOptions/parents``: each file in `files`, and every ImagePack image in `directories`
    /// (files that do not start with the ImagePack magic are skipped; a damaged image is an error).
    /// Which of them a delta uses is decided by root digest alone (spec §9.3), so order and file
    /// names do not matter.
    public static func openParents(files: [String], directories: [String] = [], limits: ImageLimits = .init()) throws(ImagePackError) -> [ImageReader] {
        var pool: [ImageReader] = []
        for path in files { pool.append(try ImageReader(path: path, limits: limits)) }
        for directory in directories {
            guard let names = system_directoryEntries(directory) else {
                throw ImagePackError(.invalidArgument, "cannot list the parent directory", path: directory)
            }
            for name in names.sorted() {
                let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
                guard let status = system_stat(path), status.kind == .regular else { continue }
                do throws(ImagePackError) {
                    pool.append(try ImageReader(path: path, limits: limits))
                } catch {
                    if error.rule == .v1 || error.rule == .v40 { continue }  // not an ImagePack image
                    throw error
                }
            }
        }
        return pool
    }
}
