import ArgumentParser
import ImagePack

/// The parent images a delta is read with: files and directories, matched by root digest.
struct ParentOptions: ParsableArguments {
    @Option(name: .customLong("parent"), help: ArgumentHelp("A parent image of a delta (repeatable, any order: each is matched by root digest).", valueName: "file"), completion: .file())
    var files: [String] = []

    @Option(name: .customLong("parent-dir"), help: ArgumentHelp("A directory whose images may be parents (matched by root digest).", valueName: "dir"), completion: .directory)
    var directories: [String] = []

    /// The images opened, for ``ImageReader/init(path:limits:parents:)`` or ``ReadOptions/parents``.
    func open() throws -> [ImageReader] {
        try ImageReader.openParents(files: files, directories: directories)
    }
}

/// `pack` and `import`: write a delta on a parent image instead of a full image.
struct DeltaOptions: ParsableArguments {
    @Option(name: .customLong("parent"), help: ArgumentHelp("Write a delta on this image: a chunk it already holds at the same place costs a 84-byte record, a changed chunk is compressed against its own (the root digest stays that of a full image).", valueName: "file"), completion: .file())
    var parent: String?

    @Option(name: .customLong("parent-dir"), help: ArgumentHelp("A directory holding the parent's own parents, when the parent is itself a delta.", valueName: "dir"), completion: .directory)
    var directories: [String] = []
}
