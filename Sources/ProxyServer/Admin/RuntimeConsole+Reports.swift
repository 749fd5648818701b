// The console's reports drawn from deeper in the proxy: statements on servers, live objects, SLA and tuning.
import AdminConsole
import Config
import Routing
import StatusHTTP

extension RuntimeConsole {
    func preparedStatements() async throws -> [AdminPreparedStatement] {
        let catalog = runtime.statementCatalog
        return try await runtime.gather { loop in
            loop.servers.values.flatMap { s -> [AdminPreparedStatement] in
                guard let cache = s.statementsIfOwned else { return [] }
                return cache.statements.map {
                    AdminPreparedStatement(serverID: s.id, database: s.pool?.key.database ?? "", user: s.target.user, statementID: $0,
                                           name: cache.name(of: $0), query: catalog.text(of: $0))
                }
            }
        }.get()
    }

    func memory() async throws -> AdminMemory {
        struct Part: Sendable {
            var clients: AdminMemory.Kind
            var servers: AdminMemory.Kind
            var statements: Int
        }
        let parts = try await runtime.gather { loop in
            [Part(clients: .init(size: loop.clients.values.first.map(HeapSize.of) ?? 0, used: loop.clients.count),
                  servers: .init(size: loop.servers.values.first.map(HeapSize.of) ?? 0, used: loop.servers.count),
                  statements: loop.servers.values.reduce(0) { $0 + ($1.statementsIfOwned?.count ?? 0) })]
        }.get()
        // One object's size is the same on every loop, when any loop has one to measure.
        func merged(_ kinds: [AdminMemory.Kind]) -> AdminMemory.Kind {
            .init(size: kinds.map(\.size).max() ?? 0, used: kinds.reduce(0) { $0 + $1.used })
        }
        let pools = runtime.allPools
        return AdminMemory(pools: .init(size: pools.first.map(HeapSize.of) ?? 0, used: pools.count),
                           servers: merged(parts.map(\.servers)), clients: merged(parts.map(\.clients)),
                           preparedStatements: .init(size: 0, used: parts.reduce(0) { $0 + $1.statements }))
    }

    func sla() async -> AdminSLA {
        let report = await runtime.performance(targets: runtime.slaTargets)
        let d = PerformanceReport.decimal
        let targets = report.targets
        let rows = ([("*", report.overall)] + report.databases.map { ($0.name, $0.latency) }).map { name, s in
            let c = targets.compliance(s)
            return AdminSLA.Row(database: name, queries: Int(s.queries), queriesPerSecond: d(s.queriesPerSecond, 2),
                                p50Ms: d(s.p50Ms, 3), p95Ms: d(s.p95Ms, 3), p99Ms: d(s.p99Ms, 3),
                                missed: [("p50", c.p50), ("p95", c.p95), ("p99", c.p99)].filter { !$0.1 }.map(\.0))
        }
        return AdminSLA(windowSeconds: Int(report.windowSeconds), targets: .init(p50Ms: d(targets.p50Ms, 3), p95Ms: d(targets.p95Ms, 3), p99Ms: d(targets.p99Ms, 3)),
                        rows: rows)
    }

    func tuning() async -> [TuningRecommendation] {
        await runtime.tune(apply: false).recommendations
    }
}

extension RuntimeConsole {
    /// The hosts of entries with several hosts, with what the registry knows and each loop's servers on them.
    func nodes() async throws -> [AdminNode] {
        struct Count: Sendable {
            var address: ServerAddress
            var linked: Bool
        }
        let counts = try await runtime.gather { loop in loop.servers.values.map { Count(address: $0.address, linked: $0.isLinked) } }.get()
        let records = runtime.nodes.snapshot
        let config = runtime.config
        let now = runtime.now()
        var out: [AdminNode] = []
        for (name, entry) in config.databases.sorted(by: { $0.key < $1.key }) where name != "*" && entry.hosts.count > 1 {
            let addresses = entry.addresses(defaultHost: ProxyRuntime.serverHost(entry, config)).map { ServerAddress(host: $0.host, port: $0.port) }
            // Lag is measured against the entry's primary as its last check found it, if that check passed (an old
            // primary that stopped answering keeps its last observation, which must not serve).
            let primaryLSN = addresses.compactMap { a -> NodeObservation? in
                guard let r = records[a], r.lastError == nil, r.health.isUp, r.observation?.role == .primary else { return nil }
                return r.observation
            }.first?.lsn
            for address in addresses {
                let record = records[address]
                let observation = record?.observation
                let state = runtime.nodes.isDrained(database: name, address: address) ? "drained"
                    : record?.lastCheck == nil ? "unchecked" : (record?.health.isUp == false ? "down" : "up")
                var lagBytes: Int?
                var lagMs: Int?
                if let observation, observation.role == .replica {
                    if let primaryLSN { lagBytes = Int(clamping: NodeCheck.lagBytes(primary: primaryLSN, replica: observation.lsn)) }
                    lagMs = Int((observation.replayDelay * 1000).rounded())
                }
                out.append(AdminNode(
                    database: name, host: address.host, port: address.port, role: observation?.role.rawValue ?? "unknown", state: state,
                    circuit: record?.health.circuit(at: now).name ?? "closed", walPosition: observation.map { Self.lsnText($0.lsn) },
                    lagBytes: lagBytes, lagMilliseconds: lagMs,
                    activeServers: counts.filter { $0.address == address && $0.linked }.count,
                    idleServers: counts.filter { $0.address == address && !$0.linked }.count,
                    checkedSecondsAgo: record?.lastCheck.map { Int(now - $0) }, lastError: record?.lastError))
            }
        }
        return out
    }

    /// A WAL position as PostgreSQL writes it.
    static func lsnText(_ lsn: UInt64) -> String {
        String(lsn >> 32, radix: 16, uppercase: true) + "/" + String(lsn & 0xFFFF_FFFF, radix: 16, uppercase: true)
    }
}
