// The console's reports drawn from deeper in the proxy: statements on servers, live objects, SLA and tuning.
import AdminConsole
import Config
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
    func nodes() async throws -> [AdminNode] { try await runtime.nodeRows() }
}
