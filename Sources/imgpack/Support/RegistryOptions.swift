import ArgumentParser
import Dispatch
import Foundation
import ImagePack
import ImagePackRegistry
import Synchronization

/// How a command reaches a registry: credentials, TLS, transfers (with the blob cache: ``RegistryOptions``).
struct RegistryConnectionOptions: ParsableArguments {
    @Option(help: ArgumentHelp("User name for the registry (the password comes from --password-stdin).", valueName: "name"))
    var username: String?

    @Flag(help: "Read the password (or token) from standard input; it is never printed.")
    var passwordStdin = false

    @Option(help: ArgumentHelp("Credentials file (docker/podman auth.json) instead of the usual places.", valueName: "file"), completion: .file())
    var authFile: String?

    @Option(help: ArgumentHelp("PEM file of CA certificates to trust besides the system's.", valueName: "file"), completion: .file())
    var caFile: String?

    @Flag(help: "Plain HTTP instead of HTTPS: only for a registry on this machine (127.0.0.0/8, ::1, localhost).")
    var insecure = false

    @Option(help: ArgumentHelp("Blob transfers in flight at once.", valueName: "n"))
    var jobs = 4

    func validate() throws {
        if passwordStdin && username == nil { throw ValidationError("--password-stdin goes with --username.") }
        if username != nil && !passwordStdin { throw ValidationError("--username needs --password-stdin (a password on the command line would show in the process list).") }
        guard (1...64).contains(jobs) else { throw ValidationError("--jobs must be 1-64.") }
    }

    /// A client for `registry`: credentials from the options, else from auth.json.
    func client(for registry: String, password: String?) throws(ImagePackError) -> RegistryClient {
        var credentials: RegistryCredentials?
        if let username, let password {
            credentials = RegistryCredentials(username: username, password: password)
        } else {
            credentials = try RegistryCredentials.fromAuthFiles(registry: registry, file: authFile)
        }
        var options = RegistryClientOptions(credentials: credentials, caFile: caFile, insecure: insecure, maxConcurrentTransfers: jobs)
        options.maxConcurrentTransfers = jobs
        return try RegistryClient(registry: registry, options: options)
    }

    /// The password from standard input (first line), read once.
    func readPassword() throws(ImagePackError) -> String? {
        guard passwordStdin else { return nil }
        guard let line = readLine(strippingNewline: true), !line.isEmpty else {
            throw ImagePackError(.invalidArgument, "--password-stdin: standard input held no password", field: "password")
        }
        return line
    }
}

/// How push, pull, copy-remote, ls-remote, cat-remote, info and serve reach a registry: the
/// connection, and the blob cache. The cache is `--blob-cache`, one spelling for every command,
/// because `serve --cache` is the memory for decoded chunks.
struct RegistryOptions: ParsableArguments {
    @OptionGroup var connection: RegistryConnectionOptions

    @Option(
        name: .customLong("blob-cache"),
        help: ArgumentHelp("Blob cache: configs, and pulls being assembled, which resume from here (default $IMGPACK_CACHE, $XDG_CACHE_HOME/imgpack or ~/.cache/imgpack).", valueName: "dir"),
        completion: .directory)
    var cache: String?

    var insecure: Bool { connection.insecure }
    var jobs: Int { connection.jobs }

    func client(for registry: String, password: String?) throws(ImagePackError) -> RegistryClient {
        try connection.client(for: registry, password: password)
    }

    func readPassword() throws(ImagePackError) -> String? { try connection.readPassword() }

    func blobCache() throws(ImagePackError) -> BlobCache {
        try BlobCache(directory: cache ?? BlobCache.defaultDirectory)
    }
}

/// Parses a registry reference for a command, as a usage error.
func registryReference(_ text: String) throws -> RegistryReference {
    do { return try RegistryReference.parse(text) } catch { throw ValidationError(error.message) }
}

/// Runs async registry work from a synchronous command, stopping it on Ctrl-C.
///
/// The commands are synchronous (ParsableCommand); the registry client is async. The work runs
/// as a task while this thread waits; a watcher cancels the task when the interrupt flag is set,
/// so transfers stop, partial downloads stay in the cache for the next run, and nothing is published.
/// `clients` are shut down when the work ends, whether it succeeded or not (each once).
func runRegistryWork<T: Sendable>(
    cancellation: Cancellation, closing clients: [RegistryClient], _ work: @escaping @Sendable () async throws(ImagePackError) -> T
) throws(ImagePackError) -> T {
    let result = Mutex<Result<T, ImagePackError>?>(nil)
    let done = DispatchSemaphore(value: 0)
    let task = Task {
        let outcome: Result<T, ImagePackError>
        do throws(ImagePackError) { outcome = .success(try await work()) } catch { outcome = .failure(error) }
        var closed = Set<ObjectIdentifier>()
        for client in clients where closed.insert(ObjectIdentifier(client)).inserted { await client.shutdown() }
        result.withLock { $0 = outcome }
        done.signal()
    }
    while done.wait(timeout: .now() + .milliseconds(100)) == .timedOut {
        if cancellation.isCancelled { task.cancel() }
    }
    let outcome = result.withLock { $0 }!
    if cancellation.isCancelled, case .failure = outcome {
        throw ImagePackError(.cancelled, "cancelled; nothing was left at the destination (partial downloads stay in the cache for the next run)")
    }
    return try outcome.get()
}

/// A progress bar fed from concurrent transfers.
func transferProgress(_ bar: ProgressBar) -> TransferProgress? {
    guard let handler = bar.handler else { return nil }
    return TransferProgress(handler: { done, total in handler(done, total) })
}
