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
