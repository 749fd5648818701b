// The stale-plan retry through the real handlers: a Bind that PostgreSQL fails with "cached plan must not change
// result type" is sent once more with its statement prepared afresh, and the client sees only the second answer.
import NIOCore
import PGWire
import Testing
@testable import ProxyServer

@Suite("Stale plan retry")
struct StalePlanRetryTests {
    static let text = "SELECT * FROM t"
    /// As PostgreSQL 16 sends it, with the routine that raised it (which is what pgswift recognises).
    static let stalePlan = BackendMessage.errorResponse(ErrorFields([
        (UInt8(ascii: "S"), "ERROR"), (UInt8(ascii: "V"), "ERROR"), (UInt8(ascii: "C"), SQLState.featureNotSupported),
        (UInt8(ascii: "M"), "cached plan must not change result type"), (UInt8(ascii: "F"), "plancache.c"),
        (UInt8(ascii: "L"), "735"), (UInt8(ascii: "R"), "RevalidateCachedQuery"),
    ]))
    /// libpq's PQsendQueryPrepared: the portal is described, so the client learns the columns of the retried run.
    static let runPrepared: [FrontendMessage] = [
        .bind(portal: "", statement: "s1", parameterFormats: [], parameters: [], resultFormats: []),
        .describe(.portal, name: ""), .execute(portal: "", maxRows: 0), .sync,
    ]

    static func bound(_ server: String) -> [FrontendMessage] {
        [.bind(portal: "", statement: server, parameterFormats: [], parameters: [], resultFormats: []),
         .describe(.portal, name: ""), .execute(portal: "", maxRows: 0), .sync]
    }

    /// A client that prepared "s1" (shared as pgswift_1 on the server), between transactions.
    static func prepared() throws -> (ProxyHarness, client: Peer, server: Peer) {
        let h = try ProxyHarness(["max_prepared_statements": "10"])
        let (client, server) = try h.clientOnFirstServer()
        try client.send(Wire.bytes([FrontendMessage.parse(name: "s1", query: text, parameterTypes: []), .sync]))
        expectBytes(server.received(), [FrontendMessage.parse(name: "pgswift_1", query: text, parameterTypes: []), .sync])
        try server.send(Wire.bytes([BackendMessage.parseComplete, .readyForQuery(.idle)]))
        expectBytes(client.received(), [BackendMessage.parseComplete, .readyForQuery(.idle)])
        #expect(try h.counts.idle == 1)
        return (h, client, server)
    }

    @Test func bindFailingWithAStalePlanIsRetriedOnceWithTheStatementPreparedAfresh() throws {
        let (h, client, server) = try Self.prepared()
        defer { h.finish() }
        try client.send(Wire.bytes(Self.runPrepared))
        expectBytes(server.received(), Self.bound("pgswift_1"))

        // The column's type changed under the statement (DDL elsewhere): PostgreSQL refuses the old plan.
        try server.send(Wire.bytes([Self.stalePlan, .readyForQuery(.idle)]))
        // Held back: the client hears nothing yet; its text gets a new id and the batch goes again, prepared first.
        #expect(client.received().readableBytes == 0)
        #expect(h.runtime.statementCatalog.isRetired(1))
        expectBytes(server.received(), [FrontendMessage.parse(name: "pgswift_2", query: Self.text, parameterTypes: [])] + Self.bound("pgswift_2"))
        #expect(try h.counts.active == 1)

        let rows: [BackendMessage] = [.bindComplete, .rowDescription([FieldDescription(name: "b", typeOID: 25, typeSize: -1)]),
                                      Wire.row("x"), .commandComplete(tag: "SELECT 1"), .readyForQuery(.idle)]
        try server.send(Wire.bytes([BackendMessage.parseComplete] + rows))
        // Only the retried run's answer, without the ParseComplete of the Parse pgswift added.
        expectBytes(client.received(), rows)
        #expect(try h.counts.active == 0 && h.counts.idle == 1)
        #expect(client.isOpen && server.isOpen)
    }

    @Test func aSecondStalePlanFailureGoesToTheClient() throws {
        let (h, client, server) = try Self.prepared()
        defer { h.finish() }
        try client.send(Wire.bytes(Self.runPrepared))
        try server.send(Wire.bytes([Self.stalePlan, .readyForQuery(.idle)]))
        _ = server.received()
        // Once only: the retried batch failing the same way is the client's to hear, as PostgreSQL said it.
        try server.send(Wire.bytes([BackendMessage.parseComplete, Self.stalePlan, .readyForQuery(.idle)]))
        expectBytes(client.received(), [Self.stalePlan, .readyForQuery(.idle)])
        #expect(server.received().readableBytes == 0)
        #expect(try h.counts.active == 0 && h.counts.idle == 1)
    }

    @Test func insideATransactionBlockTheFailureGoesStraightThrough() throws {
        let (h, client, server) = try Self.prepared()
        defer { h.finish() }
        try client.send(Wire.bytes([FrontendMessage.query("BEGIN")]))
        try server.send(Wire.bytes([BackendMessage.commandComplete(tag: "BEGIN"), .readyForQuery(.inTransaction)]))
        _ = client.received()
        _ = server.received()
        try client.send(Wire.bytes(Self.runPrepared))
        expectBytes(server.received(), Self.bound("pgswift_1"))
        // The transaction is already aborted by the failure: sending it again could not undo that.
        try server.send(Wire.bytes([Self.stalePlan, .readyForQuery(.failedTransaction)]))
        expectBytes(client.received(), [Self.stalePlan, .readyForQuery(.failedTransaction)])
        #expect(server.received().readableBytes == 0)
        #expect(try h.counts.active == 1)
    }
}
