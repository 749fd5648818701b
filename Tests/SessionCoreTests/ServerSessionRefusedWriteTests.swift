// ServerSession holding a 25006 refusal (a node demoted since its last check) whole, for its batch to go elsewhere.
import NIOCore
import PGWire
import SessionCore
import Testing

@Suite("ServerSession refused write")
struct ServerSessionRefusedWriteTests {
    static func error(_ sqlState: String, _ message: String = "refused") -> BackendMessage {
        .errorResponse(ErrorFields([(UInt8(ascii: "S"), "ERROR"), (UInt8(ascii: "V"), "ERROR"), (UInt8(ascii: "C"), sqlState),
                                    (UInt8(ascii: "M"), message)]))
    }

    static let readOnly = error(SQLState.readOnlySQLTransaction, "cannot execute INSERT in a read-only transaction")

    static func bytes(_ m: [BackendMessage]) -> ByteBuffer { ServerSessionTests.bytes(m) }
    static func delivered(_ s: inout ServerSession) throws -> [BackendMessage] { try ServerSessionTests.delivered(&s) }

    /// Linked to a host chosen by its role, as the handler arms it.
    static func armed() -> ServerSession {
        var s = ServerSession(statementCapacity: 10)
        s.link()
        s.holdsRefusedWrite = true
        return s
    }

    @Test func aRefusedQueryIsHeldWhole() throws {
        var s = Self.armed()
        // The handler passes the replies a Query gets (ClientSession's `expected`), whatever the mode.
        _ = s.clientWrote([.query])
        var notes: [ServerNote] = []
        try s.read(Self.bytes([Self.readOnly, .readyForQuery(.idle)])) { notes.append($0) }
        #expect(try Self.delivered(&s) == [])
        #expect(notes.isEmpty)
        #expect(s.rerouteDue && !s.retryDue)
        #expect(s.readyCount == 0)
    }

    @Test func aRefusedExtendedBatchIsHeldWhole() throws {
        var s = Self.armed()
        _ = s.clientWrote([.parse(statement: nil, injected: false), .bind, .describe, .execute, .sync])
        try s.read(Self.bytes([.parseComplete, .bindComplete, .noData, Self.readOnly, .readyForQuery(.idle)])) { _ in }
        #expect(s.rerouteDue && !s.retryDue)
        #expect(s.readyCount == 0)
    }

    @Test func unarmedTheRefusalPassesThrough() throws {
        var s = ServerSession(statementCapacity: 10)
        s.link()
        _ = s.clientWrote([.query])
        var notes: [ServerNote] = []
        try s.read(Self.bytes([Self.readOnly, .readyForQuery(.idle)])) { notes.append($0) }
        #expect(try Self.delivered(&s) == [Self.readOnly, .readyForQuery(.idle)])
        #expect(notes == [.error(sqlState: SQLState.readOnlySQLTransaction), .ready(.idle)])
        #expect(!s.rerouteDue && !s.retryDue && s.quiet)
    }

    @Test func aRefusalAfterEarlierAnswersWentOutIsStillHeld() throws {
        var s = Self.armed()
        _ = s.clientWrote([.query])
        try s.read(Self.bytes([.commandComplete(tag: "BEGIN"), .readyForQuery(.inTransaction)])) { _ in }
        #expect(try Self.delivered(&s) == [.commandComplete(tag: "BEGIN"), .readyForQuery(.inTransaction)])
        _ = s.takeNews()
        _ = s.clientWrote([.query])
        var notes: [ServerNote] = []
        try s.read(Self.bytes([Self.readOnly, .readyForQuery(.failedTransaction)])) { notes.append($0) }
        #expect(try Self.delivered(&s) == [])
        #expect(notes.isEmpty)
        #expect(s.rerouteDue)
        #expect(s.readyCount == 1)
    }

    @Test func aRefusalBehindAnUndeliveredAnswerGoesOut() throws {
        var s = Self.armed()
        _ = s.clientWrote([.query, .query])
        // The first request's answer is in the same read: it cannot be taken back, so neither can what follows it.
        var notes: [ServerNote] = []
        let answer: [BackendMessage] = [.commandComplete(tag: "SELECT 1"), .readyForQuery(.inTransaction), Self.readOnly, .readyForQuery(.failedTransaction)]
        try s.read(Self.bytes(answer)) { notes.append($0) }
        #expect(try Self.delivered(&s) == answer)
        #expect(notes == [.ready(.inTransaction), .error(sqlState: SQLState.readOnlySQLTransaction), .ready(.failedTransaction)])
        #expect(!s.rerouteDue && s.readyCount == 2 && s.quiet)
    }

