// Transaction mode through the real handlers: a query relayed both ways, the server back in the pool at ReadyForQuery
// 'I', and the next client served by that same server without a new connection.
import NIOCore
import PGWire
import Testing
@testable import ProxyServer

@Suite("Transaction mode release")
struct TransactionReleaseTests {
    static let answer: [BackendMessage] = [Wire.columns("x"), Wire.row("1"), .commandComplete(tag: "SELECT 1"), .readyForQuery(.idle)]

    @Test func queryIsRelayedAndTheServerServesTheNextClient() throws {
        let h = try ProxyHarness()
        defer { h.finish() }
        let first = try h.connectClient()
        // Nothing is known of the servers yet: the welcome waits for the pool's first one.
        #expect(first.received().readableBytes == 0)
        #expect(h.log.servers.count == 1 && h.log.dials.first?.host == ProxyHarness.serverHost)
        let server = try #require(h.log.servers.first)
        try server.acceptLogin(pid: 4242, secret: 77)
        expectBytes(first.received(), try h.welcome(first))
        // The welcome's link carried nothing: the server is idle again at once.
        #expect(try h.counts.idle == 1 && h.counts.active == 0)

        try first.send(Wire.bytes([FrontendMessage.query("SELECT 1")]))
        expectBytes(server.received(), [FrontendMessage.query("SELECT 1")])
        #expect(try h.counts.active == 1 && h.counts.idle == 0)
        try server.send(Wire.bytes(Self.answer))
        expectBytes(first.received(), Self.answer)
        #expect(try h.counts.active == 0 && h.counts.idle == 1)

        // The pool now knows what its servers report: the second client is welcomed without one.
        let second = try h.connectClient()
        expectBytes(second.received(), try h.welcome(second))
        try second.send(Wire.bytes([FrontendMessage.query("SELECT 2")]))
        expectBytes(server.received(), [FrontendMessage.query("SELECT 2")])
        let answer2: [BackendMessage] = [Wire.columns("y"), Wire.row("2"), .commandComplete(tag: "SELECT 1"), .readyForQuery(.idle)]
        try server.send(Wire.bytes(answer2))
        expectBytes(second.received(), answer2)
        // The first client heard nothing of it, and no second server was opened.
        #expect(first.received().readableBytes == 0)
        #expect(h.log.servers.count == 1)
        #expect(try h.counts.idle == 1 && h.counts.active == 0 && h.counts.connecting == 0)
        #expect(h.registry.servers.count == 1 && h.registry.clients.count == 2)
        #expect(first.isOpen && second.isOpen && server.isOpen)
    }

    @Test func aTransactionBlockKeepsItsServerUntilReadyForQueryIdle() throws {
        let h = try ProxyHarness()
        defer { h.finish() }
        let (client, server) = try h.clientOnFirstServer()

        try client.send(Wire.bytes([FrontendMessage.query("BEGIN")]))
        try server.send(Wire.bytes([BackendMessage.commandComplete(tag: "BEGIN"), .readyForQuery(.inTransaction)]))
        expectBytes(client.received(), [BackendMessage.commandComplete(tag: "BEGIN"), .readyForQuery(.inTransaction)])
        #expect(try h.counts.active == 1)
        try client.send(Wire.bytes([FrontendMessage.query("COMMIT")]))
        expectBytes(server.received(), [FrontendMessage.query("BEGIN"), .query("COMMIT")])
        try server.send(Wire.bytes([BackendMessage.commandComplete(tag: "COMMIT"), .readyForQuery(.idle)]))
        expectBytes(client.received(), [BackendMessage.commandComplete(tag: "COMMIT"), .readyForQuery(.idle)])
        #expect(try h.counts.active == 0 && h.counts.idle == 1)
    }

    @Test func aClientBetweenTransactionsHoldsNoLinkStorageAndTheNextLinkReusesTheLoops() throws {
        let h = try ProxyHarness()
        defer { h.finish() }
        let (client, server) = try h.clientOnFirstServer()
        let handler = try h.handler(of: client)
        #expect(!handler.session.link.isAllocated)
        let shelved = h.registry.linkShelf.count

        try client.send(Wire.bytes([FrontendMessage.query("SELECT 1")]))
        expectBytes(server.received(), [FrontendMessage.query("SELECT 1")])
        #expect(handler.session.link.isAllocated)
        try server.send(Wire.bytes(Self.answer))
        expectBytes(client.received(), Self.answer)
        // Released: the storage is back on the loop's shelf, not with the idle client.
        #expect(!handler.session.link.isAllocated)
        #expect(h.registry.linkShelf.count == max(shelved, 1))

        // The next transaction takes it from there.
        try client.send(Wire.bytes([FrontendMessage.query("SELECT 2")]))
        #expect(handler.session.link.isAllocated && h.registry.linkShelf.count == max(shelved, 1) - 1)
        expectBytes(server.received(), [FrontendMessage.query("SELECT 2")])
    }
}
