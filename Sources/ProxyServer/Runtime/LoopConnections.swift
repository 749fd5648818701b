// The client and server connections living on one event loop, so the admin console can list them without a global lock.
import PoolCore
import SQLAnalysis
import SessionCore

/// Loop-confined: read and changed only on its own event loop (the admin console hops there to read it).
final class LoopConnections: @unchecked Sendable {
    var clients: [Int: ClientConnection] = [:]
    var servers: [Int: ServerConnection] = [:]
    /// By pool; kept after the pool's connections close, so totals never go backwards.
    var counters: [PoolKey: PoolCounters] = [:]
    /// Errors pgswift itself sent to clients (not PostgreSQL's), by database and SQLSTATE.
    var proxyErrors: [DatabaseCode: Int] = [:]
    /// Clients closed by one of the timeouts, by database and the timeout's setting name.
    var timeouts: [DatabaseCode: Int] = [:]
    /// Statement profiles by shape for read/write splitting: one cache per loop, so no lock on a hit.
    var profiles = StatementProfiles()
    /// Spare storage for clients' links: a link takes one and gives it back when it ends, so idle clients hold none.
    var linkShelf = LinkShelf()
    /// Set when the status port is on: the pools' counters then carry the latency histograms.
    let metrics: ProxyMetrics?
    /// This loop's share of the result cache's in-process tier.
    let cache: LoopCache

    /// Which loop this is (the index of its per-loop parts elsewhere, the cache's Redis tier).
    let index: Int

    init(index: Int = 0, metrics: ProxyMetrics?, cache: LoopCache) {
        self.index = index
        self.metrics = metrics
        self.cache = cache
    }

    func counters(for key: PoolKey) -> PoolCounters {
        if let c = counters[key] { return c }
        // The console's own pseudo-pool never reaches a server: no histograms for it.
        let c = PoolCounters(key: key, timers: key == AdminSession.poolKey ? nil : metrics?.timers(database: key.database))
        counters[key] = c
        return c
    }

    /// This loop's totals per database, with what live clients' statement rewriters counted so far.
    func totalsByDatabase() -> [String: StatsTotals] {
        var out: [String: StatsTotals] = [:]
        for (key, c) in counters { out[key.database] = (out[key.database] ?? StatsTotals()) + c.totals }
        for client in clients.values {
            guard let key = client.statsKey else { continue }
            out[key.database, default: StatsTotals()].clientParses += client.session.rewriter.clientParses
            out[key.database, default: StatsTotals()].serverParses += client.session.rewriter.serverParses
            out[key.database, default: StatsTotals()].binds += client.session.rewriter.binds
        }
        return out
    }
}

/// A database and a code (a SQLSTATE, or a timeout's name), as the error and timeout counts are kept.
struct DatabaseCode: Hashable, Sendable {
    var database: String
    var code: String
}
