// A linked server's connection ending under its client, through the real handlers: the client is told and closed,
// and nothing of either stays counted in the pool, the registries or the connection budget.
import NIOCore
import PGWire
import Testing
@testable import ProxyServer

@Suite("Server death")
struct ServerDeathTests {
    /// A client whose query the server is running.
    static func queryRunning() throws -> (ProxyHarness, client: Peer, server: Peer) {
        let h = try ProxyHarness()
        let (client, server) = try h.clientOnFirstServer()
        try client.send(Wire.bytes([FrontendMessage.query("SELECT pg_sleep(10)")]))
        _ = server.received()
        return (h, client, server)
    }

    static func expectNothingLeft(_ h: ProxyHarness, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let counts = try h.counts
        #expect(counts.active == 0 && counts.idle == 0 && counts.connecting == 0 && counts.waiting == 0, sourceLocation: sourceLocation)
        #expect(h.registry.clients.isEmpty && h.registry.servers.isEmpty, sourceLocation: sourceLocation)
        #expect(h.runtime.clientCount == 0 && h.runtime.budget.open(database: ProxyHarness.database) == 0, sourceLocation: sourceLocation)
        #expect(h.log.cancels.isEmpty, sourceLocation: sourceLocation)
    }

    @Test func serverClosingMidQueryGivesTheClientAFatalConnectionFailure() throws {
        let (h, client, server) = try Self.queryRunning()
        defer { h.finish() }
        server.vanish()
        expectBytes(client.received(), [Wire.error(SQLState.connectionFailure, "server closed the connection unexpectedly", severity: Severity.fatal)])
        #expect(!client.isOpen)
        try Self.expectNothingLeft(h)
        // pgswift's own error is counted for /metrics, as every error it sends is.
        #expect(h.registry.proxyErrors[DatabaseCode(database: ProxyHarness.database, code: SQLState.connectionFailure)] == 1)

        // The pool is not stuck on the dead server: the next client's query gets a fresh one.
        let next = try h.connectClient()
        expectBytes(next.received(), try h.welcome(next))
        try next.send(Wire.bytes([FrontendMessage.query("SELECT 1")]))
        #expect(h.log.servers.count == 2)
        let fresh = try #require(h.log.servers.last)
        try fresh.acceptLogin(pid: 4343, secret: 78)
        expectBytes(fresh.received(), [FrontendMessage.query("SELECT 1")])
        #expect(try h.counts.active == 1)
    }

    @Test func serverThatSaidFatalFirstIsReportedInItsOwnWordsOnly() throws {
        let (h, client, server) = try Self.queryRunning()
        defer { h.finish() }
        // pg_terminate_backend(): PostgreSQL says why, then closes.
        let terminated = Wire.error(SQLState.adminShutdown, "terminating connection due to administrator command", severity: Severity.fatal)
        try server.send(Wire.bytes([terminated]))
        server.vanish()
        expectBytes(client.received(), [terminated])
        #expect(!client.isOpen)
        try Self.expectNothingLeft(h)
        // PostgreSQL's error, not one of pgswift's.
        #expect(h.registry.proxyErrors.isEmpty)
    }
}
