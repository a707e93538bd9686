import Dispatch
import ImagePack

/// `Array.withUnsafeMutableBytes` for a body that throws ``ImagePackError``: the standard library's
/// version rethrows untyped, which typed-throws callers cannot pass on.
func withMutableBuffer<T>(_ array: inout [UInt8], _ body: (UnsafeMutableRawBufferPointer) throws(ImagePackError) -> T) throws(ImagePackError) -> T {
    var failure: ImagePackError?
    let result: T? = array.withUnsafeMutableBytes { raw in
        do throws(ImagePackError) { return try body(raw) } catch {
            failure = error
            return nil
        }
    }
    if let failure { throw failure }
    return result!
}

/// Runs CPU- or disk-bound work (hashing, decoding, copying) on a Dispatch thread instead of the
/// Swift concurrency pool, whose few threads (one per core) also drive the HTTP transfers: work
/// held there stalls every download and upload in flight (measured: a pull took 60 % longer).
func offPool<T: Sendable>(_ work: @escaping @Sendable () throws(ImagePackError) -> T) async throws(ImagePackError) -> T {
    let result: Result<T, ImagePackError> = await withCheckedContinuation { continuation in
        DispatchQueue.global().async {
            do throws(ImagePackError) { continuation.resume(returning: .success(try work())) } catch { continuation.resume(returning: .failure(error)) }
        }
    }
    return try result.get()
}
