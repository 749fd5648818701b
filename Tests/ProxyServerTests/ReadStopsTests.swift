// A client's reads stop for named reasons: lifting one (the server writable again) leaves the others standing, and
// the socket is read again only when none is left.
import NIOCore
import PGWire
import SessionCore
import Testing
@testable import ProxyServer

@Suite("Reasons to stop reading a client")
struct ReadStopsTests {
    /// The client channel's autoRead as the handler last set it (nil: never set, so on).
    static func autoRead(_ peer: Peer) -> Bool? {
        peer.channel.options.first { $0.option is ChannelOptions.Types.AutoReadOption }?.value as? Bool
    }

    @Test func liftingOneReasonKeepsTheOthers() throws {
        let h = try ProxyHarness()
        defer { h.finish() }
        let (client, _) = try h.clientOnFirstServer()
        let handler = try h.handler(of: client)
        handler.holdBack(.gate, true)
        #expect(Self.autoRead(client) == false)
        handler.holdBack(.serverFull, true)
        // The server takes bytes again, but the gate is still full: the client stays unread.
        handler.holdBack(.serverFull, false)
        #expect(handler.readStops == .gate && Self.autoRead(client) == false)
        handler.holdBack(.gate, false)
        #expect(handler.readStops.isEmpty && Self.autoRead(client) == true)
    }

    @Test func aNewLinkStartsWithoutTheGateOfTheLastOne() throws {
        let h = try ProxyHarness()
        defer { h.finish() }
        let (client, server) = try h.clientOnFirstServer()
        let handler = try h.handler(of: client)
        handler.holdBack(.gate, true)
        try client.send(Wire.bytes([FrontendMessage.query("SELECT 1")]))
        expectBytes(server.received(), [FrontendMessage.query("SELECT 1")])
        #expect(handler.readStops.isEmpty && Self.autoRead(client) == true)
    }
}
