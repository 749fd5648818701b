// read_write_split with a client that pipelines: a replica's link takes the one statement it was routed for, and
// what the client sends behind it is routed on its own when that link ends.
import NIOCore
import PGWire
import Routing
import Testing
@testable import ProxyServer

@Suite("Pipelined units")
struct PipelinedUnitsTests {
    typealias Split = ReadWriteSplitTests

    static let inserted: [BackendMessage] = [.commandComplete(tag: "INSERT 0 1"), .readyForQuery(.idle)]

    @Test func aWritePipelinedBehindAReplicasReadWaitsAndGoesToThePrimary() throws {
        let h = try Split.checkedCluster()
        defer { h.finish() }
        let (client, primary, replica) = try Split.clientAfterARead(h)
        try client.send(Wire.bytes([FrontendMessage.query("SELECT count(*) FROM t")]))
        expectBytes(replica.received(), [FrontendMessage.query("SELECT count(*) FROM t")])
        // Sent before the read is answered: the replica would refuse it (25006).
        try client.send(Wire.bytes([FrontendMessage.query("INSERT INTO t VALUES (1)")]))
        #expect(replica.received().readableBytes == 0)
        try replica.send(Wire.bytes(Split.answer("8")))
        expectBytes(client.received(), Split.answer("8"))
        expectBytes(primary.received(), [FrontendMessage.query("INSERT INTO t VALUES (1)")])
        try primary.send(Wire.bytes(Self.inserted))
        expectBytes(client.received(), Self.inserted)
        #expect(replica.received().readableBytes == 0)
    }

    @Test func aReadAndAWriteInOneBatchBothGoToThePrimary() throws {
        // Held together before any server: the unit is the whole batch, which only the primary can run.
        let h = try Split.checkedCluster()
        defer { h.finish() }
        let (client, primary, replica) = try Split.clientAfterARead(h)
        try client.send(Wire.bytes([FrontendMessage.query("SELECT count(*) FROM t"), FrontendMessage.query("INSERT INTO t VALUES (1)")]))
        expectBytes(primary.received(), [FrontendMessage.query("SELECT count(*) FROM t"), FrontendMessage.query("INSERT INTO t VALUES (1)")])
        #expect(replica.received().readableBytes == 0)
    }

    @Test func aTerminateBehindAReplicasReadEndsTheClient() throws {
        let h = try Split.checkedCluster()
        defer { h.finish() }
        let (client, _, replica) = try Split.clientAfterARead(h)
        try client.send(Wire.bytes([FrontendMessage.query("SELECT count(*) FROM t")]))
        expectBytes(replica.received(), [FrontendMessage.query("SELECT count(*) FROM t")])
        try client.send(Wire.bytes([FrontendMessage.terminate]))
        #expect(!client.isOpen)
    }
}
