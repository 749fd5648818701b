// A client's Terminate through the real handlers: between transactions no server is touched; in the middle of a
// transaction block its server is cancelled and closed, as ServerReturn decides for a busy server.
import NIOCore
import PGWire
import Testing
@testable import ProxyServer

@Suite("Terminate")
struct TerminateTests {
    @Test func terminateBetweenTransactionsClosesTheClientOnly() throws {
        let h = try ProxyHarness()
        defer { h.finish() }
        let (client, server) = try h.clientOnFirstServer()
        try client.send(Wire.bytes([FrontendMessage.query("SELECT 1")]))
        try server.send(Wire.bytes([BackendMessage.commandComplete(tag: "SELECT 1"), .readyForQuery(.idle)]))
        _ = server.received()
        _ = client.received()

        try client.send(Wire.bytes([FrontendMessage.terminate]))
        #expect(!client.isOpen)
        #expect(client.received().readableBytes == 0)
        // The server heard nothing and waits in the pool for the next client.
        #expect(server.received().readableBytes == 0 && server.isOpen)
        #expect(try h.counts.idle == 1 && h.counts.active == 0)
        #expect(h.log.cancels.isEmpty)
        #expect(h.registry.clients.isEmpty && h.registry.servers.count == 1 && h.runtime.clientCount == 0)
    }

    @Test func terminateInsideATransactionBlockCancelsAndClosesTheServer() throws {
        let h = try ProxyHarness()
        defer { h.finish() }
        let (client, server) = try h.clientOnFirstServer()
        try client.send(Wire.bytes([FrontendMessage.query("BEGIN")]))
        try server.send(Wire.bytes([BackendMessage.commandComplete(tag: "BEGIN"), .readyForQuery(.inTransaction)]))
        _ = server.received()
        _ = client.received()

        try client.send(Wire.bytes([FrontendMessage.terminate]))
        #expect(!client.isOpen)
        // The Terminate is the client's goodbye to pgswift, not to the server: nothing more reaches PostgreSQL on it.
        #expect(server.received().readableBytes == 0)
        // The session is mid-transaction: PostgreSQL gets a CancelRequest with the server's own key, and the
        // connection is closed rather than lent to anyone.
        let cancel = try #require(h.log.cancels.first)
        #expect(h.log.dials.last?.host == ProxyHarness.serverHost && h.log.dials.last?.port == ProxyHarness.serverPort)
        #expect(cancel.received() == Wire.bytes(StartupPacket.cancel(processID: 4242, secretKey: 77)))
        #expect(!server.isOpen)
        #expect(try h.counts.idle == 0 && h.counts.active == 0)
        #expect(h.registry.clients.isEmpty && h.registry.servers.isEmpty && h.runtime.clientCount == 0)
        #expect(h.runtime.budget.open(database: ProxyHarness.database) == 0)
    }
}
