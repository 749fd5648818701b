// Moves a scrape's snapshot into the Prometheus registry: counters by what they grew, gauges set, vanished pools removed.
import AdminConsole
import PoolCore
import Prometheus

/// What the previous scrapes published, so counters advance by differences and stale series can be unregistered.
struct PublishedState: Sendable {
    private var totals: [String: StatsTotals] = [:]
    private var errors: [ErrorOrigin: Int] = [:]
    private var timeouts: [DatabaseCode: Int] = [:]
    private var gauges: [String: Gauge] = [:]
    /// The cache's counters as last published, by tier and name.
    var cacheCounts: [String: Int] = [:]

    /// PgBouncer's per-database counts (SHOW STATS) as Prometheus counters; the times are in the histograms' sums.
    private static let counters: [(name: String, field: any WritableKeyPath<StatsTotals, Int> & Sendable, help: String)] = [
        ("pgswift_queries_total", \.queries, "Queries answered by servers (one per ReadyForQuery), per database."),
        ("pgswift_transactions_total", \.xacts, "Transactions completed (back to idle), per database."),
        ("pgswift_server_assignments_total", \.serverAssignments, "Times a client was given a server connection, per database."),
        ("pgswift_received_bytes_total", \.received, "Bytes received from clients, per database."),
        ("pgswift_sent_bytes_total", \.sent, "Bytes sent to clients, per database."),
        ("pgswift_client_parses_total", \.clientParses, "Named Parse messages clients sent, per database."),
        ("pgswift_server_parses_total", \.serverParses, "Parse messages pgswift sent to servers for clients' prepared statements, per database."),
        ("pgswift_binds_total", \.binds, "Bind messages clients sent for prepared statements, per database."),
        ("pgswift_client_logins_total", \.clientLogins, "Client logins completed (SHOW STATS client_login_count; the console's under pgbouncer), per database."),
    ]

    mutating func publish(_ s: MetricsSnapshot, into registry: PrometheusCollectorRegistry) {
        for (db, t) in s.totals {
            let before = totals[db] ?? StatsTotals()
            var after = before
            for c in Self.counters {
                let counter = registry.makeCounter(descriptor: .named(c.name, c.help), labels: [("database", db)])
                let grew = t[keyPath: c.field] - before[keyPath: c.field]
                // An overlapping scrape that read older figures must not move anything back.
                if grew > 0 { counter.increment(by: Int64(grew)) }
                after[keyPath: c.field] = max(t[keyPath: c.field], before[keyPath: c.field])
            }
            totals[db] = after
        }
        for (key, n) in s.errors {
            let counter = registry.makeCounter(
                descriptor: .named("pgswift_errors_total", "ErrorResponses sent to clients, by database, SQLSTATE and origin (server: PostgreSQL's; pgswift: the proxy's own)."),
                labels: [("database", key.database), ("sqlstate", key.sqlState), ("origin", key.origin)])
            if n > errors[key, default: 0] { counter.increment(by: Int64(n - errors[key, default: 0])); errors[key] = n }
        }
        for (key, n) in s.timeouts {
            let counter = registry.makeCounter(
                descriptor: .named("pgswift_timeouts_total", "Clients closed or refused by a timeout, by database and the timeout setting that fired."),
                labels: [("database", key.database), ("timeout", key.code)])
            if n > timeouts[key, default: 0] { counter.increment(by: Int64(n - timeouts[key, default: 0])); timeouts[key] = n }
        }
        var seen: [String: Gauge] = [:]
        func gauge(_ name: String, _ labels: [(String, String)], _ help: String, _ value: Double) {
            let g = registry.makeGauge(descriptor: .named(name, help), labels: labels)
            g.set(to: value)
            seen[name + "\u{0}" + labels.map { $0.1 }.joined(separator: "\u{0}")] = g
        }
        gauge("pgswift_clients_connected", [], "Client connections open, logging in or logged in (max_client_conn counts these).", Double(s.clientsTotal))
        for p in s.pools {
            let labels = [("database", p.key.database), ("user", p.key.user)]
            for state in ConnectionState.clientStates {
                gauge("pgswift_pool_clients", labels + [("state", state.rawValue)], "Clients of a pool by state (SHOW POOLS cl_*).", Double(p.clients[state] ?? 0))
            }
            for state in ConnectionState.serverStates {
                gauge("pgswift_pool_servers", labels + [("state", state.rawValue)], "Server connections of a pool by state (SHOW POOLS sv_*; new is logging in).",
                      Double(p.servers[state] ?? 0))
            }
            gauge("pgswift_pool_size", labels, "The pool's size limit (default_pool_size or the database's pool_size).", Double(p.size))
            gauge("pgswift_pool_wait_queue_length", labels, "Clients queued for a server of this pool.", Double(p.waiting))
            gauge("pgswift_pool_max_wait_seconds", labels, "How long the oldest queued client of this pool has waited.", p.maxWaitSeconds)
        }
        for n in s.nodes {
            let labels = [("database", n.database), ("host", n.host), ("port", String(n.port))]
            for state in ["up", "down", "unchecked", "drained", "stale"] {
                gauge("pgswift_node_state", labels + [("state", state)], "Hosts of entries with several hosts by state (SHOW NODES state): 1 for the current one.",
                      n.state == state ? 1 : 0)
            }
            for role in ["primary", "replica", "unknown"] {
                gauge("pgswift_node_role", labels + [("role", role)], "What the host's last passing health check found it to be: 1 for the current role.",
                      n.role == role ? 1 : 0)
            }
            for circuit in ["closed", "open", "half-open"] {
                gauge("pgswift_node_circuit", labels + [("circuit", circuit)], "The host's circuit breaker (SHOW NODES circuit): 1 for the current state.",
                      n.circuit == circuit ? 1 : 0)
            }
            gauge("pgswift_node_servers", labels + [("state", "active")], "Server connections open on the host.", Double(n.activeServers))
            gauge("pgswift_node_servers", labels + [("state", "idle")], "Server connections open on the host.", Double(n.idleServers))
            gauge("pgswift_node_routed", labels, "Units of work read/write splitting sent to the host since start.", Double(n.routed))
            if let lag = n.lagBytes {
                gauge("pgswift_node_lag_bytes", labels, "How far a replica's replay is behind its entry's primary, as last checked.", Double(lag))
            }
            if let lag = n.lagMilliseconds {
                gauge("pgswift_node_lag_seconds", labels, "A replica's replay delay: 0 when it has replayed all it received.", Double(lag) / 1000)
            }
        }
        // A pool dropped by RELOAD stops being reported instead of freezing at its last value.
        publishCache(s.cache, into: registry, gauge: gauge)
        for (key, g) in gauges where seen[key] == nil { registry.unregisterGauge(g) }
        gauges = seen
    }
}
