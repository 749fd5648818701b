// 25006 refusals through the real handlers: a demoted primary's write runs on the new one, a replica-refused read on the primary.
import NIOCore
import PGWire
import Routing
import Testing
@testable import ProxyServer

@Suite("Refused write retry")
struct RefusedWriteRetryTests {
    static let db1 = ReadWriteSplitTests.primary, db2 = ReadWriteSplitTests.replica
    static let insert = "INSERT INTO t VALUES (1)"
    static let readOnly = Wire.error(SQLState.readOnlySQLTransaction, "cannot execute INSERT in a read-only transaction")
    static let inserted: [BackendMessage] = [.commandComplete(tag: "INSERT 0 1"), .readyForQuery(.idle)]

    /// A client logged in through db1, the primary by the last check (db2 a replica).
    static func loggedIn() throws -> (h: ProxyHarness, client: Peer, db1: Peer) {
        let h = try ReadWriteSplitTests.checkedCluster()
        let client = try h.connectClient()
        let db1 = try #require(h.log.servers.first)
        try db1.acceptLogin(pid: 1, secret: 1)
        expectBytes(client.received(), try h.welcome(client))
        return (h, client, db1)
    }

    /// The checks end as the health checks would end them, finding `primary` the primary (timeline 2) and the other
    /// host a replica; then the loop runs what that let go on. `due`: the checks must be ones the wait asked for.
    static func checksEnd(_ h: ProxyHarness, primary: ServerAddress? = db2, due: Bool = true, sourceLocation: SourceLocation = #_sourceLocation) {
        let policy = HealthPolicy(failuresToDown: 3, successesToUp: 2)
        for address in [db1, db2] {
            if !due { h.runtime.nodes.checkSoon(address) }
            #expect(h.runtime.nodes.beginCheck(address, policy: policy, period: 10, now: h.runtime.now()), "\(address) not due", sourceLocation: sourceLocation)
            let role: NodeRole = address == primary ? .primary : .replica
            h.runtime.nodes.checkEnded(address, .success(NodeObservation(role: role, lsn: 0x200, timeline: 2)), now: h.runtime.now())
        }
        for l in h.loops { l.run() }
    }

    /// The client's INSERT refused on db1: nothing reaches the client, and db1's server is closed.
    static func refused(_ h: ProxyHarness, _ client: Peer, _ db1: Peer, status: TransactionStatus = .idle,
                        sourceLocation: SourceLocation = #_sourceLocation) throws {
        try client.send(Wire.bytes([FrontendMessage.query(insert)]))
        expectBytes(db1.received(), [FrontendMessage.query(insert)], sourceLocation: sourceLocation)
        try db1.send(Wire.bytes([readOnly, .readyForQuery(status)]))
        #expect(client.received().readableBytes == 0, "the refusal reached the client", sourceLocation: sourceLocation)
        // A standby now: its servers opened for the primary's work are not used again.
        #expect(!db1.isOpen, sourceLocation: sourceLocation)
    }

    /// The new server db2 dialled for the retried unit, logged in.
    static func newServerOnDb2(_ h: ProxyHarness, sourceLocation: SourceLocation = #_sourceLocation) throws -> Peer {
        #expect(h.log.dials.map(\.host) == ["db1.test", "db2.test"], sourceLocation: sourceLocation)
        let db2 = try #require(h.log.servers.dropFirst().first, sourceLocation: sourceLocation)
        try db2.acceptLogin(pid: 2, secret: 2, sourceLocation: sourceLocation)
        return db2
    }

    /// The messages a client heard, decoded; an error as its SQLSTATE.
    static func heard(_ client: Peer) -> [String] {
        (Wire.backend(client.received()) ?? []).map { m in
            switch m {
            case .errorResponse(let fields): "error \(fields.sqlState ?? "")"
            case .readyForQuery(let status): "ready \(Character(UnicodeScalar(status.rawValue)))"
            default: "\(m)"
            }
        }
    }

