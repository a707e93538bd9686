import Dispatch

/// Runs jobs `0..<count` in batches: each batch's jobs run in parallel on up to `lanes` threads
/// (one slot per job, so workers never share state), then their results are consumed in job
/// order on the calling thread. In-flight memory is bounded by the number of slots; output order,
/// and so the bytes written, does not depend on the number of lanes.
///
/// The writer, `verify` and `extract` all use it.
enum OrderedParallel {
    static func run<Slot: AnyObject & Sendable>(
        count: Int, slots: [Slot], lanes: Int, cancellation: Cancellation?,
        work: @Sendable (Slot, Int) -> Void,
        consume: (Slot, Int) throws(ImagePackError) -> Void
    ) throws(ImagePackError) {
        guard count > 0 else { return }
        precondition(!slots.isEmpty)
        var start = 0
        while start < count {
            try cancellation?.check()
            let batch = min(slots.count, count - start)
            let width = min(lanes, batch)
            let base = start
            if width <= 1 {
                for j in 0..<batch { work(slots[j], base + j) }
            } else {
                DispatchQueue.concurrentPerform(iterations: width) { lane in
                    var j = lane
                    while j < batch {
                        work(slots[j], base + j)
                        j += width
                    }
                }
            }
            for j in 0..<batch { try consume(slots[j], base + j) }
            start += batch
        }
    }
}
