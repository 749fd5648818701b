// Pipelined requests through the real handlers: the server stays with its client until the last ReadyForQuery owed
// has arrived whole, with prepared statements carried (max_prepared_statements > 0) or not.
import NIOCore
import PGWire
import Testing
@testable import ProxyServer

@Suite("Pipelining")
struct PipeliningTests {
    /// A client welcomed and its server idle in the pool.
    static func linkedPair(_ maxPrepared: Int) throws -> (ProxyHarness, client: Peer, server: Peer) {
        let h = try ProxyHarness(["max_prepared_statements": "\(maxPrepared)"])
        let (client, server) = try h.clientOnFirstServer()
        return (h, client, server)
    }

    @Test(arguments: [0, 200])
    func twoQueriesInOneReadKeepTheServerUntilBothAreAnswered(maxPrepared: Int) throws {
        let (h, client, server) = try Self.linkedPair(maxPrepared)
        defer { h.finish() }
        try client.send(Wire.bytes([FrontendMessage.query("SELECT 1"), .query("SELECT 2")]))
        expectBytes(server.received(), [FrontendMessage.query("SELECT 1"), .query("SELECT 2")])

        let firstAnswer: [BackendMessage] = [Wire.columns("a"), Wire.row("1"), .commandComplete(tag: "SELECT 1"), .readyForQuery(.idle)]
        try server.send(Wire.bytes(firstAnswer))
        expectBytes(client.received(), firstAnswer)
        // One ReadyForQuery of two: still this client's.
        #expect(try h.counts.active == 1 && h.counts.idle == 0)

        let secondAnswer: [BackendMessage] = [Wire.columns("b"), Wire.row("2"), .commandComplete(tag: "SELECT 1"), .readyForQuery(.idle)]
        try server.send(Wire.bytes(secondAnswer))
        expectBytes(client.received(), secondAnswer)
        #expect(try h.counts.active == 0 && h.counts.idle == 1)
    }

    @Test(arguments: [0, 200])
    func anExtendedBatchWithTwoSyncsKeepsTheServerUntilTheSecondReadyForQueryIsWhole(maxPrepared: Int) throws {
        let (h, client, server) = try Self.linkedPair(maxPrepared)
        defer { h.finish() }
        let one = ByteBuffer(string: "1"), two = ByteBuffer(string: "2")
        let batch: [FrontendMessage] = [
            .parse(name: "", query: "SELECT $1::int", parameterTypes: [23]),
            .bind(portal: "", statement: "", parameterFormats: [], parameters: [one], resultFormats: []),
            .execute(portal: "", maxRows: 0), .sync,
            .bind(portal: "", statement: "", parameterFormats: [], parameters: [two], resultFormats: []),
            .execute(portal: "", maxRows: 0), .sync,
        ]
        try client.send(Wire.bytes(batch))
        // Unnamed statements are not rewritten: the server gets the batch as sent.
        expectBytes(server.received(), batch)

        let firstAnswer: [BackendMessage] = [.parseComplete, .bindComplete, Wire.row("1"), .commandComplete(tag: "SELECT 1"), .readyForQuery(.idle)]
        try server.send(Wire.bytes(firstAnswer))
        expectBytes(client.received(), firstAnswer)
        #expect(try h.counts.active == 1)

        // The second answer arrives cut inside its ReadyForQuery: the count matches only once that frame is whole.
        let rows: [BackendMessage] = [.bindComplete, Wire.row("2"), .commandComplete(tag: "SELECT 1")]
        let secondAnswer = Wire.bytes(rows + [.readyForQuery(.idle)])
        let cut = secondAnswer.readableBytes - 3
        try server.send(secondAnswer.getSlice(at: secondAnswer.readerIndex, length: cut)!)
        // The rows go on; the half ReadyForQuery waits for the rest of its frame, and the link holds.
        expectBytes(client.received(), rows)
        #expect(try h.counts.active == 1 && h.counts.idle == 0)
        try server.send(secondAnswer.getSlice(at: secondAnswer.readerIndex + cut, length: 3)!)
        expectBytes(client.received(), [BackendMessage.readyForQuery(.idle)])
        #expect(try h.counts.active == 0 && h.counts.idle == 1)
        #expect(server.received().readableBytes == 0)
    }
}