    @Test func aRefusedInsertRunsOnTheNewPrimaryAfterTheChecks() throws {
        let (h, client, db1) = try Self.loggedIn()
        defer { h.finish() }
        try Self.refused(h, client, db1)
        // Nothing goes anywhere before the hosts are checked again.
        #expect(h.log.dials.map(\.host) == ["db1.test"])
        Self.checksEnd(h)
        let db2 = try Self.newServerOnDb2(h)
        expectBytes(db2.received(), [FrontendMessage.query(Self.insert)])
        try db2.send(Wire.bytes(Self.inserted))
        expectBytes(client.received(), Self.inserted)
        // A write like any other: its commit's position is asked for, for the client's next reads.
        expectBytes(db2.received(), [FrontendMessage.query("SELECT pg_catalog.pg_current_wal_insert_lsn()")])
        try db2.send(Wire.bytes(ReadWriteSplitTests.answer("0/300")))
        #expect(client.received().readableBytes == 0)
        #expect(client.isOpen && db2.isOpen)
    }

    @Test func aRefusedExtendedBatchIsSentAgainWhole() throws {
        let (h, client, db1) = try Self.loggedIn()
        defer { h.finish() }
        let run: [FrontendMessage] = [.parse(name: "", query: "INSERT INTO t VALUES ($1)", parameterTypes: [23]),
                                      .bind(portal: "", statement: "", parameterFormats: [], parameters: [ByteBuffer(string: "1")], resultFormats: []),
                                      .execute(portal: "", maxRows: 0), .sync]
        try client.send(Wire.bytes(run))
        expectBytes(db1.received(), run)
        try db1.send(Wire.bytes([BackendMessage.parseComplete, .bindComplete, Self.readOnly, .readyForQuery(.idle)]))
        // Not even the replies that came before the refusal: the new primary sends its own.
        #expect(client.received().readableBytes == 0)
        #expect(!db1.isOpen)
        Self.checksEnd(h)
        let db2 = try Self.newServerOnDb2(h)
        expectBytes(db2.received(), run)
        let answer: [BackendMessage] = [.parseComplete, .bindComplete] + Self.inserted
        try db2.send(Wire.bytes(answer))
        expectBytes(client.received(), answer)
    }

    /// The unit's one retry is spent: `server`'s refusal goes to the client as it came, and the client stays.
    static func refusalReachesTheClient(_ h: ProxyHarness, _ client: Peer, from server: Peer) throws {
        try server.send(Wire.bytes([Self.readOnly, .readyForQuery(.idle)]))
        expectBytes(client.received(), [Self.readOnly, .readyForQuery(.idle)])
        #expect(h.log.dials.count == 2)
        #expect(client.isOpen)
    }

    @Test func aSecondRefusalReachesTheClient() throws {
        let (h, client, db1) = try Self.loggedIn()
        defer { h.finish() }
        try Self.refused(h, client, db1)
        Self.checksEnd(h)
        let db2 = try Self.newServerOnDb2(h)
        expectBytes(db2.received(), [FrontendMessage.query(Self.insert)])
        // Once only: the new primary's own refusal is the client's to hear.
        try Self.refusalReachesTheClient(h, client, from: db2)
    }

    @Test func aTransactionsAnsweredBeginRunsAgainFirst() throws {
        // psycopg's way: BEGIN alone, answered, then the statements.
        let (h, client, db1) = try Self.loggedIn()
        defer { h.finish() }
        try client.send(Wire.bytes([FrontendMessage.query("BEGIN")]))
        expectBytes(db1.received(), [FrontendMessage.query("BEGIN")])
        let begun: [BackendMessage] = [.commandComplete(tag: "BEGIN"), .readyForQuery(.inTransaction)]
        try db1.send(Wire.bytes(begun))
        expectBytes(client.received(), begun)
        try Self.refused(h, client, db1, status: .failedTransaction)
        Self.checksEnd(h)
        let db2 = try Self.newServerOnDb2(h)
        // pgswift's own query, out of the client's sight.
        expectBytes(db2.received(), [FrontendMessage.query("BEGIN")])
        try db2.send(Wire.bytes(begun))
        #expect(client.received().readableBytes == 0)
        expectBytes(db2.received(), [FrontendMessage.query(Self.insert)])
        let done: [BackendMessage] = [.commandComplete(tag: "INSERT 0 1"), .readyForQuery(.inTransaction)]
        try db2.send(Wire.bytes(done))
        expectBytes(client.received(), done)
        // The rest of the transaction stays on the new primary.
        try client.send(Wire.bytes([FrontendMessage.query("COMMIT")]))
        expectBytes(db2.received(), [FrontendMessage.query("COMMIT")])
        let committed: [BackendMessage] = [.commandComplete(tag: "COMMIT"), .readyForQuery(.idle)]
        try db2.send(Wire.bytes(committed))
        expectBytes(client.received(), committed)
    }

