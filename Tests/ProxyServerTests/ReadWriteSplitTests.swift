// read_write_split through the real handlers, the hosts' roles as checks would have found them: a read goes to the
// replica, a write to the primary, whose WAL position is asked for before its server goes back; the next read waits
// for a replica to confirm it has replayed that far, or goes to the primary when it has not.
import NIOCore
import PGWire
import Routing
import Testing
@testable import ProxyServer

@Suite("Read/write split")
struct ReadWriteSplitTests {
    static let primary = ServerAddress(host: "db1.test", port: 5433), replica = ServerAddress(host: "db2.test", port: 5433)

    static func answer(_ value: String) -> [BackendMessage] {
        [Wire.columns("x"), Wire.row(value), .commandComplete(tag: "SELECT 1"), .readyForQuery(.idle)]
    }

    /// A harness whose two hosts were checked: db1 the primary, db2 a replica that has replayed up to 0/100.
    static func checkedCluster() throws -> ProxyHarness {
        let h = try ProxyHarness(["read_write_split": "1"], servers: "host=db1.test,db2.test port=5433")
        let policy = HealthPolicy(failuresToDown: 3, successesToUp: 2)
        for (address, role) in [(primary, NodeRole.primary), (replica, .replica)] {
            _ = h.runtime.nodes.beginCheck(address, policy: policy, period: 10, now: h.runtime.now())
            h.runtime.nodes.checkEnded(address, .success(NodeObservation(role: role, lsn: 0x100, timeline: 1)), now: h.runtime.now())
        }
        return h
    }

    /// A client logged in (the welcome's server is the primary's) that has read once from the replica.
    static func clientAfterARead(_ h: ProxyHarness) throws -> (client: Peer, primary: Peer, replica: Peer) {
        let client = try h.connectClient()
        #expect(h.log.dials.map(\.host) == ["db1.test"])
        let primary = try #require(h.log.servers.first)
        try primary.acceptLogin(pid: 1, secret: 1)
        expectBytes(client.received(), try h.welcome(client))
        try client.send(Wire.bytes([FrontendMessage.query("SELECT count(*) FROM t")]))
        #expect(h.log.dials.map(\.host) == ["db1.test", "db2.test"])
        let replica = h.log.servers[1]
        try replica.acceptLogin(pid: 2, secret: 2)
        expectBytes(replica.received(), [FrontendMessage.query("SELECT count(*) FROM t")])
        try replica.send(Wire.bytes(answer("7")))
        expectBytes(client.received(), answer("7"))
        return (client, primary, replica)
    }

    /// The client writes; the primary is asked where the commit ended, and says 0/500.
    static func write(_ client: Peer, _ primary: Peer) throws {
        try client.send(Wire.bytes([FrontendMessage.query("INSERT INTO t VALUES (1)")]))
        expectBytes(primary.received(), [FrontendMessage.query("INSERT INTO t VALUES (1)")])
        let done: [BackendMessage] = [.commandComplete(tag: "INSERT 0 1"), .readyForQuery(.idle)]
        try primary.send(Wire.bytes(done))
        expectBytes(client.received(), done)
        expectBytes(primary.received(), [FrontendMessage.query("SELECT pg_catalog.pg_current_wal_insert_lsn()")])
        try primary.send(Wire.bytes(answer("0/500")))
        #expect(client.received().readableBytes == 0)
    }

    /// A read right after the write: the replica (its last check saw 0/100) is asked how far it has replayed, and
    /// says `replayed`.
    static func readAfterWrite(replicaSays replayed: String) throws -> (h: ProxyHarness, client: Peer, primary: Peer, replica: Peer) {
        let h = try checkedCluster()
        let (client, primary, replica) = try clientAfterARead(h)
        try write(client, primary)
        try client.send(Wire.bytes([FrontendMessage.query("SELECT count(*) FROM t")]))
        expectBytes(replica.received(), [FrontendMessage.query("SELECT pg_catalog.pg_last_wal_replay_lsn()")])
        try replica.send(Wire.bytes(answer(replayed)))
        return (h, client, primary, replica)
    }

    @Test func aReadAfterAWriteGoesToAReplicaThatConfirmsIt() throws {
        let (h, client, primary, replica) = try Self.readAfterWrite(replicaSays: "0/600")
        defer { h.finish() }
        expectBytes(replica.received(), [FrontendMessage.query("SELECT count(*) FROM t")])
        try replica.send(Wire.bytes(Self.answer("8")))
        expectBytes(client.received(), Self.answer("8"))
        #expect(primary.received().readableBytes == 0)
    }

    @Test func aReplicaBehindTheWriteSendsTheReadToThePrimary() throws {
        let (h, client, primary, replica) = try Self.readAfterWrite(replicaSays: "0/400")
        defer { h.finish() }
        // Behind: the read runs on the primary, and the replica never sees it.
        expectBytes(primary.received(), [FrontendMessage.query("SELECT count(*) FROM t")])
        try primary.send(Wire.bytes(Self.answer("8")))
        expectBytes(client.received(), Self.answer("8"))
        #expect(replica.received().readableBytes == 0)
    }
}
