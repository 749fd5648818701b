// Traffic counters of one pool on one event loop: plain integers, because only that loop ever changes them.
import NIOCore
import PoolCore

/// Loop-confined, like `LoopConnections` that holds it. SHOW STATS sums every loop's counters for a database.
final class PoolCounters: @unchecked Sendable {
    /// The pool counted (its clients find their pool's key here rather than each keeping a copy).
    let key: PoolKey
    var totals = StatsTotals()
    /// Query times over the last minute, for the status port's percentiles.
    var latency = LatencyWindow()
    /// ErrorResponses PostgreSQL sent to this pool's clients, by SQLSTATE.
    var errors: [String: Int] = [:]
    /// The status port's histograms (nil when it is off), and this loop's times not yet recorded in them.
    let timers: DatabaseTimers?
    var pending = PendingTimings()

    init(key: PoolKey, timers: DatabaseTimers?) {
        self.key = key
        self.timers = timers
    }

    @inline(__always) func timeQuery(_ nanos: Int64) {
        if let timers { pending.query(nanos, timers) }
    }

    @inline(__always) func timeTransaction(_ nanos: Int64) {
        if let timers { pending.transaction(nanos, timers) }
    }

    @inline(__always) func timeWait(_ nanos: Int64) {
        if let timers { pending.wait(nanos, timers) }
    }

    /// Records what this loop has collected (before a scrape reads the histograms).
    func flushTimings() {
        if let timers { pending.flush(timers) }
    }
}