    @Test func aRefusalAfterAReadTheClientSawGoesToTheClient() throws {
        let (h, client, db1) = try Self.loggedIn()
        defer { h.finish() }
        try client.send(Wire.bytes([FrontendMessage.query("BEGIN")]))
        _ = db1.received()
        try db1.send(Wire.bytes([BackendMessage.commandComplete(tag: "BEGIN"), .readyForQuery(.inTransaction)]))
        _ = client.received()
        try client.send(Wire.bytes([FrontendMessage.query("SELECT 1")]))
        expectBytes(db1.received(), [FrontendMessage.query("SELECT 1")])
        let one: [BackendMessage] = [Wire.columns("x"), Wire.row("1"), .commandComplete(tag: "SELECT 1"), .readyForQuery(.inTransaction)]
        try db1.send(Wire.bytes(one))
        expectBytes(client.received(), one)
        // Run again elsewhere, the SELECT could answer differently from what the client already read.
        try client.send(Wire.bytes([FrontendMessage.query(Self.insert)]))
        expectBytes(db1.received(), [FrontendMessage.query(Self.insert)])
        try db1.send(Wire.bytes([Self.readOnly, .readyForQuery(.failedTransaction)]))
        expectBytes(client.received(), [Self.readOnly, .readyForQuery(.failedTransaction)])
        #expect(db1.isOpen)
        #expect(h.log.dials.map(\.host) == ["db1.test"])
    }

    /// A client whose call of a function the checks do not list as VOLATILE was sent to db2, the replica, as a read.
    static func callOnTheReplica(_ h: ProxyHarness, _ client: Peer, _ text: String) throws -> Peer {
        try client.send(Wire.bytes([FrontendMessage.query(text)]))
        #expect(h.log.dials.map(\.host) == ["db1.test", "db2.test"])
        let replica = try #require(h.log.servers.dropFirst().first)
        try replica.acceptLogin(pid: 2, secret: 2)
        expectBytes(replica.received(), [FrontendMessage.query(text)])
        return replica
    }

    @Test func aReadTheReplicaRefusesRunsOnThePrimary() throws {
        let (h, client, db1) = try Self.loggedIn()
        defer { h.finish() }
        let call = "SELECT audit_write(1)"
        let replica = try Self.callOnTheReplica(h, client, call)
        // The function writes: the replica refuses, which says nothing of the roles.
        try replica.send(Wire.bytes([Self.readOnly, .readyForQuery(.idle)]))
        #expect(client.received().readableBytes == 0)
        // No checks to wait for, and the welcome's idle server on the primary takes it.
        expectBytes(db1.received(), [FrontendMessage.query(call)])
        #expect(h.log.dials.count == 2)
        #expect(replica.isOpen)
        let answer: [BackendMessage] = [Wire.columns("audit_write"), Wire.row("1"), .commandComplete(tag: "SELECT 1"), .readyForQuery(.idle)]
        try db1.send(Wire.bytes(answer))
        expectBytes(client.received(), answer)
    }

    @Test func aReadThePrimaryRefusesTooGoesToTheClient() throws {
        let (h, client, db1) = try Self.loggedIn()
        defer { h.finish() }
        let call = "SELECT audit_write(1)"
        let replica = try Self.callOnTheReplica(h, client, call)
        try replica.send(Wire.bytes([Self.readOnly, .readyForQuery(.idle)]))
        expectBytes(db1.received(), [FrontendMessage.query(call)])
        // Once only: the primary's own refusal is the client's to hear.
        try Self.refusalReachesTheClient(h, client, from: db1)
    }

    @Test func aRefusalInsideAReadOnlyTransactionOnAReplicaGoesToTheClient() throws {
        // The transaction began there: the statement cannot run anywhere else.
        let (h, client, _) = try Self.loggedIn()
        defer { h.finish() }
        let replica = try Self.callOnTheReplica(h, client, "BEGIN READ ONLY")
        let begun: [BackendMessage] = [.commandComplete(tag: "BEGIN"), .readyForQuery(.inTransaction)]
        try replica.send(Wire.bytes(begun))
        expectBytes(client.received(), begun)
        try client.send(Wire.bytes([FrontendMessage.query("SELECT audit_write(1)")]))
        expectBytes(replica.received(), [FrontendMessage.query("SELECT audit_write(1)")])
        try replica.send(Wire.bytes([Self.readOnly, .readyForQuery(.failedTransaction)]))
        expectBytes(client.received(), [Self.readOnly, .readyForQuery(.failedTransaction)])
        #expect(h.log.dials.count == 2)
    }

