// 25006 through the real handlers where the retry must stay out of the way or leave nothing behind, and DDL's checks.
import NIOCore
import PGWire
import Routing
import Testing
@testable import ProxyServer

@Suite("Refusals passed through, DDL checks")
struct RefusalPassThroughTests {
    static let db1 = RefusedWriteRetryTests.db1, db2 = RefusedWriteRetryTests.db2
    static let insert = RefusedWriteRetryTests.insert, readOnly = RefusedWriteRetryTests.readOnly

    // MARK: a replica's server given back clean

    @Test func theReplicasServerKeepsNothingOfTheRefusedRead() throws {
        let (h, client, db1) = try RefusedWriteRetryTests.loggedIn()
        defer { h.finish() }
        let call = "SELECT audit_write(1)"
        let replica = try RefusedWriteRetryTests.callOnTheReplica(h, client, call)
        // PostgreSQL describes the result before running the function that writes.
        try replica.send(Wire.bytes([Wire.columns("audit_write"), Self.readOnly, .readyForQuery(.idle)]))
        #expect(client.received().readableBytes == 0)
        expectBytes(db1.received(), [FrontendMessage.query(call)])
        let answer: [BackendMessage] = [Wire.columns("audit_write"), Wire.row("1"), .commandComplete(tag: "SELECT 1"), .readyForQuery(.idle)]
        try db1.send(Wire.bytes(answer))
        expectBytes(client.received(), answer)
        #expect(replica.isOpen)

        // Another client's read takes the same server on the replica: what it hears is its own answer alone.
        let other = try h.connectClient()
        _ = other.received()
        try other.send(Wire.bytes([FrontendMessage.query("SELECT count(*) FROM t")]))
        #expect(h.log.dials.count == 2, "the read did not go to the replica's idle server")
        expectBytes(replica.received(), [FrontendMessage.query("SELECT count(*) FROM t")])
        try replica.send(Wire.bytes(ReadWriteSplitTests.answer("7")))
        expectBytes(other.received(), ReadWriteSplitTests.answer("7"))
        #expect(client.received().readableBytes == 0)
    }

    // MARK: session mode

    /// A session-mode client of the checked cluster, linked for its session to the node it was given.
    static func sessionClient() throws -> (h: ProxyHarness, client: Peer, server: Peer) {
        let h = try ProxyHarness(["read_write_split": "1", "pool_mode": "session"], servers: "host=db1.test,db2.test port=5433")
        let policy = HealthPolicy(failuresToDown: 3, successesToUp: 2)
        for (address, role) in [(db1, NodeRole.primary), (db2, .replica)] {
            _ = h.runtime.nodes.beginCheck(address, policy: policy, period: 10, now: h.runtime.now())
            h.runtime.nodes.checkEnded(address, .success(NodeObservation(role: role, lsn: 0x100, timeline: 1)), now: h.runtime.now())
        }
        let client = try h.connectClient()
        // The primary: every unit of a session that may write needs it.
        #expect(h.log.dials.map(\.host) == ["db1.test"])
        let server = try #require(h.log.servers.first)
        try server.acceptLogin(pid: 1, secret: 1)
        expectBytes(client.received(), try h.welcome(client))
        return (h, client, server)
    }

    @Test func aSessionModeClientHearsTheRefusalAtOnce() throws {
        let (h, client, server) = try Self.sessionClient()
        defer { h.finish() }
        try client.send(Wire.bytes([FrontendMessage.query(Self.insert)]))
        expectBytes(server.received(), [FrontendMessage.query(Self.insert)])
        // The session's state lives on this server: its statements cannot move to another.
        try server.send(Wire.bytes([Self.readOnly, .readyForQuery(.idle)]))
        expectBytes(client.received(), [Self.readOnly, .readyForQuery(.idle)])
        #expect(server.isOpen && client.isOpen)
        #expect(h.log.dials.count == 1)
        #expect(h.runtime.nodes.snapshot.values.allSatisfy { !$0.due }, "checks were asked for")
    }

    @Test func aSessionModeRefusalGoesOutInOrderWithARequestBehindIt() throws {
        let (h, client, server) = try Self.sessionClient()
        defer { h.finish() }
        let pipelined: [FrontendMessage] = [.query(Self.insert), .query("SELECT 2")]
        try client.send(Wire.bytes(pipelined))
        expectBytes(server.received(), pipelined)
        try server.send(Wire.bytes([Self.readOnly, .readyForQuery(.idle)]))
        expectBytes(client.received(), [Self.readOnly, .readyForQuery(.idle)])
        try server.send(Wire.bytes(ReadWriteSplitTests.answer("2")))
        expectBytes(client.received(), ReadWriteSplitTests.answer("2"))
        #expect(server.isOpen)
        #expect(h.log.dials.count == 1)
    }

