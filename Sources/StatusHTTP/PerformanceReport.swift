// What GET /api/v1/performance/metrics reports: latency percentiles over the window, throughput, pool use, SLA.
import ResponseOptimizer

/// Query latency over the window for one database, or all of them.
public struct LatencySummary: Sendable, Equatable {
    public var queries: UInt64
    public var queriesPerSecond: Double
    public var p50Ms: Double
    public var p95Ms: Double
    public var p99Ms: Double

    public init(queries: UInt64, queriesPerSecond: Double, p50Ms: Double, p95Ms: Double, p99Ms: Double) {
        self.queries = queries
        self.queriesPerSecond = queriesPerSecond
        self.p50Ms = p50Ms
        self.p95Ms = p95Ms
        self.p99Ms = p99Ms
    }
}

/// One pool's servers against its size, and its waiting clients.
public struct PoolUsage: Sendable, Equatable {
    public var database: String
    public var user: String
    public var active: Int
    public var idle: Int
    public var waiting: Int
    public var size: Int

    public init(database: String, user: String, active: Int, idle: Int, waiting: Int, size: Int) {
        self.database = database
        self.user = user
        self.active = active
        self.idle = idle
        self.waiting = waiting
        self.size = size
    }

    /// Servers in use over the pool's size (0 when the size is unlimited).
    public var utilisation: Double { size > 0 ? Double(active) / Double(size) : 0 }
}

/// target_p50_ms / target_p95_ms / target_p99_ms (or TARGET_P50_MS ...).
public struct SLATargets: Sendable, Equatable {
    public var p50Ms: Double
    public var p95Ms: Double
    public var p99Ms: Double

    public init(p50Ms: Double = 100, p95Ms: Double = 300, p99Ms: Double = 500) {
        self.p50Ms = p50Ms
        self.p95Ms = p95Ms
        self.p99Ms = p99Ms
    }

    /// Which percentiles are within their targets; with no queries in the window, none is missed.
    public func compliance(_ s: LatencySummary) -> (p50: Bool, p95: Bool, p99: Bool) {
        guard s.queries > 0 else { return (true, true, true) }
        return (s.p50Ms <= p50Ms, s.p95Ms <= p95Ms, s.p99Ms <= p99Ms)
    }
}

public struct PerformanceReport: Sendable, Equatable {
    public var windowSeconds: Double
    public var overall: LatencySummary
    public var databases: [(name: String, latency: LatencySummary)]
    public var pools: [PoolUsage]
    public var targets: SLATargets

    public init(windowSeconds: Double, overall: LatencySummary, databases: [(name: String, latency: LatencySummary)], pools: [PoolUsage],
                targets: SLATargets) {
        self.windowSeconds = windowSeconds
        self.overall = overall
        self.databases = databases
        self.pools = pools
        self.targets = targets
    }

    public static func == (a: PerformanceReport, b: PerformanceReport) -> Bool {
        a.windowSeconds == b.windowSeconds && a.overall == b.overall && a.pools == b.pools && a.targets == b.targets
            && a.databases.count == b.databases.count && zip(a.databases, b.databases).allSatisfy { $0.name == $1.name && $0.latency == $1.latency }
    }

    /// The JSON body: milliseconds with three decimals, rates with two.
    /// Rounded to `places` decimals (2 or 3), without a trailing ".0".
    public static func decimal(_ v: Double, _ places: Int) -> String {
        guard v.isFinite else { return "0" }
        let scale = places == 3 ? 1000.0 : 100.0
        let r = (v * scale).rounded() / scale
        return r == r.rounded() && abs(r) < 1e15 ? String(Int(r)) : String(r)
    }

    public var json: String {
        let num = Self.decimal
        func latency(_ s: LatencySummary) -> String {
            let c = targets.compliance(s)
            return #"{"queries":\#(s.queries),"queries_per_second":\#(num(s.queriesPerSecond, 2)),"p50_ms":\#(num(s.p50Ms, 3)),"#
                + #""p95_ms":\#(num(s.p95Ms, 3)),"p99_ms":\#(num(s.p99Ms, 3)),"#
                + #""sla":{"p50":\#(c.p50),"p95":\#(c.p95),"p99":\#(c.p99),"compliant":\#(c.p50 && c.p95 && c.p99)}}"#
        }
        let dbs = databases.map { #"{"name":\#(JSONText.quote($0.name)),"latency":\#(latency($0.latency))}"# }.joined(separator: ",")
        let ps = pools.map {
            #"{"database":\#(JSONText.quote($0.database)),"user":\#(JSONText.quote($0.user)),"active":\#($0.active),"idle":\#($0.idle),"#
                + #""waiting":\#($0.waiting),"size":\#($0.size),"utilisation":\#(num($0.utilisation, 3))}"#
        }.joined(separator: ",")
        return #"{"window_seconds":\#(num(windowSeconds, 2)),"targets_ms":{"p50":\#(num(targets.p50Ms, 3)),"p95":\#(num(targets.p95Ms, 3)),"#
            + #""p99":\#(num(targets.p99Ms, 3))},"overall":\#(latency(overall)),"databases":[\#(dbs)],"pools":[\#(ps)]}"#
    }
}