    @Test func withoutChecksTheWaitEndsAtItsLimit() throws {
        let (h, client, db1) = try Self.loggedIn()
        defer { h.finish() }
        try Self.refused(h, client, db1)
        // No check ends (none runs in this harness): past twice health_check_timeout and a half, the unit goes to
        // the primary the router knows, on a new server.
        h.loop.advanceTime(by: .seconds(7))
        for l in h.loops { l.run() }
        #expect(h.log.dials.map(\.host) == ["db1.test", "db1.test"])
        let again = try #require(h.log.servers.dropFirst().first)
        try again.acceptLogin(pid: 3, secret: 3)
        expectBytes(again.received(), [FrontendMessage.query(Self.insert)])
        // Checks ending afterwards lease nothing more.
        Self.checksEnd(h, due: false)
        #expect(h.log.dials.count == 2)
        try again.send(Wire.bytes(Self.inserted))
        expectBytes(client.received(), Self.inserted)
    }

    @Test func checksThatFindNoPrimaryFailTheUnit() throws {
        let (h, client, db1) = try Self.loggedIn()
        defer { h.finish() }
        try Self.refused(h, client, db1)
        Self.checksEnd(h, primary: nil)
        #expect(Self.heard(client) == ["error 08006", "ready I"])
        #expect(h.log.dials.count == 1)
        #expect(client.isOpen)
    }

    @Test func aCancelWhileWaitingForTheChecksAnswersTheUnit() throws {
        let (h, client, db1) = try Self.loggedIn()
        defer { h.finish() }
        try Self.refused(h, client, db1)
        try h.handler(of: client).cancelRequested()
        for l in h.loops { l.run() }
        #expect(Self.heard(client) == ["error 57014", "ready I"])
        // The checks' end finds nothing to send.
        Self.checksEnd(h)
        #expect(h.log.dials.count == 1)
        #expect(client.received().readableBytes == 0)
    }

    @Test func aRefusalSplitAcrossReadsIsStillTakenBack() throws {
        let (h, client, db1) = try Self.loggedIn()
        defer { h.finish() }
        try client.send(Wire.bytes([FrontendMessage.query(Self.insert)]))
        _ = db1.received()
        try db1.send(Wire.bytes([Self.readOnly]))
        try db1.send(Wire.bytes([BackendMessage.readyForQuery(.idle)]))
        #expect(client.received().readableBytes == 0)
        #expect(!db1.isOpen)
        Self.checksEnd(h)
        let db2 = try Self.newServerOnDb2(h)
        expectBytes(db2.received(), [FrontendMessage.query(Self.insert)])
    }

    @Test func aNoticeTheClientGotBeforeTheRefusalEndsTheRetry() throws {
        let (h, client, db1) = try Self.loggedIn()
        defer { h.finish() }
        try client.send(Wire.bytes([FrontendMessage.query(Self.insert)]))
        _ = db1.received()
        let notice = Self.notice
        // The notice goes out at the end of its own read: the client has seen part of this run's answer.
        try db1.send(Wire.bytes([notice]))
        expectBytes(client.received(), [notice])
        try db1.send(Wire.bytes([Self.readOnly]))
        try db1.send(Wire.bytes([BackendMessage.readyForQuery(.idle)]))
        expectBytes(client.received(), [Self.readOnly, .readyForQuery(.idle)])
        #expect(db1.isOpen)
        Self.checksEnd(h, due: false)
        #expect(h.log.dials.count == 1)
    }

    @Test func aNoticeReadWithTheRefusalIsTakenBackWithIt() throws {
        let (h, client, db1) = try Self.loggedIn()
        defer { h.finish() }
        try client.send(Wire.bytes([FrontendMessage.query(Self.insert)]))
        _ = db1.received()
        // PostgreSQL flushes an error at once and its ReadyForQuery later: what came with the error waits for it, and
        // the refused run's notice is dropped with it (the run on the new primary says its own).
        try db1.send(Wire.bytes([Self.notice, Self.readOnly]))
        #expect(client.received().readableBytes == 0)
        try db1.send(Wire.bytes([BackendMessage.readyForQuery(.idle)]))
        #expect(client.received().readableBytes == 0)
        #expect(!db1.isOpen)
        Self.checksEnd(h)
        let db2 = try Self.newServerOnDb2(h)
        expectBytes(db2.received(), [FrontendMessage.query(Self.insert)])
    }