    // MARK: a primary that says it is no standby

    @Test func aRefusalFromAServerThatIsNoStandbyGoesToTheClient() throws {
        let h = try ReadWriteSplitTests.checkedCluster()
        defer { h.finish() }
        let client = try h.connectClient()
        let db1 = try #require(h.log.servers.first)
        // PostgreSQL 14+: a primary whose database is read-only (default_transaction_read_only) refuses writes too.
        let parameters = ProxyHarness.serverParameters + [("in_hot_standby", "off")]
        try db1.acceptLogin(pid: 1, secret: 1, parameters: parameters)
        expectBytes(client.received(), try h.welcome(client, parameters: parameters))
        try client.send(Wire.bytes([FrontendMessage.query(Self.insert)]))
        expectBytes(db1.received(), [FrontendMessage.query(Self.insert)])
        try db1.send(Wire.bytes([Self.readOnly, .readyForQuery(.idle)]))
        expectBytes(client.received(), [Self.readOnly, .readyForQuery(.idle)])
        #expect(db1.isOpen)
        #expect(h.log.dials.count == 1)
        // No wait for checks began: it would have had the next round check the entry's hosts.
        #expect(h.runtime.nodes.snapshot.values.allSatisfy { !$0.due }, "checks were asked for")
        // A write unit like any other ended: its position is asked for, then the server is back in its pool.
        expectBytes(db1.received(), [FrontendMessage.query("SELECT pg_catalog.pg_current_wal_insert_lsn()")])
        try db1.send(Wire.bytes(ReadWriteSplitTests.answer("0/300")))
        try client.send(Wire.bytes([FrontendMessage.query(Self.insert)]))
        expectBytes(db1.received(), [FrontendMessage.query(Self.insert)])
        #expect(h.log.dials.count == 1)
    }

    // MARK: DDL

    /// `sql` run on db1 as a write by a logged-in client, its commit's position answered; the hosts' records after.
    static func ddl(_ sql: String, tag: String) throws -> [ServerAddress: NodeRegistry.Record] {
        let (h, client, db1) = try RefusedWriteRetryTests.loggedIn()
        defer { h.finish() }
        #expect(h.runtime.nodes.snapshot.values.allSatisfy { !$0.due })
        try client.send(Wire.bytes([FrontendMessage.query(sql)]))
        expectBytes(db1.received(), [FrontendMessage.query(sql)])
        let done: [BackendMessage] = [.commandComplete(tag: tag), .readyForQuery(.idle)]
        try db1.send(Wire.bytes(done))
        expectBytes(client.received(), done)
        expectBytes(db1.received(), [FrontendMessage.query("SELECT pg_catalog.pg_current_wal_insert_lsn()")])
        try db1.send(Wire.bytes(ReadWriteSplitTests.answer("0/300")))
        return h.runtime.nodes.snapshot
    }

    @Test func functionDDLHasOnlyThePrimaryChecked() throws {
        let records = try Self.ddl("CREATE FUNCTION f() RETURNS int LANGUAGE sql VOLATILE AS $$ SELECT 1 $$", tag: "CREATE FUNCTION")
        // The primary's catalog lists the VOLATILE functions; a replica's check would list nothing new.
        #expect(records[Self.db1]?.due == true)
        #expect(records[Self.db2]?.due == false)
    }

    @Test func tableDDLHasNothingChecked() throws {
        let records = try Self.ddl("CREATE TABLE t (a int)", tag: "CREATE TABLE")
        #expect(records[Self.db1]?.due == false)
        #expect(records[Self.db2]?.due == false)
    }

    @Test func functionDDLInATransactionHasThePrimaryCheckedAtItsEnd() throws {
        let (h, client, db1) = try RefusedWriteRetryTests.loggedIn()
        defer { h.finish() }
        for (sql, tag, status) in [("BEGIN", "BEGIN", TransactionStatus.inTransaction),
                                   ("CREATE OR REPLACE PROCEDURE p() LANGUAGE sql AS $$ SELECT 1 $$", "CREATE PROCEDURE", .inTransaction),
                                   ("COMMIT", "COMMIT", .idle)] {
            try client.send(Wire.bytes([FrontendMessage.query(sql)]))
            expectBytes(db1.received(), [FrontendMessage.query(sql)])
            let done: [BackendMessage] = [.commandComplete(tag: tag), .readyForQuery(status)]
            try db1.send(Wire.bytes(done))
            expectBytes(client.received(), done)
        }
        _ = db1.received()
        try db1.send(Wire.bytes(ReadWriteSplitTests.answer("0/300")))
        #expect(h.runtime.nodes.snapshot[Self.db1]?.due == true)
        #expect(h.runtime.nodes.snapshot[Self.db2]?.due == false)
    }
}
