import Dispatch
import Synchronization

/// A bounded, ordered parallel pipeline: jobs are prepared in order on the calling thread, run
/// on `lanes` worker threads as soon as they are prepared, and their results are consumed in job
/// order on the calling thread while the workers go on with later jobs.
///
/// Job `j` always uses `slots[j % slots.count]`, and at most `slots.count` jobs are in flight
/// (prepared but not yet consumed): that bounds memory, and a slow consumer holds the workers back
/// (backpressure) instead of letting results pile up. Because each job's inputs and the order of
/// consumption depend only on `j`, the bytes a consumer writes do not depend on the number of lanes.
///
/// Used by the writer, `verify`, `extract`, the streaming reader, the validator's data-area walk and
/// qcow2 export (`package`, so the targets split off this one keep using it).
package enum OrderedParallel {
    /// Slots (in-flight chunks) for `threads` workers: two each, so a worker can start its next
    /// chunk while the consumer writes the previous one; one thread runs serially and needs one.
    /// 4 per thread was tried on the shared 2-core VM without a measurable difference.
    package static func slotCount(threads: Int) -> Int {
        let t = max(1, threads)
        return t == 1 ? 1 : t * 2
    }

    /// Slots for `threads` workers when each slot holds `slotBytes` of buffers: as
    /// ``slotCount(threads:)``, but no more than `budget` bytes in all (at least one slot, so a
    /// chunk as large as the limits allow is still read, serially). The output never depends on it.
    package static func slotCount(threads: Int, slotBytes: Int, budget: Int) -> Int {
        let fit = max(1, budget / max(1, slotBytes))
        return min(slotCount(threads: threads), fit)
    }

    /// Runs jobs `0..<count`.
    /// - Parameters:
    ///   - slots: one slot per in-flight job; a slot belongs to one job at a time.
    ///   - lanes: worker threads; 1 or fewer runs everything on the calling thread.
    ///   - work: runs on a worker with the job's slot and index; reports failure in the slot.
    ///   - consume: runs on the calling thread in job order; throwing stops the pipeline.
    package static func run<Slot: AnyObject & Sendable>(
        count: Int, slots: [Slot], lanes: Int, cancellation: Cancellation?,
        work: @Sendable (Slot, Int) -> Void,
        consume: (Slot, Int) throws(ImagePackError) -> Void
    ) throws(ImagePackError) {
        guard count > 0 else { return }
        try run(
            slots: slots, lanes: min(lanes, count), cancellation: cancellation,
            produce: { _, j in j < count }, work: work, consume: consume)
    }

    /// Runs jobs until `produce` returns false.
    /// - Parameters:
    ///   - produce: runs on the calling thread in job order and fills the slot for job `j`
    ///     (reading a pipe, say); returns false when there are no more jobs. It is never called
    ///     again after returning false or throwing.
    package static func run<Slot: AnyObject & Sendable>(
        slots: [Slot], lanes: Int, cancellation: Cancellation?,
        produce: (Slot, Int) throws(ImagePackError) -> Bool,
        work: @Sendable (Slot, Int) -> Void,
        consume: (Slot, Int) throws(ImagePackError) -> Void
    ) throws(ImagePackError) {
        precondition(!slots.isEmpty)
        let depth = slots.count
        let workers = min(max(lanes, 0), depth)
        guard workers > 1 else {
            // One lane: no threads, no hand-over.
            var j = 0
            while true {
                try cancellation?.check()
                guard try produce(slots[j % depth], j) else { return }
                work(slots[j % depth], j)
                try consume(slots[j % depth], j)
                j += 1
            }
        }

        let shared = PipelineState(depth: depth)
        let outcome: Result<Void, ImagePackError> = withoutActuallyEscaping(work) { work in
            let loop: @Sendable () -> Void = {
                while true {
                    shared.jobs.wait()
                    if shared.stop.load(ordering: .acquiring) { return }
                    // Each token of `jobs` stands for exactly one prepared job, so `j` is valid.
                    let j = shared.next.wrappingAdd(1, ordering: .relaxed).oldValue
                    work(slots[j % depth], j)
                    shared.ready[j % depth].signal()
                }
            }
            var threads: [WorkerThread] = []
            for _ in 0..<workers {
                guard let thread = WorkerThread(loop) else { break }
                threads.append(thread)
            }
            defer {
                // Wake every worker, let any job in progress finish, and wait for all of them:
                // the slots and `work` must outlive the threads.
                shared.stop.store(true, ordering: .releasing)
                for _ in threads { shared.jobs.signal() }
                for thread in threads { thread.join() }
            }
            let serial = threads.isEmpty  // could not start any thread: do the work here
            var produced = 0
            var consumed = 0
            var exhausted = false
            do throws(ImagePackError) {
                while true {
                    // Fill every free slot, then take the oldest result.
                    while !exhausted, produced - consumed < depth {
                        try cancellation?.check()
                        if try produce(slots[produced % depth], produced) {
                            if serial { work(slots[produced % depth], produced) } else { shared.jobs.signal() }
                            produced += 1
                        } else {
                            exhausted = true
                        }
                    }
                    guard consumed < produced else { return .success(()) }
                    if !serial { shared.ready[consumed % depth].wait() }
                    try consume(slots[consumed % depth], consumed)
                    consumed += 1
                }
            } catch {
                return .failure(error)
            }
        }
        try outcome.get()
    }
}

/// What the calling thread and the workers of one pipeline run share.
private final class PipelineState: Sendable {
    /// One token per prepared job not yet taken by a worker.
    let jobs = DispatchSemaphore(value: 0)
    /// `ready[s]` is signalled when the job in slot `s` is done.
    let ready: [DispatchSemaphore]
    /// The next job a worker takes.
    let next = Atomic<Int>(0)
    /// Set when the run ends (normally or not): workers return instead of taking a job.
    let stop = Atomic<Bool>(false)

    init(depth: Int) { ready = (0..<depth).map { _ in DispatchSemaphore(value: 0) } }
}

/// A joinable POSIX thread running one closure.
private final class WorkerThread {
    private let thread: SystemThread

    /// Starts the thread; nil if the system refuses to create one.
    init?(_ run: @escaping @Sendable () -> Void) {
        guard let thread = system_pthread_create(run) else { return nil }
        self.thread = thread
    }

    func join() { system_pthread_join(thread) }
}
