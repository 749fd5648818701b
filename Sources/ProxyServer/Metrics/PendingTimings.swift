// Times measured on one event loop, handed to the shared Prometheus histograms in batches rather than one by one.

/// The histograms of a database are shared by every loop and locked per value. Each loop collects its times here and
/// records them a batch at a time, so the histogram's lock (and its cache line) changes hands once per batch; a scrape
/// asks every loop to flush first, so what /metrics shows is exact. Loop-confined, inside `PoolCounters`.
struct PendingTimings {
    static let batch = 64
    private var query: [Int64] = []
    private var transaction: [Int64] = []
    private var wait: [Int64] = []

    mutating func query(_ nanos: Int64, _ timers: DatabaseTimers) {
        query.append(nanos)
        if query.count >= Self.batch { flush(timers) }
    }

    mutating func transaction(_ nanos: Int64, _ timers: DatabaseTimers) {
        transaction.append(nanos)
        if transaction.count >= Self.batch { flush(timers) }
    }

    mutating func wait(_ nanos: Int64, _ timers: DatabaseTimers) {
        wait.append(nanos)
        if wait.count >= Self.batch { flush(timers) }
    }

    mutating func flush(_ timers: DatabaseTimers) {
        for n in query { timers.query.recordNanoseconds(n) }
        for n in transaction { timers.transaction.recordNanoseconds(n) }
        for n in wait { timers.wait.recordNanoseconds(n) }
        query.removeAll(keepingCapacity: true)
        transaction.removeAll(keepingCapacity: true)
        wait.removeAll(keepingCapacity: true)
    }
}
