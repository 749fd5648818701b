// A client served by a server on another event loop: every hand-over between the two goes through `execute`, and the
// query, the answer, the release and a server's death arrive as they do on one loop.
import NIOCore
import PGWire
import Testing
@testable import ProxyServer

@Suite("A client and its server on different loops")
struct CrossLoopTests {
    static let answer: [BackendMessage] = [Wire.columns("x"), Wire.row("1"), .commandComplete(tag: "SELECT 1"), .readyForQuery(.idle)]

    /// A server opened for a first client on loop 0, idle again; a second client logged in on loop 1, welcomed
    /// with what the pool knows.
    static func secondLoopClient() throws -> (ProxyHarness, client: Peer, server: Peer) {
        let h = try ProxyHarness(loops: 2)
        let (_, server) = try h.clientOnFirstServer()
        let client = try h.connectClient(onLoop: 1)
        expectBytes(client.received(), try h.welcome(client))
        return (h, client, server)
    }

    /// The same, inside a transaction BEGIN opened on the server of the other loop.
    static func secondLoopClientInTransaction() throws -> (ProxyHarness, client: Peer, server: Peer) {
        let (h, client, server) = try secondLoopClient()
        try client.send(Wire.bytes([FrontendMessage.query("BEGIN")]))
        expectBytes(server.received(), [FrontendMessage.query("BEGIN")])
        try server.send(Wire.bytes([BackendMessage.commandComplete(tag: "BEGIN"), .readyForQuery(.inTransaction)]))
        expectBytes(client.received(), [BackendMessage.commandComplete(tag: "BEGIN"), .readyForQuery(.inTransaction)])
        return (h, client, server)
    }

    @Test func aQueryCrossesToTheServersLoopAndItsAnswerComesBack() throws {
        let (h, client, server) = try Self.secondLoopClient()
        defer { h.finish() }
        let handler = try h.handler(of: client)
        #expect(handler.eventLoop === h.loops[1])

        try client.send(Wire.bytes([FrontendMessage.query("SELECT 1")]))
        // The only server is idle on loop 0: it is lent across, not a second one opened on loop 1.
        expectBytes(server.received(), [FrontendMessage.query("SELECT 1")])
        #expect(h.log.servers.count == 1)
        guard case .linked(let link) = handler.state else {
            Issue.record("the client is not linked")
            return
        }
        #expect(!link.sameLoop && link.server.eventLoop === h.loops[0])

        try server.send(Wire.bytes(Self.answer))
        expectBytes(client.received(), Self.answer)
        #expect(try h.counts.active == 0 && h.counts.idle == 1)
        #expect(h.registry(onLoop: 1).clients.count == 1 && h.registry(onLoop: 0).servers.count == 1)

        // And again, pipelined in one read: both go over, both answers come back, the server is released once.
        try client.send(Wire.bytes([FrontendMessage.query("SELECT 1"), .query("SELECT 1")]))
        expectBytes(server.received(), [FrontendMessage.query("SELECT 1"), .query("SELECT 1")])
        try server.send(Wire.bytes(Self.answer))
        #expect(try h.counts.active == 1)
        try server.send(Wire.bytes(Self.answer))
        expectBytes(client.received(), Self.answer + Self.answer)
        #expect(try h.counts.active == 0 && h.counts.idle == 1)
        #expect(client.isOpen && server.isOpen)
    }

    @Test func aTransactionKeepsTheServerAcrossLoopsUntilItEnds() throws {
        let (h, client, server) = try Self.secondLoopClientInTransaction()
        defer { h.finish() }
        #expect(try h.counts.active == 1)

        // A client on the server's own loop now waits: the pool of 2 opens a second server for it there.
        let local = try h.connectClient(onLoop: 0)
        expectBytes(local.received(), try h.welcome(local))
        try local.send(Wire.bytes([FrontendMessage.query("SELECT 2")]))
        let second = try #require(h.log.servers.last)
        #expect(h.log.servers.count == 2)
        try second.acceptLogin(pid: 4343, secret: 88)
        expectBytes(second.received(), [FrontendMessage.query("SELECT 2")])

        try client.send(Wire.bytes([FrontendMessage.query("COMMIT")]))
        expectBytes(server.received(), [FrontendMessage.query("COMMIT")])
        try server.send(Wire.bytes([BackendMessage.commandComplete(tag: "COMMIT"), .readyForQuery(.idle)]))
        expectBytes(client.received(), [BackendMessage.commandComplete(tag: "COMMIT"), .readyForQuery(.idle)])
        try second.send(Wire.bytes(Self.answer))
        expectBytes(local.received(), Self.answer)
        #expect(try h.counts.active == 0 && h.counts.idle == 2)
    }

    @Test func theServerDyingOnItsLoopClosesTheClientOnTheOther() throws {
        let (h, client, server) = try Self.secondLoopClient()
        defer { h.finish() }
        try client.send(Wire.bytes([FrontendMessage.query("SELECT pg_sleep(10)")]))
        _ = server.received()
        server.vanish()
        expectBytes(client.received(), [Wire.error(SQLState.connectionFailure, "server closed the connection unexpectedly", severity: Severity.fatal)])
        #expect(!client.isOpen)
        let counts = try h.counts
        #expect(counts.active == 0 && counts.idle == 0 && counts.connecting == 0)
        #expect(h.registry(onLoop: 1).clients.isEmpty && h.registry(onLoop: 0).servers.isEmpty)
    }

    @Test func aClientLeavingMidTransactionOnItsLoopGetsTheServerClosedOnTheOther() throws {
        let (h, client, server) = try Self.secondLoopClientInTransaction()
        defer { h.finish() }
        client.vanish()
        // Inside a transaction: the server cannot be reused as it is, and no reset query is set, so it is closed.
        #expect(!server.isOpen)
        let counts = try h.counts
        #expect(counts.active == 0 && counts.idle == 0)
        #expect(h.registry(onLoop: 1).clients.isEmpty && h.registry(onLoop: 0).servers.isEmpty)
    }
}
