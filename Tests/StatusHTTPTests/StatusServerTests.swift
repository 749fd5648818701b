// The status routes through Hummingbird's test client, with readiness supplied by the test.
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import StatusHTTP
import Testing

@Suite struct StatusServerTests {
    static let report = PerformanceReport(
        windowSeconds: 60,
        overall: LatencySummary(queries: 1200, queriesPerSecond: 20, p50Ms: 0.4, p95Ms: 2.5, p99Ms: 650),
        databases: [("app", LatencySummary(queries: 1200, queriesPerSecond: 20, p50Ms: 0.4, p95Ms: 2.5, p99Ms: 650)),
                    ("idle", LatencySummary(queries: 0, queriesPerSecond: 0, p50Ms: 0, p95Ms: 0, p99Ms: 0))],
        pools: [PoolUsage(database: "app", user: "u", active: 5, idle: 15, waiting: 2, size: 20)],
        targets: SLATargets())

    func app(_ databases: [DatabaseReadiness]) -> some ApplicationProtocol {
        Application(router: StatusServer.router(sources: StatusSources(readiness: { databases }, performance: { Self.report })))
    }

    @Test func healthIsAlways200() async throws {
        try await app([]).test(.router) { client in
            try await client.execute(uri: "/health", method: .get) { r in
                #expect(r.status == .ok && String(buffer: r.body) == #"{"status":"ok"}"#)
                #expect(r.headers[.cacheControl] == "no-store")
            }
        }
    }

    @Test func headAnswersLikeGetWithoutABody() async throws {
        let down = [DatabaseReadiness(name: "gone", endpoint: "127.0.0.1:1", reachable: false, detail: "refused")]
        try await app(down).test(.router) { client in
            try await client.execute(uri: "/health", method: .head) { r in
                #expect(r.status == .ok && r.body.readableBytes == 0)
                #expect(r.headers[.contentType] == "application/json; charset=utf-8")
            }
            try await client.execute(uri: "/ready", method: .head) { r in
                #expect(r.status == .serviceUnavailable && r.body.readableBytes == 0)
            }
            try await client.execute(uri: "/", method: .head) { r in
                #expect(r.status == .ok && r.body.readableBytes == 0 && r.headers[.contentType]?.hasPrefix("text/html") == true)
            }
        }
    }

    @Test func readyWhenEveryDatabaseIsReachable() async throws {
        let dbs = [DatabaseReadiness(name: "app", endpoint: "127.0.0.1:5432", reachable: true),
                   DatabaseReadiness(name: "reports", endpoint: "/run/pg/.s.PGSQL.5433", reachable: true)]
        try await app(dbs).test(.router) { client in
            try await client.execute(uri: "/ready", method: .get) { r in
                #expect(r.status == .ok)
                let text = String(buffer: r.body)
                #expect(text.hasPrefix(#"{"status":"ready","databases":[{"name":"app","endpoint":"127.0.0.1:5432","reachable":true}"#), "\(text)")
            }
        }
    }

    @Test func notReadyNamesTheDatabaseAndWhy() async throws {
        let dbs = [DatabaseReadiness(name: "app", endpoint: "127.0.0.1:5432", reachable: true),
                   DatabaseReadiness(name: "gone", endpoint: "127.0.0.1:1", reachable: false, detail: "connection refused \"x\"")]
        try await app(dbs).test(.router) { client in
            try await client.execute(uri: "/ready", method: .get) { r in
                #expect(r.status == .serviceUnavailable)
                let text = String(buffer: r.body)
                #expect(text.contains(#""reason":"database gone: primary 127.0.0.1:1 is not reachable (connection refused \"x\")""#), "\(text)")
                #expect(text.contains(#""reachable":false,"detail":"connection refused \"x\"""#))
            }
        }
        try await app([]).test(.router) { client in
            try await client.execute(uri: "/ready", method: .get) { r in #expect(r.status == .serviceUnavailable) }
        }
    }

    @Test func performanceReportsPercentilesAgainstTheTargets() async throws {
        try await app([]).test(.router) { client in
            try await client.execute(uri: "/api/v1/performance/metrics", method: .get) { r in
                #expect(r.status == .ok)
                let text = String(buffer: r.body)
                #expect(text.hasPrefix(#"{"window_seconds":60,"targets_ms":{"p50":100,"p95":300,"p99":500},"overall":{"queries":1200,"#), "\(text)")
                // p99 650 ms is over the 500 ms target; the others are within theirs.
                #expect(text.contains(#""p99_ms":650,"sla":{"p50":true,"p95":true,"p99":false,"compliant":false}"#), "\(text)")
                // No queries: nothing missed.
                #expect(text.contains(#"{"name":"idle","latency":{"queries":0,"queries_per_second":0,"p50_ms":0,"p95_ms":0,"p99_ms":0,"sla":{"p50":true,"p95":true,"p99":true,"compliant":true}}}"#))
                #expect(text.contains(#""pools":[{"database":"app","user":"u","active":5,"idle":15,"waiting":2,"size":20,"utilisation":0.25}]"#))
            }
        }
    }

    @Test func notReadyWhileDraining() async throws {
        let up = [DatabaseReadiness(name: "app", endpoint: "127.0.0.1:5432", reachable: true)]
        let sources = StatusSources(readiness: { up }, performance: { Self.report }, draining: { true })
        try await Application(router: StatusServer.router(sources: sources)).test(.router) { client in
            try await client.execute(uri: "/ready", method: .get) { r in
                #expect(r.status == .serviceUnavailable && String(buffer: r.body).contains("shutting down"))
            }
            try await client.execute(uri: "/health", method: .get) { r in #expect(r.status == .ok) }
        }
    }
}
