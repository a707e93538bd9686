extension OutputFile {
    /// Sets the permission bits of the file, whatever the umask: 0600 for a private key, or
    /// those of a file this one replaces. Called before writing, while the file has no name
    /// (O_TMPFILE) or only its hidden temporary one, so its content is never readable by others.
    package func setPermissions(_ mode: UInt32) throws(ImagePackError) {
        guard system_fchmod(descriptor, mode) == 0 else {
            let code = system_errno
            throw ImagePackError(.ioFailed, "cannot set the permissions of the new file to \(String(mode, radix: 8)): \(errnoText(code))", cause: Int(code), path: path)
        }
    }
}

extension OutputFile {
    /// A path that opens the file for reading while it is being written: its temporary name, or
    /// for an unnamed file its /proc/self/fd link. Lets a writer check what it wrote, exactly the
    /// bytes that ``commit(sync:)`` will publish.
    package var readablePath: String { temporaryPath ?? "/proc/self/fd/\(descriptor)" }
}
