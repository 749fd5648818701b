// The status routes through Hummingbird's test client, with readiness supplied by the test.
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import StatusHTTP
import Testing

@Suite struct StatusServerTests {
    func app(_ databases: [DatabaseReadiness]) -> some ApplicationProtocol {
        Application(router: StatusServer.router(sources: StatusSources(readiness: { databases })))
    }

    @Test func healthIsAlways200() async throws {
        try await app([]).test(.router) { client in
            try await client.execute(uri: "/health", method: .get) { r in
                #expect(r.status == .ok && String(buffer: r.body) == #"{"status":"ok"}"#)
                #expect(r.headers[.cacheControl] == "no-store")
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
}
