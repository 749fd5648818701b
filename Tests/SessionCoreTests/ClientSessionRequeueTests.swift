// ClientSession.requeue: a refused batch waits for a server again only when it is all the link has outstanding.
import NIOCore
import PGWire
import SessionCore
import Testing

@Suite("ClientSession requeue")
struct ClientSessionRequeueTests {
    static let t0 = ClientSessionTests.t0
    static let insert = ClientSessionTests.bytes([.query("INSERT INTO t VALUES (1)")])

    static func lent(_ ids: [Int] = []) -> ServerStatementCache { ClientSessionEventsTests.lent(ids) }

    static func read(_ s: inout ClientSession, _ bytes: ByteBuffer, catalog: TestCatalog = TestCatalog()) -> ClientAction {
        s.read(bytes, searchPath: "", catalog: catalog, now: t0)
    }

    /// A client linked to a server that holds statement 3, its INSERT sent there.
    static func insertSent() -> ClientSession {
        var s = ClientSessionTests.session()
        #expect(read(&s, insert) == .lease(stopReading: false))
        _ = s.linked(statements: lent([3]), catalog: TestCatalog())
        #expect(ClientSessionTests.sentTypes(&s) == ["Q"])
        return s
    }

    @Test func theRefusedBatchWaitsForAServerAgain() throws {
        var s = Self.insertSent()
        let later = Self.t0 + .seconds(1)
        let back = s.requeue([Self.insert], answered: 0, now: later)
        // The server's statements go back with it.
        #expect(back == Self.lent([3]))
        #expect(s.phase == .waiting)
        #expect(s.held == [Self.insert])
        #expect(s.clock.waitStarted == later)
        #expect(s.lentStatements.count == 0)
        // The next link sends it as the client did, and keeps the server until it is answered.
        let (action, _) = s.linked(statements: Self.lent(), catalog: TestCatalog())
        #expect(action == .none)
        #expect(ClientSessionTests.sentTypes(&s) == ["Q"])
        #expect(s.answered(1, status: .idle, atBoundary: true, failed: [], madeUp: [], settingReported: false, catalog: TestCatalog(), now: Self.t0)
                == .release(.done(keepsSession: false, pinned: false), Self.lent()))
    }

    @Test func aBatchAfterAnAnsweredBeginComesBackAlone() throws {
        var s = ClientSessionTests.session()
        _ = Self.read(&s, ClientSessionTests.bytes([.query("BEGIN")]))
        _ = s.linked(statements: Self.lent([3]), catalog: TestCatalog())
        #expect(s.answered(1, status: .inTransaction, atBoundary: true, failed: [], madeUp: [], settingReported: false, catalog: TestCatalog(), now: Self.t0)
                == ClientAction.none)
        _ = ClientSessionTests.sentTypes(&s)
        #expect(Self.read(&s, Self.insert) == ClientAction.none)
        #expect(ClientSessionTests.sentTypes(&s) == ["Q"])
        #expect(s.requeue([Self.insert], answered: 1, now: Self.t0) == Self.lent([3]))
        #expect(s.phase == .waiting)
        #expect(s.held == [Self.insert])
        // The BEGIN is the handler's to run again (out of the client's sight): only the INSERT goes from here.
        _ = s.linked(statements: Self.lent(), catalog: TestCatalog())
        #expect(ClientSessionTests.sentTypes(&s) == ["Q"])
    }

    @Test func twoRequestsSentStayLinked() throws {
        var s = ClientSessionTests.session()
        _ = Self.read(&s, ClientSessionTests.bytes([.query("SELECT 1"), .query("INSERT INTO t VALUES (1)")]))
        _ = s.linked(statements: Self.lent([3]), catalog: TestCatalog())
        _ = ClientSessionTests.sentTypes(&s)
        #expect(s.requeue([Self.insert], answered: 0, now: Self.t0) == nil)
        #expect(s.phase == .linked)
        #expect(s.held.isEmpty)
        #expect(s.lentStatements == Self.lent([3]))
    }

    @Test func aRequestSentAfterTheRefusedOneStaysLinked() throws {
        var s = Self.insertSent()
        #expect(Self.read(&s, ClientSessionTests.bytes([.query("SELECT 2")])) == ClientAction.none)
        #expect(s.requeue([Self.insert], answered: 0, now: Self.t0) == nil)
        #expect(s.phase == .linked && s.held.isEmpty)
        #expect(s.lentStatements == Self.lent([3]))
    }

    @Test func halfAFrameSentStaysLinked() throws {
        var s = Self.insertSent()
        var next = ClientSessionTests.bytes([.query("SELECT 2")])
        #expect(Self.read(&s, next.readSlice(length: 6)!) == ClientAction.none)
        #expect(!s.atFrameBoundary)
        #expect(s.requeue([Self.insert], answered: 0, now: Self.t0) == nil)
        #expect(s.phase == .linked && s.held.isEmpty)
        #expect(s.lentStatements == Self.lent([3]))
    }

    @Test func extendedMessagesWithoutTheirSyncStayLinked() throws {
        var s = Self.insertSent()
        _ = Self.read(&s, ClientSessionTests.bytes([.parse(name: "", query: "SELECT 2", parameterTypes: []),
                                                    .bind(portal: "", statement: "", parameterFormats: [], parameters: [], resultFormats: [])]))
        #expect(s.requeue([Self.insert], answered: 0, now: Self.t0) == nil)
        #expect(s.phase == .linked && s.held.isEmpty)
    }

    @Test func anAnswerAlreadyCountedStaysLinked() throws {
        // The held ReadyForQuery is not in `answered`: one more than sent means the link is past the batch.
        var s = Self.insertSent()
        #expect(s.requeue([Self.insert], answered: 1, now: Self.t0) == nil)
        #expect(s.phase == .linked)
    }

    @Test func withoutALinkThereIsNothingToRequeue() throws {
        var s = ClientSessionTests.session()
        _ = Self.read(&s, Self.insert)
        #expect(s.phase == .waiting)
        #expect(s.requeue([Self.insert], answered: 0, now: Self.t0) == nil)
        #expect(s.held == [Self.insert])
    }
}
