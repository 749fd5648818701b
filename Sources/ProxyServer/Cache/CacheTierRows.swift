// The cache's tiers as rows: each loop's counts summed, look-up times merged (SHOW CACHE and /metrics read them).
import AdminConsole
import ResultCache

extension ProxyRuntime {
    /// One row per tier (SHOW CACHE, /metrics), summed over the loops: l1, then l2 (Redis) and l3 (Memcached) when set.
    func cacheTierRows() async throws -> [AdminCacheTier] {
        struct Part: Sendable {
            var rows: [AdminCacheTier]
            var rings: [LatencyRing]
        }
        let redis = remoteCache, memcached = memcachedCache
        let parts = try await gather { loop in
            let c = loop.cache
            var rows = [AdminCacheTier(tier: "l1", entries: c.store.count, bytes: c.store.bytes, maxBytes: c.store.capacity,
                                       hits: c.store.hits + c.followerHits, misses: c.store.misses - c.followerMisses,
                                       evictions: c.store.evictions, stored: c.stored, notKept: c.notKept)]
            var rings = [c.lookupNanos]
            if let t = redis?.tiers[loop.index] {
                rows.append(Self.remoteRow("l2", hits: t.hits, misses: t.misses, stored: t.stored, errors: t.errors, breaker: t.breaker))
                rings.append(t.lookupNanos)
            }
            if let t = memcached?.tiers[loop.index] {
                rows.append(Self.remoteRow("l3", hits: t.hits, misses: t.misses, stored: t.stored, errors: t.errors, breaker: t.breaker))
                rings.append(t.lookupNanos)
            }
            return [Part(rows: rows, rings: rings)]
        }.get()
        guard let first = parts.first else { return [] }
        var out: [AdminCacheTier] = []
        for i in first.rows.indices {
            var sum = AdminCacheTier(tier: first.rows[i].tier)
            var states: Set<String> = []
            for p in parts {
                let r = p.rows[i]
                sum.entries += r.entries
                sum.bytes += r.bytes
                sum.maxBytes += r.maxBytes
                sum.hits += r.hits
                sum.misses += r.misses
                sum.evictions += r.evictions
                sum.stored += r.stored
                sum.notKept += r.notKept
                sum.errors += r.errors
                states.insert(r.state)
            }
            sum.state = states.sorted().joined(separator: ", ")
            let ring = LatencyRing.merged(parts.map { $0.rings[i] })
            sum.p50Milliseconds = ring.percentile(0.5).map { Double($0) / 1e6 }
            sum.p99Milliseconds = ring.percentile(0.99).map { Double($0) / 1e6 }
            out.append(sum)
        }
        if let redis, redis.subscribed.load(ordering: .relaxed) == false { out[0].state = "off (Redis subscription down)" }
        return out
    }

    private static func remoteRow(_ tier: String, hits: Int, misses: Int, stored: Int, errors: Int, breaker: TierBreaker) -> AdminCacheTier {
        var row = AdminCacheTier(tier: tier, hits: hits, misses: misses, stored: stored)
        row.errors = errors
        row.state = switch breaker.state {
        case .closed: "on"
        case .open: "breaker open"
        case .halfOpen: "breaker half-open"
        }
        return row
    }
}
