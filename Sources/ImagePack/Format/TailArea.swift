/// The tail area of a format 1.2 image (spec §9.4): the bytes between the index and the footer,
/// holding the current catalogue and signatures as one run (CTLG, then SIGN records) and free
/// space for the next run.
///
/// The free space is what makes `share` and `sign` cost the same for any image size: a new run is
/// written where the footer does not point, made durable, and only then does one 96-byte write
/// of the footer switch to it. Nothing the old footer locates is overwritten before that switch,
/// so a crash leaves the old state or the new one. The reference writer sizes the area as two
/// slots, each the run plus ``headroom(start:)``, and pads it so that the file, and with it the
/// footer, ends on a ``alignment`` boundary: the footer then lies within one disk sector.
enum TailArea {
    /// The file length the writer rounds up to, so the footer never straddles a sector or a page.
    static let alignment: UInt64 = 4096
    /// Room in a slot beyond the run the image is written with, before an update needs a rewrite
    /// of the file: a thousandth of what precedes the tail area, from 1 KiB (8 signatures or
    /// about 50 accounts, for a test-sized image) to 64 KiB (about 500 signatures or 3,000
    /// accounts, reached at 64 MiB). The tail area so costs at most 0.2 % and 8 KiB of alignment,
    /// and the rare rewrite of a large image is amortized over many constant-time updates.
    static func headroom(start: UInt64) -> Int { Int(min(max(start / 1024, 1024), 64 << 10)) }

    /// Bytes for the tail area that starts at `start` (the end of the index) and first holds a run
    /// of `runLength` bytes: two slots and the padding that aligns the end of the file.
    static func length(start: UInt64, runLength: Int) -> UInt64 {
        let slot = roundUp(UInt64(runLength + headroom(start: start)), to: 512)
        let end = start + 2 * slot + UInt64(Layout.footerSize)
        return 2 * slot + (alignment - end % alignment) % alignment
    }

    /// Where a new run of `length` bytes goes in the tail area `start..<footerOffset` without
    /// touching the `live` run the current footer locates: the start of the half that does not
    /// hold the live run, or else the other half; nil when neither has room (the caller rewrites
    /// the file with a larger tail area).
    static func placement(forRun length: UInt64, start: UInt64, footerOffset: UInt64, live: Range<UInt64>) -> UInt64? {
        let middle = start + (footerOffset - start) / 2
        let candidates = live.lowerBound < middle ? [middle, start] : [start, middle]
        for at in candidates where at + length <= footerOffset && !(at..<at + length).overlaps(live) {
            return at
        }
        return nil
    }

    static func roundUp(_ value: UInt64, to unit: UInt64) -> UInt64 { (value + unit - 1) / unit * unit }
}
