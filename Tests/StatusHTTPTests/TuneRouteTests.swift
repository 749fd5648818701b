// POST /api/v1/performance/tune: advice for anyone, applying it only with status_admin_token as a bearer token.
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOConcurrencyHelpers
import NIOCore
import Config
import StatusHTTP
import Testing

@Suite struct TuneRouteTests {
    static let advice = [TuningRecommendation(setting: "default_pool_size", current: "2", recommended: "4", reason: "queue", safe: true)]

    /// The app, and what `tune` was asked for (one entry per call: whether to apply).
    func app(token: String) -> (some ApplicationProtocol, NIOLockedValueBox<[Bool]>) {
        let calls = NIOLockedValueBox<[Bool]>([])
        let sources = StatusSources(
            readiness: { [] }, performance: { PerformanceReport(windowSeconds: 60, overall: LatencySummary(queries: 0, queriesPerSecond: 0, p50Ms: 0, p95Ms: 0, p99Ms: 0), databases: [], pools: [], targets: SLATargets()) },
            tune: { apply in
                calls.withLockedValue { $0.append(apply) }
                return TuningReport(recommendations: Self.advice, applied: apply ? [("default_pool_size", "4", nil)] : [])
            },
            adminToken: { token })
        return (Application(router: StatusServer.router(sources: sources)), calls)
    }

    static func bearer(_ t: String) -> HTTPFields { [.authorization: "Bearer \(t)"] }

    /// (token configured, query, Authorization header, status expected, apply passed to tune or nil when not called).
    static let table: [(String, String, String?, HTTPResponse.Status, Bool?)] = [
        ("", "", nil, .ok, false),
        ("s3cret", "", nil, .ok, false),
        ("", "?apply=true", "Bearer anything", .forbidden, nil),
        ("s3cret", "?apply=true", nil, .forbidden, nil),
        ("s3cret", "?apply=true", "Bearer s3cre", .forbidden, nil),
        ("s3cret", "?apply=true", "Bearer s3cret2", .forbidden, nil),
        ("s3cret", "?apply=true", "Basic s3cret", .forbidden, nil),
        ("s3cret", "?apply=true", "Bearer s3cret", .ok, true),
        ("s3cret", "?apply=true", "bearer s3cret", .ok, true),
        ("s3cret", "?apply=false", nil, .ok, false),
    ]

    @Test(arguments: table.indices) func tokenRules(_ i: Int) async throws {
        let (token, query, auth, status, applied) = Self.table[i]
        let (app, calls) = app(token: token)
        try await app.test(.router) { client in
            let headers: HTTPFields = auth.map { [.authorization: $0] } ?? [:]
            try await client.execute(uri: "/api/v1/performance/tune" + query, method: .post, headers: headers) { r in
                #expect(r.status == status, "row \(i)")
                let body = String(buffer: r.body)
                if status == .ok {
                    #expect(body.contains(#""recommendations":[{"setting":"default_pool_size","current":"2","recommended":"4""#), "\(body)")
                } else {
                    #expect(body.hasPrefix(#"{"error":"#), "\(body)")
                    #expect(!body.contains("s3cret"), "the refusal must not echo the token: \(body)")
                }
            }
        }
        #expect(calls.withLockedValue { $0 } == (applied.map { [$0] } ?? []), "row \(i)")
    }

    @Test func disabledTokenSaysSo() async throws {
        let (app, _) = app(token: "")
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/v1/performance/tune?apply=true", method: .post, headers: Self.bearer("x")) { r in
                #expect(String(buffer: r.body).contains("status_admin_token is not set"))
            }
        }
    }
}
