// Traffic counters of one pool on one event loop: plain integers, because only that loop ever changes them.
import NIOCore
import PoolCore

/// Loop-confined, like `LoopConnections` that holds it. SHOW STATS sums every loop's counters for a database.
final class PoolCounters: @unchecked Sendable {
    var totals = StatsTotals()
    /// Query times over the last minute, for the status port's percentiles.
    var latency = LatencyWindow()
    /// ErrorResponses PostgreSQL sent to this pool's clients, by SQLSTATE.
    var errors: [String: Int] = [:]
    /// The status port's histograms (nil when it is off), and this loop's times not yet recorded in them.
    let timers: DatabaseTimers?
    var pending = PendingTimings()

    init(timers: DatabaseTimers?) {
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

/// PgBouncer's eleven figures (times in microseconds), per pool on one loop, or summed per database.
struct StatsTotals: Sendable, Equatable {
    var serverAssignments = 0
    var xacts = 0
    var queries = 0
    var received = 0
    var sent = 0
    var xactTime = 0
    var queryTime = 0
    var waitTime = 0
    var clientParses = 0
    var serverParses = 0
    var binds = 0

    /// In PgBouncer 1.25's column order.
    static let fields: [any WritableKeyPath<StatsTotals, Int> & Sendable] = [
        \.serverAssignments, \.xacts, \.queries, \.received, \.sent, \.xactTime, \.queryTime, \.waitTime,
        \.clientParses, \.serverParses, \.binds,
    ]

    static func + (a: StatsTotals, b: StatsTotals) -> StatsTotals {
        var s = a
        for f in fields { s[keyPath: f] += b[keyPath: f] }
        return s
    }

    static func - (a: StatsTotals, b: StatsTotals) -> StatsTotals {
        var s = a
        for f in fields { s[keyPath: f] -= b[keyPath: f] }
        return s
    }
}

/// PgBouncer's averages over the last stats_period: rates per second, times per transaction or query.
struct StatsAverages: Sendable, Equatable {
    var serverAssignments = 0.0
    var xacts = 0.0
    var queries = 0.0
    var received = 0.0
    var sent = 0.0
    var xactTime = 0.0
    var queryTime = 0.0
    var waitTime = 0.0
    var clientParses = 0.0
    var serverParses = 0.0
    var binds = 0.0

    init() {}

    init(delta d: StatsTotals, seconds: Double) {
        guard seconds > 0 else { return }
        serverAssignments = Double(d.serverAssignments) / seconds
        xacts = Double(d.xacts) / seconds
        queries = Double(d.queries) / seconds
        received = Double(d.received) / seconds
        sent = Double(d.sent) / seconds
        xactTime = d.xacts > 0 ? Double(d.xactTime) / Double(d.xacts) : 0
        queryTime = d.queries > 0 ? Double(d.queryTime) / Double(d.queries) : 0
        waitTime = d.serverAssignments > 0 ? Double(d.waitTime) / Double(d.serverAssignments) : 0
        clientParses = Double(d.clientParses) / seconds
        serverParses = Double(d.serverParses) / seconds
        binds = Double(d.binds) / seconds
    }
}
