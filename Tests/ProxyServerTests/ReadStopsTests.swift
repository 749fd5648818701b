// A client's reads stop for named reasons: lifting one (the server writable again) leaves the others standing.
import NIOCore
import PGWire
import Testing
@testable import ProxyServer

@Suite("Reasons to stop reading a client")
struct ReadStopsTests {
    @Test func liftingOneReasonKeepsTheOthers() throws {
        let h = try ProxyHarness()
        defer { h.finish() }
        let (client, _) = try h.clientOnFirstServer()
        let handler = try h.handler(of: client)
        #expect(handler.readStops.isEmpty)
        handler.holdBack(.gate, true)
        handler.holdBack(.serverFull, true)
        // The server takes bytes again, but the gate is still full: the client stays unread.
        handler.holdBack(.serverFull, false)
        #expect(handler.readStops == .gate)
        handler.holdBack(.serverFull, false)
        #expect(handler.readStops == .gate)
        handler.holdBack(.gate, false)
        #expect(handler.readStops.isEmpty)
    }

    @Test func aNewLinkStartsWithoutTheGateOfTheLastOne() throws {
        let h = try ProxyHarness()
        defer { h.finish() }
        let (client, server) = try h.clientOnFirstServer()
        let handler = try h.handler(of: client)
        handler.holdBack(.gate, true)
        try client.send(Wire.bytes([FrontendMessage.query("SELECT 1")]))
        expectBytes(server.received(), [FrontendMessage.query("SELECT 1")])
        #expect(handler.readStops.isEmpty)
    }
}