    @Test func anAnswerReadButNotDeliveredStopsTheHold() throws {
        var s = Self.armed()
        _ = s.clientWrote([.query, .query])
        // Read at the end of one read, not yet taken for the client (takeNews), then the refusal in the next.
        try s.read(Self.bytes([.commandComplete(tag: "SELECT 1"), .readyForQuery(.inTransaction)])) { _ in }
        try s.read(Self.bytes([Self.readOnly, .readyForQuery(.failedTransaction)])) { _ in }
        #expect(!s.rerouteDue)
        #expect(try Self.delivered(&s) == [.commandComplete(tag: "SELECT 1"), .readyForQuery(.inTransaction), Self.readOnly,
                                           .readyForQuery(.failedTransaction)])
    }

    @Test func releasedTheFailureFollowsWhatPrecededIt() throws {
        var s = Self.armed()
        _ = s.clientWrote([.query])
        let notice = BackendMessage.noticeResponse(ErrorFields([(UInt8(ascii: "S"), "WARNING"), (UInt8(ascii: "C"), "01000"), (UInt8(ascii: "M"), "first")]))
        try s.read(Self.bytes([notice, Self.readOnly, .readyForQuery(.idle)])) { _ in }
        #expect(s.rerouteDue)
        // The client would not take the batch elsewhere: the failure goes out where it happened.
        s.retryAsked()
        #expect(!s.rerouteDue)
        var notes: [ServerNote] = []
        #expect(s.releaseHeld { notes.append($0) })
        #expect(notes == [.ready(.idle)])
        #expect(try Self.delivered(&s) == [notice, Self.readOnly, .readyForQuery(.idle)])
        #expect(s.readyCount == 1 && s.status == .idle)
        // Nothing is left owed: the server may serve the next client.
        #expect(s.quiet)
        #expect(s.releaseHeld { _ in } == false)
    }

    @Test func aReleasedRefusalLeavesTheNextAnswerCountedRight() throws {
        var s = Self.armed()
        _ = s.clientWrote([.parse(statement: nil, injected: false), .bind, .execute, .sync])
        try s.read(Self.bytes([.parseComplete, .bindComplete, Self.readOnly, .readyForQuery(.idle)])) { _ in }
        s.retryAsked()
        _ = s.releaseHeld { _ in }
        _ = try Self.delivered(&s)
        _ = s.takeNews()
        // The next batch's replies are its own: its ParseComplete is the one owed first.
        _ = s.clientWrote([.parse(statement: 5, injected: true), .bind, .execute, .sync])
        var notes: [ServerNote] = []
        try s.read(Self.bytes([.parseComplete, .bindComplete, .commandComplete(tag: "SELECT 1"), .readyForQuery(.idle)])) { notes.append($0) }
        #expect(notes == [.accepted(statement: 5), .ready(.idle)])
        #expect(try Self.delivered(&s) == [.bindComplete, .commandComplete(tag: "SELECT 1"), .readyForQuery(.idle)])
        #expect(s.quiet)
    }

    @Test(arguments: [SQLState.inFailedSQLTransaction, "40001", "42501", SQLState.featureNotSupported, "25001"])
    func otherFailuresAreNeverHeld(_ sqlState: String) throws {
        var s = Self.armed()
        _ = s.clientWrote([.query])
        var notes: [ServerNote] = []
        try s.read(Self.bytes([Self.error(sqlState), .readyForQuery(.idle)])) { notes.append($0) }
        #expect(try Self.delivered(&s) == [Self.error(sqlState), .readyForQuery(.idle)])
        #expect(notes == [.error(sqlState: sqlState), .ready(.idle)])
        #expect(!s.rerouteDue && !s.retryDue)
    }

    @Test func unlinkDisarms() throws {
        var s = Self.armed()
        s.unlink()
        #expect(!s.holdsRefusedWrite)
        s.link()
        _ = s.clientWrote([.query])
        try s.read(Self.bytes([Self.readOnly, .readyForQuery(.idle)])) { _ in }
        #expect(try Self.delivered(&s) == [Self.readOnly, .readyForQuery(.idle)])
        #expect(!s.rerouteDue)
    }

    @Test func unlinkForgetsAHeldRefusal() throws {
        var s = Self.armed()
        _ = s.clientWrote([.query])
        try s.read(Self.bytes([Self.readOnly, .readyForQuery(.idle)])) { _ in }
        s.retryAsked()
        s.unlink()
        #expect(s.held == HeldFailure())
        #expect(s.releaseHeld { _ in } == false)
    }

    // MARK: in_hot_standby

    /// `value`: what the server's login reported as in_hot_standby (nil: PostgreSQL before 14 reports nothing).
    @Test(arguments: [("off", false), ("on", true), (nil, true)] as [(String?, Bool)])
    func theStandbyParameterDecidesTheHold(_ value: String?, _ held: Bool) throws {
        var s = Self.armed()
        s.parameters["in_hot_standby"] = value
        _ = s.clientWrote([.query])
        var notes: [ServerNote] = []
        try s.read(Self.bytes([Self.readOnly, .readyForQuery(.idle)])) { notes.append($0) }
        if held {
            // It may be a standby now, or there is no telling: the batch may still run on the primary.
            #expect(try Self.delivered(&s) == [])
            #expect(notes.isEmpty)
            #expect(s.rerouteDue)
        } else {
            // A primary made read-only on purpose: no other node would take the write.
            #expect(try Self.delivered(&s) == [Self.readOnly, .readyForQuery(.idle)])
            #expect(notes == [.error(sqlState: SQLState.readOnlySQLTransaction), .ready(.idle)])
            #expect(!s.rerouteDue && s.quiet && s.readyCount == 1)
        }
    }

    // MARK: dropUndelivered

    static func columns(_ name: String) -> BackendMessage {
        .rowDescription([FieldDescription(name: name, typeOID: 23, typeSize: 4)])
    }

    /// A replica's refusal of a read as PostgreSQL sends it: the RowDescription first, then the failure.
    static func refusedRead() throws -> ServerSession {
        var s = Self.armed()
        _ = s.clientWrote([.query])
        try s.read(Self.bytes([Self.columns("audit_write"), Self.readOnly, .readyForQuery(.idle)])) { _ in }
        #expect(s.rerouteDue)
        #expect(!s.outgoing.isEmpty, "the RowDescription is not waiting for the client")
        return s
    }

    @Test func droppingLeavesNothingForTheNextClient() throws {
        var s = try Self.refusedRead()
        let clean = s.dropUndelivered()
        #expect(clean)
        #expect(s.outgoing.isEmpty)
        #expect(s.held == HeldFailure())
        #expect(!s.rerouteDue && !s.retryDue && s.quiet)
        #expect(s.releaseHeld { _ in } == false)
        // The server goes back to its pool and serves another client, which hears its own answer alone.
        s.unlink()
        s.link()
        _ = s.clientWrote([.query])
        var notes: [ServerNote] = []
        let answer: [BackendMessage] = [Self.columns("x"), .dataRow([ByteBuffer(string: "2")]), .commandComplete(tag: "SELECT 1"), .readyForQuery(.idle)]
        try s.read(Self.bytes(answer)) { notes.append($0) }
        #expect(try Self.delivered(&s) == answer)
        #expect(notes == [.ready(.idle)])
    }

    /// The batch's first Execute is refused; what follows it up to the Sync is skipped by PostgreSQL, `skipped` too.
    @Test(arguments: [PendingReply.parse(statement: 5, injected: true), .close(injected: true)])
    func aSkippedMessageOfPgswiftsOwnMakesTheServerUnfit(_ skipped: PendingReply) throws {
        var s = Self.armed()
        _ = s.clientWrote([.parse(statement: nil, injected: false), .bind, .execute, skipped, .bind, .execute, .sync])
        try s.read(Self.bytes([.parseComplete, .bindComplete, Self.readOnly, .readyForQuery(.idle)])) { _ in }
        #expect(s.rerouteDue)
        // The statements lent for the link say the server holds what it never made (or dropped what it still holds).
        #expect(s.dropUndelivered() == false)
        #expect(s.outgoing.isEmpty)
        #expect(s.held == HeldFailure())
        // Told once: what the handler was not told of then is not news later either.
        #expect(s.takeNews().failed.isEmpty)
    }
}
