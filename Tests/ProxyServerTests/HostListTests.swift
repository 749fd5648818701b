// A database with several hosts through the real handlers: a host that refuses is skipped within the same connect,
// kept last while it is down, and a connect fails only when every host refused, naming them all.
import NIOCore
import PGWire
import Testing
@testable import ProxyServer

@Suite("Host lists")
struct HostListTests {
    static let answer: [BackendMessage] = [Wire.columns("x"), Wire.row("1"), .commandComplete(tag: "SELECT 1"), .readyForQuery(.idle)]

    @Test func aRefusingHostIsSkippedAndTheNextServesTheClient() throws {
        let h = try ProxyHarness(servers: "host=db1.test,db2.test port=5433,5434", refused: ["db1.test:5433"])
        defer { h.finish() }
        let client = try h.connectClient()
        #expect(h.log.dials.map { "\($0.host):\($0.port)" } == ["db1.test:5433", "db2.test:5434"])
        let server = try #require(h.log.servers.first)
        try server.acceptLogin(pid: 4242, secret: 77)
        expectBytes(client.received(), try h.welcome(client))
        try client.send(Wire.bytes([FrontendMessage.query("SELECT 1")]))
        expectBytes(server.received(), [FrontendMessage.query("SELECT 1")])
        try server.send(Wire.bytes(Self.answer))
        expectBytes(client.received(), Self.answer)
        let conn = try #require(h.registry.servers.values.first)
        #expect(conn.address == ServerAddress(host: "db2.test", port: 5434))
    }

    @Test func theDownHostIsTriedLastByTheNextConnect() throws {
        let h = try ProxyHarness(["default_pool_size": "3"], servers: "host=db1.test,db2.test port=5433", refused: ["db1.test:5433"])
        defer { h.finish() }
        let first = try h.connectClient()
        try #require(h.log.servers.first).acceptLogin(pid: 1, secret: 1)
        _ = first.received()
        // A second client in a transaction needs a second server: db2 first, as db1 refused a moment ago.
        try first.send(Wire.bytes([FrontendMessage.query("BEGIN")]))
        try h.log.servers[0].send(Wire.bytes([BackendMessage.commandComplete(tag: "BEGIN"), .readyForQuery(.inTransaction)]))
        _ = first.received()
        let second = try h.connectClient()
        try second.send(Wire.bytes([FrontendMessage.query("SELECT 1")]))
        #expect(h.log.dials.map(\.host) == ["db1.test", "db2.test", "db2.test"])
        try #require(h.log.servers.count == 2)
        try h.log.servers[1].acceptLogin(pid: 2, secret: 2)
        expectBytes(h.log.servers[1].received(), [FrontendMessage.query("SELECT 1")])
    }

    @Test func whenEveryHostRefusesTheClientHearsWhichAndWhy() throws {
        let h = try ProxyHarness(servers: "host=db1.test,db2.test port=5433", refused: ["db1.test:5433", "db2.test:5433"])
        defer { h.finish() }
        let client = try h.connectClient()
        let error = try #require(Wire.backend(client.received())?.first)
        guard case .errorResponse(let fields) = error else { Issue.record("expected an error, got \(error)"); return }
        #expect(fields["C"] == "08006")
        let message = fields["M"] ?? ""
        #expect(message.contains("db1.test:5433: connection refused") && message.contains("db2.test:5433: connection refused"), "\(message)")
        #expect(h.registry.servers.isEmpty)
    }

    @Test func aHostWhosePostgreSQLRefusesTheLoginAsStartingUpIsTriedLast() throws {
        let h = try ProxyHarness(servers: "host=db1.test,db2.test port=5433")
        defer { h.finish() }
        let first = try h.connectClient()
        let starting = try #require(h.log.servers.first)
        _ = starting.received()
        try starting.send(Wire.bytes([Wire.error("57P03", "the database system is starting up", severity: Severity.fatal)]))
        // The client hears PostgreSQL's refusal; the host is marked as one that refused.
        let error = try #require(Wire.backend(first.received())?.first)
        guard case .errorResponse(let fields) = error else { Issue.record("expected an error, got \(error)"); return }
        #expect(fields["C"] == "57P03")
        // Within server_login_retry every new connect tries db2 first, where round-robin would alternate.
        let pool = try #require(h.runtime.allPools.first)
        #expect(pool.hostOrder(for: pool.target) == [1, 0])
        #expect(pool.hostOrder(for: pool.target) == [1, 0])
    }
}
