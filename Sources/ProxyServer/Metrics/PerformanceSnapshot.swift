// The status port's performance report: every loop's latency windows merged per database, and each pool's use.
import Histogram
import NIOCore
import PoolCore
import StatusHTTP

extension ProxyRuntime {
    /// target_p50_ms and friends; TARGET_P50_MS ... in the environment win over the file (a container's usual way to set them).
    var slaTargets: SLATargets {
        let c = config
        func target(_ key: String) -> Double { environmentTarget(key) ?? Double(c.int(key)) }
        return SLATargets(p50Ms: target("target_p50_ms"), p95Ms: target("target_p95_ms"), p99Ms: target("target_p99_ms"))
    }

    static let targetKeys = ["target_p50_ms", "target_p95_ms", "target_p99_ms"]

    /// TARGET_P50_MS (for target_p50_ms) and friends, when set to a positive number of milliseconds up to an hour;
    /// anything else is ignored (and logged when the status port starts).
    func environmentTarget(_ key: String) -> Double? {
        guard let v = environment[key.uppercased()].flatMap(Double.init), v.isFinite, v > 0, v <= 3_600_000 else { return nil }
        return v
    }

    /// Visits each loop for its windows (no lock on the data path), merges them, and reads the pools' counts.
    func performance(targets: SLATargets) async -> PerformanceReport {
        let nowSeconds = Double(NIODeadline.now().uptimeNanoseconds) / 1e9
        let parts = (try? await gather { registry -> [(String, Histogram<UInt32>)] in
            registry.counters.map { key, counters in
                var h = LatencyWindow.emptyHistogram()
                counters.latency.merge(into: &h, now: nowSeconds)
                return (key.database, h)
            }
        }.get()) ?? []
        var byDatabase: [String: Histogram<UInt32>] = [:]
        var all = LatencyWindow.emptyHistogram()
        for (db, h) in parts where h.totalCount > 0 {
            byDatabase[db, default: LatencyWindow.emptyHistogram()].add(h)
            all.add(h)
        }
        // Early on the window is not full yet: rates are over the time the proxy has been up.
        let window = LatencyWindow().windowSeconds
        let span = min(window, max(nowSeconds - Double(startedAt.uptimeNanoseconds) / 1e9, 1))
        func summary(_ h: Histogram<UInt32>) -> LatencySummary {
            guard h.totalCount > 0 else { return LatencySummary(queries: 0, queriesPerSecond: 0, p50Ms: 0, p95Ms: 0, p99Ms: 0) }
            return LatencySummary(queries: h.totalCount, queriesPerSecond: Double(h.totalCount) / span,
                                  p50Ms: Double(h.valueAtPercentile(50)) / 1000, p95Ms: Double(h.valueAtPercentile(95)) / 1000,
                                  p99Ms: Double(h.valueAtPercentile(99)) / 1000)
        }
        let pools = homePools.map { pool -> PoolUsage in
            let c = pool.counts(now: now())
            return PoolUsage(database: pool.key.database, user: pool.key.user, active: c.active, idle: c.idle, waiting: c.waiting, size: c.size)
        }.sorted { ($0.database, $0.user) < ($1.database, $1.user) }
        return PerformanceReport(windowSeconds: window, overall: summary(all),
                                 databases: byDatabase.keys.sorted().map { ($0, summary(byDatabase[$0]!)) }, pools: pools, targets: targets)
    }
}
