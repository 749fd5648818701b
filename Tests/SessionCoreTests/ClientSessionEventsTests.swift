// ClientSession driven as the handler drives it: events in (bytes, a link, an answer, the probe, a cancel, the clock),
// the one action out, and the phase it leaves.
import NIOCore
import PGWire
import SessionCore
import Testing

@Suite("ClientSession events")
struct ClientSessionEventsTests {
    static let t0 = ClientSessionTests.t0
    static func bytes(_ m: [FrontendMessage]) -> ByteBuffer { ClientSessionTests.bytes(m) }

    /// A statement cache as a server would lend it, holding `ids`.
    static func lent(_ ids: [Int] = []) -> ServerStatementCache {
        var c = ServerStatementCache(capacity: 10)
        for id in ids { _ = c.insert(id) }
        return c
    }

    static func read(_ s: inout ClientSession, _ m: [FrontendMessage], catalog: TestCatalog = TestCatalog()) -> ClientAction {
        s.read(bytes(m), searchPath: "", catalog: catalog, now: t0)
    }

    @Test func aTransactionFromBetweenTransactionsToTheServersReturn() {
        var s = ClientSessionTests.session()
        let catalog = TestCatalog()
        #expect(s.phase == .unlinked)
        // The first bytes are held and a server is asked for.
        #expect(Self.read(&s, [.query("SELECT 1")], catalog: catalog) == .lease(stopReading: false))
        #expect(s.phase == .waiting)
        #expect(s.outgoing.isEmpty)
        // More while waiting is held too.
        #expect(Self.read(&s, [.query("SELECT 2")], catalog: catalog) == .none)
        // Linked: both go to the server, and the link stays until both are answered.
        let (action, resume) = s.linked(statements: Self.lent(), catalog: catalog)
        #expect(action == .none && !resume)
        #expect(s.phase == .linked)
        #expect(ClientSessionTests.sentTypes(&s) == ["Q", "Q"])
        #expect(s.answered(1, status: .idle, atBoundary: true, failed: [], madeUp: [], settingReported: false, catalog: TestCatalog(), now: Self.t0) == .none)
        #expect(s.answered(2, status: .idle, atBoundary: true, failed: [], madeUp: [], settingReported: false, catalog: TestCatalog(), now: Self.t0)
                == .release(.done(keepsSession: false, pinned: false), Self.lent()))
        #expect(s.phase == .unlinked)
    }

    @Test func theStatementsLentComeBackWithWhatTheLinkPreparedOnThem() {
        var s = ClientSessionTests.session()
        let catalog = TestCatalog()
        _ = Self.read(&s, [.parse(name: "a", query: "SELECT 1", parameterTypes: []), .bind(portal: "", statement: "a", parameterFormats: [], parameters: [], resultFormats: []),
                           .execute(portal: "", maxRows: 0), .sync], catalog: catalog)
        _ = s.linked(statements: Self.lent([7]), catalog: catalog)
        guard case .release(_, let back) = s.answered(1, status: .idle, atBoundary: true, failed: [], madeUp: [], settingReported: false, catalog: TestCatalog(), now: Self.t0) else {
            Issue.record("the link did not end")
            return
        }
        // The server held statement 7 before; now it also holds the client's "a" (the catalog's first id).
        #expect(back.statements == [7, 1])
        #expect(back.capacity == 10)
    }

    @Test func aWelcomeLinkNothingWasAskedOfEndsAtOnce() {
        var s = ClientSessionTests.session()
        s.awaitServer(now: Self.t0)
        let (action, _) = s.linked(statements: Self.lent(), catalog: TestCatalog())
        #expect(action == .release(.done(keepsSession: false, pinned: false), Self.lent()))
        var session = ClientSessionTests.session(.session)
        session.awaitServer(now: Self.t0)
        #expect(session.linked(statements: Self.lent(), catalog: TestCatalog()).0 == .none)
    }

    @Test func terminateBetweenTransactionsNeedsNoServer() {
        var s = ClientSessionTests.session()
        #expect(Self.read(&s, [.terminate]) == .leave)
        #expect(s.phase == .unlinked)
    }

    @Test func terminateWhileLinkedLeavesAfterWhatCameBefore() {
        var s = ClientSessionTests.session()
        _ = Self.read(&s, [.query("BEGIN")])
        _ = s.linked(statements: Self.lent(), catalog: TestCatalog())
        #expect(Self.read(&s, [.query("COMMIT"), .terminate]) == .leave)
        #expect(ClientSessionTests.sentTypes(&s) == ["Q", "Q"])
        let (letGo, _) = s.leave()
        #expect(letGo == .clientLeft(sent: 2, halfSent: false, keepsSession: false, pinned: false))
    }

    @Test func aPrepareOfAnAcceptedStatementIsAnsweredHere() {
        var s = ClientSessionTests.session()
        let catalog = TestCatalog()
        var tail = ByteBuffer()
        tail.writeNullTerminatedString("SELECT 1")
        tail.writeInteger(Int16(0))
        catalog.accept(tail)
        guard case .reply = Self.read(&s, [.parse(name: "p", query: "SELECT 1", parameterTypes: []), .sync], catalog: catalog) else {
            Issue.record("not answered here")
            return
        }
        #expect(s.phase == .unlinked)
    }

    @Test func aSetSendsTheServerToTheProbeWithItsStatements() {
        var s = ClientSessionTests.session()
        _ = Self.read(&s, [.query("SET myapp.tenant = '7'")])
        _ = s.linked(statements: Self.lent([3]), catalog: TestCatalog())
        #expect(s.answered(1, status: .idle, atBoundary: true, failed: [], madeUp: [], settingReported: false, catalog: TestCatalog(), now: Self.t0)
                == .probe(custom: ["myapp.tenant"], Self.lent([3])))
        #expect(s.phase == .settling)
        // Bytes sent while the probe runs are held; a clean probe then sends the client back to the queue.
        #expect(Self.read(&s, [.query("SELECT 1")]) == .none)
        #expect(s.probed(pinReasons: [], now: Self.t0) == .lease(stopReading: false))
        #expect(s.phase == .waiting)
    }

    @Test func aCleanProbeWithNothingHeldLeavesTheClientBetweenTransactions() {
        var s = ClientSessionTests.session()
        _ = Self.read(&s, [.query("SET search_path = x")])
        _ = s.linked(statements: Self.lent(), catalog: TestCatalog())
        _ = s.answered(1, status: .idle, atBoundary: true, failed: [], madeUp: [], settingReported: false, catalog: TestCatalog(), now: Self.t0)
        #expect(s.probed(pinReasons: [], now: Self.t0) == .none)
        #expect(s.phase == .unlinked)
        // A failed probe too (the handler closes that server).
        _ = Self.read(&s, [.query("SET search_path = y")])
        _ = s.linked(statements: Self.lent(), catalog: TestCatalog())
        _ = s.answered(1, status: .idle, atBoundary: true, failed: [], madeUp: [], settingReported: false, catalog: TestCatalog(), now: Self.t0)
        #expect(s.probed(pinReasons: nil, now: Self.t0) == .none)
        #expect(s.phase == .unlinked)
    }

    @Test func aPinnedProbeKeepsTheServerAcrossTransactions() {
        var s = ClientSessionTests.session()
        _ = Self.read(&s, [.query("LISTEN ipc")])
        _ = s.linked(statements: Self.lent(), catalog: TestCatalog())
        guard case .probe = s.answered(1, status: .idle, atBoundary: true, failed: [], madeUp: [], settingReported: false, catalog: TestCatalog(), now: Self.t0) else {
            Issue.record("no probe after LISTEN")
            return
        }
        #expect(s.probed(pinReasons: ["listen"], now: Self.t0) == .none)
        #expect(s.pinned)
        // The server links again; the next transaction's end keeps it.
        #expect(s.linked(statements: Self.lent(), catalog: TestCatalog()).0 == .none)
        #expect(Self.read(&s, [.query("SELECT 1")]) == .none)
        #expect(s.answered(1, status: .idle, atBoundary: true, failed: [], madeUp: [], settingReported: false, catalog: TestCatalog(), now: Self.t0) == .none)
        #expect(s.phase == .linked)
    }

    @Test func statementModeRefusesATransactionAsAFatalError() {
        var s = ClientSessionTests.session(.statement)
        _ = Self.read(&s, [.query("BEGIN")])
        _ = s.linked(statements: Self.lent(), catalog: TestCatalog())
        guard case .fail(let error) = s.answered(1, status: .inTransaction, atBoundary: true, failed: [], madeUp: [], settingReported: false, catalog: TestCatalog(), now: Self.t0) else {
            Issue.record("not refused")
            return
        }
        #expect(error.sqlState == SQLState.protocolViolation)
    }

    @Test func aMalformedFrameFailsWithAProtocolViolation() {
        var s = ClientSessionTests.session()
        _ = Self.read(&s, [.query("BEGIN")])
        _ = s.linked(statements: Self.lent(), catalog: TestCatalog())
        var bad = ByteBuffer()
        bad.writeInteger(UInt8(ascii: "Q"))
        bad.writeInteger(Int32(2))
        guard case .fail(let error) = s.read(bad, searchPath: "", catalog: TestCatalog(), now: Self.t0) else {
            Issue.record("a length below 4 was accepted")
            return
        }
        #expect(error.sqlState == SQLState.protocolViolation)
    }

    @Test func aCancelOfAQueuedClientAnswersItsHeldRequests() {
        var s = ClientSessionTests.session()
        _ = Self.read(&s, [.query("SELECT pg_sleep(1)")])
        #expect(s.cancelQueued()?.requests == 1)
        #expect(s.phase == .unlinked)
        #expect(s.held.isEmpty)
        // Half a request: nothing to cancel yet, the client stays queued.
        _ = Self.read(&s, [.parse(name: "", query: "SELECT 1", parameterTypes: [])])
        #expect(s.cancelQueued() == nil)
        #expect(s.phase == .waiting)
    }

    @Test func theClockSpeaksForThePhase() {
        var s = ClientSessionTests.session()
        let limits = ClientTimeoutLimits(query: 0, idleTransaction: 0, transaction: 0, clientIdle: 1)
        #expect(s.expired(limits, now: Self.t0 + .seconds(2)) == .clientIdle)
        _ = Self.read(&s, [.query("SELECT 1")])
        // Waiting for a server is no idleness.
        #expect(s.expired(limits, now: Self.t0 + .seconds(2)) == nil)
    }
}