    static let notice = BackendMessage.noticeResponse(ErrorFields([(UInt8(ascii: "S"), "WARNING"), (UInt8(ascii: "V"), "WARNING"),
                                                                   (UInt8(ascii: "C"), "01000"), (UInt8(ascii: "M"), "from a trigger")]))

    @Test func withoutHealthChecksTheRefusalGoesToTheClient() throws {
        // Nothing would find the new primary: waiting for checks would only delay the error.
        let h = try ProxyHarness(["read_write_split": "1", "health_check_period": "0"], servers: "host=db1.test,db2.test port=5433")
        defer { h.finish() }
        let policy = HealthPolicy(failuresToDown: 3, successesToUp: 2)
        for (address, role) in [(Self.db1, NodeRole.primary), (Self.db2, .replica)] {
            _ = h.runtime.nodes.beginCheck(address, policy: policy, period: 10, now: h.runtime.now())
            h.runtime.nodes.checkEnded(address, .success(NodeObservation(role: role, lsn: 0x100, timeline: 1)), now: h.runtime.now())
        }
        let client = try h.connectClient()
        let db1 = try #require(h.log.servers.first)
        try db1.acceptLogin(pid: 1, secret: 1)
        _ = client.received()
        try client.send(Wire.bytes([FrontendMessage.query(Self.insert)]))
        expectBytes(db1.received(), [FrontendMessage.query(Self.insert)])
        try db1.send(Wire.bytes([Self.readOnly, .readyForQuery(.idle)]))
        expectBytes(client.received(), [Self.readOnly, .readyForQuery(.idle)])
        #expect(db1.isOpen)
    }

    @Test func aClientThatLeftWhileWaitingIsNotSentAnywhere() throws {
        let (h, client, db1) = try Self.loggedIn()
        defer { h.finish() }
        try Self.refused(h, client, db1)
        client.vanish()
        Self.checksEnd(h)
        #expect(h.log.dials.count == 1)
        #expect(try h.counts.waiting == 0)
    }

    @Test func aRequestAfterACancelledWaitIsLeasedOnce() throws {
        let (h, client, db1) = try Self.loggedIn()
        defer { h.finish() }
        try Self.refused(h, client, db1)
        try h.handler(of: client).cancelRequested()
        for l in h.loops { l.run() }
        _ = client.received()
        // A read, queued for a new server on the replica.
        try client.send(Wire.bytes([FrontendMessage.query("SELECT 2")]))
        #expect(h.log.dials.map(\.host) == ["db1.test", "db2.test"])
        // The checks the cancelled wait asked for end, finding the roles as they were: the wait is over, and the
        // read already has its place in the replica's queue.
        Self.checksEnd(h, primary: Self.db1)
        #expect(h.log.dials.map(\.host) == ["db1.test", "db2.test"])
        let queued = try h.counts.waiting
        #expect(queued == 1)
        let db2 = try #require(h.log.servers.dropFirst().first)
        try db2.acceptLogin(pid: 2, secret: 2)
        expectBytes(db2.received(), [FrontendMessage.query("SELECT 2")])
        try db2.send(Wire.bytes(ReadWriteSplitTests.answer("2")))
        expectBytes(client.received(), ReadWriteSplitTests.answer("2"))
        #expect(try h.counts.waiting == 0)
    }

    @Test func theClientsNextRequestWaitsWithTheUnit() throws {
        let (h, client, db1) = try Self.loggedIn()
        defer { h.finish() }
        try Self.refused(h, client, db1)
        // Pipelined after the INSERT: held with it, and sent after it to the new primary.
        try client.send(Wire.bytes([FrontendMessage.query("SELECT 2")]))
        #expect(h.log.dials.count == 1)
        Self.checksEnd(h)
        let db2 = try Self.newServerOnDb2(h)
        expectBytes(db2.received(), [FrontendMessage.query(Self.insert), .query("SELECT 2")])
        let two: [BackendMessage] = Self.inserted + [Wire.columns("x"), Wire.row("2"), .commandComplete(tag: "SELECT 1"), .readyForQuery(.idle)]
        try db2.send(Wire.bytes(two))
        expectBytes(client.received(), two)
    }
}
