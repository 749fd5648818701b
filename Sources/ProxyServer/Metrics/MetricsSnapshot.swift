// What one scrape of /metrics reads from the running proxy: every loop's counters and connections, and each pool's size.
import AdminConsole
import NIOCore
import PoolCore

/// Clients and servers of one pool by state, with its queue.
struct PoolGauges: Sendable {
    var key: PoolKey
    var clients: [ConnectionState: Int] = [:]
    var servers: [ConnectionState: Int] = [:]
    var size = 0
    var waiting = 0
    var maxWaitSeconds = 0.0
}

struct MetricsSnapshot: Sendable {
    var totals: [String: StatsTotals] = [:]
    /// By database, SQLSTATE and who raised it ("server" or "pgswift").
    var errors: [ErrorOrigin: Int] = [:]
    var timeouts: [DatabaseCode: Int] = [:]
    var pools: [PoolGauges] = []
    var clientsTotal = 0
    /// SHOW NODES' rows: hosts of the entries with several hosts.
    var nodes: [AdminNode] = []
    /// SHOW CACHE's rows, when the cache is on somewhere.
    var cache: [AdminCacheTier] = []
}

struct ErrorOrigin: Hashable, Sendable {
    var database: String
    var sqlState: String
    var origin: String
}

extension ProxyRuntime {
    /// Visits each loop (no lock on the data path) and merges what it finds.
    func metricsSnapshot() async -> MetricsSnapshot {
        struct LoopPart: Sendable {
            var totals: [String: StatsTotals]
            var errors: [ErrorOrigin: Int] = [:]
            var timeouts: [DatabaseCode: Int]
            var states: [PoolKey: PoolGauges] = [:]
            var clients = 0
        }
        let parts = (try? await gather { loop -> [LoopPart] in
            var part = LoopPart(totals: loop.totalsByDatabase(), timeouts: loop.timeouts)
            for (key, counters) in loop.counters {
                // In the same visit as the totals: histogram counts and query counters agree at every scrape.
                counters.flushTimings()
                for (code, n) in counters.errors { part.errors[ErrorOrigin(database: key.database, sqlState: code, origin: "server"), default: 0] += n }
            }
            for (key, n) in loop.proxyErrors { part.errors[ErrorOrigin(database: key.database, sqlState: key.code, origin: "pgswift"), default: 0] += n }
            for client in loop.clients.values {
                part.clients += 1
                let (state, pool, _) = client.poolState()
                guard let pool else { continue }
                part.states[pool, default: PoolGauges(key: pool)].clients[state, default: 0] += 1
            }
            for server in loop.servers.values {
                guard let pool = server.pool?.key else { continue }
                part.states[pool, default: PoolGauges(key: pool)].servers[server.shownState, default: 0] += 1
            }
            return [part]
        }.get()) ?? []
        var snapshot = MetricsSnapshot()
        var states: [PoolKey: PoolGauges] = [:]
        for part in parts {
            for (db, t) in part.totals { snapshot.totals[db] = (snapshot.totals[db] ?? StatsTotals()) + t }
            snapshot.errors.merge(part.errors, uniquingKeysWith: +)
            snapshot.timeouts.merge(part.timeouts, uniquingKeysWith: +)
            snapshot.clientsTotal += part.clients
            for (key, g) in part.states {
                var merged = states[key] ?? PoolGauges(key: key)
                merged.clients.merge(g.clients, uniquingKeysWith: +)
                merged.servers.merge(g.servers, uniquingKeysWith: +)
                states[key] = merged
            }
        }
        for pool in homePools {
            let c = pool.counts(now: now())
            var g = states[pool.key] ?? PoolGauges(key: pool.key)
            g.size = c.size
            g.waiting = c.waiting
            g.maxWaitSeconds = c.maxWait
            states[pool.key] = g
        }
        snapshot.pools = states.values.sorted { ($0.key.database, $0.key.user) < ($1.key.database, $1.key.user) }
        snapshot.nodes = (try? await nodeRows()) ?? []
        if connections(at: 0).cache.settings.anyOn { snapshot.cache = (try? await cacheTierRows()) ?? [] }
        return snapshot
    }
}
