// The cache's tiers as rows: each loop's counts summed, look-up times merged (SHOW CACHE and /metrics read them).
import AdminConsole
import ResultCache

extension ProxyRuntime {
    /// One row per tier (SHOW CACHE, /metrics), summed over the loops.
    func cacheTierRows() async throws -> [AdminCacheTier] {
        struct Part: Sendable {
            var row: AdminCacheTier
            var ring: LatencyRing
            var l2: AdminCacheTier?
            var l2Ring: LatencyRing?
        }
        let remote = remoteCache
        let parts = try await gather { loop in
            let c = loop.cache
            return [Part(row: AdminCacheTier(tier: "l1", entries: c.store.count, bytes: c.store.bytes, maxBytes: c.store.capacity,
                                             hits: c.store.hits + c.followerHits, misses: c.store.misses - c.followerMisses, evictions: c.store.evictions,
                                             stored: c.stored, notKept: c.notKept),
                         ring: c.lookupNanos,
                         l2: remote.map { r in
                             let t = r.tiers[loop.index]
                             var row = AdminCacheTier(tier: "l2", hits: t.hits, misses: t.misses, stored: t.stored)
                             row.errors = t.errors
                             row.state = switch t.breaker.state {
                             case .closed: "on"
                             case .open: "breaker open"
                             case .halfOpen: "breaker half-open"
                             }
                             return row
                         },
                         l2Ring: remote.map { $0.tiers[loop.index].lookupNanos })]
        }.get()
        var sum = AdminCacheTier(tier: "l1")
        for p in parts {
            sum.entries += p.row.entries
            sum.bytes += p.row.bytes
            sum.maxBytes += p.row.maxBytes
            sum.hits += p.row.hits
            sum.misses += p.row.misses
            sum.evictions += p.row.evictions
            sum.stored += p.row.stored
            sum.notKept += p.row.notKept
        }
        let ring = LatencyRing.merged(parts.map(\.ring))
        sum.p50Milliseconds = ring.percentile(0.5).map { Double($0) / 1e6 }
        sum.p99Milliseconds = ring.percentile(0.99).map { Double($0) / 1e6 }
        if let remote, remote.subscribed.load(ordering: .relaxed) == false { sum.state = "off (Redis subscription down)" }
        guard remote != nil else { return [sum] }
        var l2 = AdminCacheTier(tier: "l2")
        var states: Set<String> = []
        for p in parts {
            guard let r = p.l2 else { continue }
            l2.hits += r.hits
            l2.misses += r.misses
            l2.stored += r.stored
            l2.errors += r.errors
            states.insert(r.state)
        }
        l2.state = states.count == 1 ? states.first! : states.sorted().joined(separator: ", ")
        let l2Ring = LatencyRing.merged(parts.compactMap(\.l2Ring))
        l2.p50Milliseconds = l2Ring.percentile(0.5).map { Double($0) / 1e6 }
        l2.p99Milliseconds = l2Ring.percentile(0.99).map { Double($0) / 1e6 }
        return [sum, l2]
    }
}
