// The result cache in /metrics: per tier, counters of hits, misses, evictions, answers kept and errors; gauges of
// entries, bytes and look-up time percentiles.
import AdminConsole
import Prometheus

extension PublishedState {
    mutating func publishCache(_ rows: [AdminCacheTier], into registry: PrometheusCollectorRegistry,
                               gauge: (String, [(String, String)], String, Double) -> Void) {
        let counters: [(String, KeyPath<AdminCacheTier, Int>, String)] = [
            ("pgswift_cache_hits_total", \.hits, "Reads answered by the result cache, by tier (l1 in process, l2 Redis, l3 Memcached)."),
            ("pgswift_cache_misses_total", \.misses, "Look-ups that found nothing, by tier."),
            ("pgswift_cache_evictions_total", \.evictions, "Answers dropped to stay within the tier's memory budget."),
            ("pgswift_cache_stored_total", \.stored, "Answers kept in the tier."),
            ("pgswift_cache_errors_total", \.errors, "Operations of a remote tier that failed or timed out."),
        ]
        for row in rows {
            let labels = [("tier", row.tier)]
            for (name, field, help) in counters {
                let key = row.tier + "/" + name
                let n = row[keyPath: field]
                let before = cacheCounts[key, default: 0]
                let counter = registry.makeCounter(descriptor: .named(name, help), labels: labels)
                if n > before { counter.increment(by: Int64(n - before)) }
                cacheCounts[key] = max(n, before)
            }
            if row.tier == "l1" {
                gauge("pgswift_cache_entries", labels, "Answers the tier holds.", Double(row.entries))
                gauge("pgswift_cache_bytes", labels, "Memory the tier's answers, keys and bookkeeping take.", Double(row.bytes))
                gauge("pgswift_cache_max_bytes", labels, "The tier's memory budget (cache_l1_max_bytes).", Double(row.maxBytes))
            }
            for (q, v) in [("0.5", row.p50Milliseconds), ("0.99", row.p99Milliseconds)] {
                guard let v else { continue }
                gauge("pgswift_cache_lookup_seconds", labels + [("quantile", q)], "Look-up time of the tier over its last 1024 look-ups per loop.", v / 1000)
            }
            gauge("pgswift_cache_tier_up", labels, "1 while the tier is used, 0 while it is off or its breaker is open.", row.state == "on" ? 1 : 0)
        }
    }
}
