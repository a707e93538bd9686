/// The checks a destination passes before anything is written to it, shared by every writer of
/// several files (extract), so that all are refused up front rather than one after another
/// publishes.
extension OutputFile {
    /// Refuses `path` when something is there and `overwrite` is false, and always when it is a
    /// directory (a file cannot replace one).
    ///
    /// Uses lstat(2): a symbolic link counts as present even when it dangles (access(2) follows
    /// it and says "absent", and publishing then fails after other files appeared). With
    /// `overwrite`, a link is replaced by the file itself, never followed (rename(2) replaces the
    /// link).
    package static func checkDestination(_ path: String, overwrite: Bool) throws(ImagePackError) {
        guard let status = system_lstat(path) else { return }
        if status.kind == .directory {
            throw ImagePackError(.destinationExists, "\(path) is a directory; a file cannot replace it: remove it or choose another destination", path: path)
        }
        guard !overwrite else { return }
        let what = status.kind == .symbolicLink ? "exists (a symbolic link\(system_stat(path) == nil ? " that points nowhere" : ""))" : "exists"
        throw ImagePackError(.destinationExists, "\(path) \(what); choose another name or pass overwrite: true (imgpack: --force) to replace it", path: path)
    }
}
