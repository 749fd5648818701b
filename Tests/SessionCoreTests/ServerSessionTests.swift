// ServerSession as steps: what a linked server says, counted, hidden, made up or held back, without a socket.
import NIOCore
import PGWire
import SessionCore
import Testing

@Suite("ServerSession")
struct ServerSessionTests {
    static func bytes(_ messages: [BackendMessage]) -> ByteBuffer {
        var b = ByteBuffer()
        for m in messages { m.encode(into: &b) }
        return b
    }

    /// The messages in what the session left for the client, decoded back.
    static func delivered(_ s: inout ServerSession) throws -> [BackendMessage] {
        var all = ByteBuffer()
        for var b in s.outgoing { all.writeBuffer(&b) }
        s.outgoing.removeAll()
        var out: [BackendMessage] = []
        while let (type, body) = try WholeFrameReader.next(&all, maxLength: 1 << 20) {
            out.append(try BackendMessage.decode(type: type, body: body))
        }
        return out
    }

    static let cachedPlan = BackendMessage.errorResponse(ErrorFields([
        (UInt8(ascii: "S"), "ERROR"), (UInt8(ascii: "C"), "0A000"), (UInt8(ascii: "M"), "cached plan must not change result type"),
        (UInt8(ascii: "R"), "RevalidateCachedQuery"),
    ]))

    static func linked() -> ServerSession {
        var s = ServerSession(statementCapacity: 10)
        s.link()
        return s
    }

    @Test func simpleQueryInTransactionMode() throws {
        var s = Self.linked()
        #expect(s.clientWrote([]) == false)
        var notes: [ServerNote] = []
        let answer = Self.bytes([.rowDescription([]), .dataRow([ByteBuffer(string: "1")]), .commandComplete(tag: "SELECT 1"), .readyForQuery(.idle)])
        try s.read(answer) { notes.append($0) }
        #expect(notes == [.ready(.idle)])
        #expect(s.readyCount == 1 && s.status == .idle && s.quiet)
        // Passed through untouched, as one run of bytes.
        #expect(s.outgoing == [answer])
    }

    @Test func frameCutAcrossReadsIsNotQuiet() throws {
        var s = Self.linked()
        var answer = Self.bytes([.commandComplete(tag: "SELECT 1"), .readyForQuery(.inTransaction)])
        let first = answer.readSlice(length: 7)!
        try s.read(first) { _ in }
        #expect(!s.atFrameBoundary && !s.quiet && s.readyCount == 0)
        var notes: [ServerNote] = []
        try s.read(answer) { notes.append($0) }
        #expect(notes == [.ready(.inTransaction)] && s.quiet && s.status == .inTransaction)
    }

    @Test func pipelinedBatchWithInjectedParseHiddenAndMadeUpReplyPlaced() throws {
        var s = Self.linked()
        // Parse injected before the client's Bind (hidden), then the client's Bind/Execute/Sync; and a second
        // statement the server already had, whose ParseComplete pgswift makes up (due after the first Sync's answer).
        let due = s.clientWrote([.parse(statement: 1, injected: true), .bind, .execute, .sync, .synthetic(.parseComplete), .bind, .execute, .sync])
        #expect(due == false)
        try s.read(Self.bytes([.parseComplete, .bindComplete, .commandComplete(tag: "SELECT 1"), .readyForQuery(.idle)])) { _ in }
        #expect(try Self.delivered(&s) == [.bindComplete, .commandComplete(tag: "SELECT 1"), .readyForQuery(.idle), .parseComplete])
        #expect(!s.quiet)
        try s.read(Self.bytes([.bindComplete, .commandComplete(tag: "SELECT 1"), .readyForQuery(.idle)])) { _ in }
        #expect(try Self.delivered(&s) == [.bindComplete, .commandComplete(tag: "SELECT 1"), .readyForQuery(.idle)])
        #expect(s.readyCount == 2 && s.quiet)
        #expect(s.takeNews().madeUp == [true])
    }

    @Test func madeUpReplyDueAtOnceIsWrittenBeforeTheServerSpeaks() throws {
        var s = Self.linked()
        #expect(s.clientWrote([.synthetic(.parseComplete), .bind, .execute, .sync]) == true)
        #expect(try Self.delivered(&s) == [.parseComplete])
    }

    @Test func failedInjectedParseIsReportedToTheClient() throws {
        var s = Self.linked()
        _ = s.clientWrote([.parse(statement: 7, injected: true), .bind, .execute, .sync])
        var notes: [ServerNote] = []
        try s.read(Self.bytes([.errorResponse(ErrorFields([(UInt8(ascii: "C"), "42601"), (UInt8(ascii: "M"), "syntax error")])), .readyForQuery(.idle)])) {
            notes.append($0)
        }
        #expect(notes == [.error(sqlState: "42601"), .ready(.idle)])
        #expect(s.takeNews().failed == [FailedParse(statement: 7, injected: true)])
        #expect(s.quiet)
    }

    @Test func stalePlanFailureIsHeldUntilTheClientDecides() throws {
        var s = Self.linked()
        _ = s.clientWrote([.namedBind(statement: 3), .describe, .execute, .sync])
        var notes: [ServerNote] = []
        try s.read(Self.bytes([Self.cachedPlan, .readyForQuery(.idle)])) { notes.append($0) }
        // Neither the error nor its ReadyForQuery goes out or counts; the statement is retired; the client is asked.
        #expect(notes == [.planChanged(statement: 3)])
        #expect(try Self.delivered(&s) == [])
        #expect(s.readyCount == 0 && s.retryDue)
        // Declined: the failure goes out where it happened, counted then.
        s.retryAsked()
        #expect(s.releaseHeld { notes.append($0) })
        #expect(notes.last == .ready(.idle) && s.readyCount == 1)
        #expect(try Self.delivered(&s) == [Self.cachedPlan, .readyForQuery(.idle)])
        #expect(s.quiet)
    }

    @Test func stalePlanRetryAcceptedForgetsTheFailure() throws {
        var s = Self.linked()
        _ = s.clientWrote([.bind, .describe, .execute, .sync])
        try s.read(Self.bytes([Self.cachedPlan, .readyForQuery(.idle)])) { _ in }
        s.retryAsked()
        s.retryAccepted()
        #expect(s.releaseHeld { _ in } == false)
        _ = s.clientWrote([.close(injected: true), .parse(statement: 1, injected: true), .bind, .describe, .execute, .sync])
        try s.read(Self.bytes([.closeComplete, .parseComplete, .bindComplete, .noData, .commandComplete(tag: "SELECT 0"), .readyForQuery(.idle)])) { _ in }
        #expect(try Self.delivered(&s) == [.bindComplete, .noData, .commandComplete(tag: "SELECT 0"), .readyForQuery(.idle)])
        #expect(s.readyCount == 1 && s.quiet)
    }

    @Test func stalePlanInsideATransactionBlockGoesStraightThrough() throws {
        var s = Self.linked()
        try s.read(Self.bytes([.commandComplete(tag: "BEGIN"), .readyForQuery(.inTransaction)])) { _ in }
        _ = try Self.delivered(&s)
        _ = s.clientWrote([.namedBind(statement: 4), .execute, .sync])
        var notes: [ServerNote] = []
        try s.read(Self.bytes([Self.cachedPlan, .readyForQuery(.failedTransaction)])) { notes.append($0) }
        #expect(notes == [.planChanged(statement: 4), .error(sqlState: "0A000"), .ready(.failedTransaction)])
        #expect(try Self.delivered(&s) == [Self.cachedPlan, .readyForQuery(.failedTransaction)])
        #expect(!s.retryDue)
    }

    @Test func copyFromStdinByExecuteCountsTheIgnoredSyncWithTheCopysReady() throws {
        var s = Self.linked()
        // libpq's PQexecParams of COPY FROM STDIN: Parse/Bind/Describe/Execute/Sync, then the data and CopyDone.
        _ = s.clientWrote([.parse(statement: nil, injected: false), .bind, .describe, .execute, .sync])
        try s.read(Self.bytes([.parseComplete, .bindComplete, .noData, .copyInResponse(format: 0, columnFormats: [0])])) { _ in }
        #expect(s.readyCount == 0)
        // libpq follows CopyDone with a Sync of its own.
        _ = s.clientWrote([.copyEnd, .sync])
        var notes: [ServerNote] = []
        try s.read(Self.bytes([.commandComplete(tag: "COPY 2"), .readyForQuery(.idle)])) { notes.append($0) }
        // One ReadyForQuery answers both the Sync PostgreSQL ignored and the one after CopyDone: the client's two
        // Syncs are both answered, so the link may end.
        #expect(s.readyCount == 2 && s.quiet)
        #expect(notes == [.ready(.idle)])
    }

    @Test func reportedSettingIsNewsOnceAndParametersAreKept() throws {
        var s = Self.linked()
        try s.read(Self.bytes([.parameterStatus(name: "TimeZone", value: "UTC"), .commandComplete(tag: "SET"), .readyForQuery(.idle)])) { _ in }
        #expect(s.parameters["TimeZone"] == "UTC")
        #expect(s.takeNews().settingReported)
        #expect(!s.takeNews().settingReported)
    }

    @Test func unlinkedServerCountsNothingForAClient() throws {
        var s = ServerSession(statementCapacity: 10)
        var notes: [ServerNote] = []
        var body = ByteBuffer(bytes: [UInt8(ascii: "I")])
        s.observeInternal(BackendMessage.Code.readyForQuery, &body)
        try s.read(Self.bytes([.errorResponse(ErrorFields([(UInt8(ascii: "C"), "57P01")])), .readyForQuery(.idle)])) { notes.append($0) }
        #expect(notes.isEmpty)
        #expect(!s.takeNews().settingReported)
    }

    @Test func unlinkForgetsWhatWasOwed() throws {
        var s = Self.linked()
        _ = s.clientWrote([.parse(statement: 1, injected: true), .bind, .execute, .sync])
        #expect(!s.quiet)
        s.unlink()
        #expect(s.quiet && !s.linked)
    }

    @Test func ownNotificationCarriesTheClientsPidAndOthersAreUntouched() throws {
        var s = ServerSession(statementCapacity: 10)
        s.backendPID = 4242
        s.link(clientPID: 7)
        let own = BackendMessage.notificationResponse(processID: 4242, channel: "ipc", payload: "me")
        let other = BackendMessage.notificationResponse(processID: 5000, channel: "ipc", payload: "you")
        try s.read(Self.bytes([.commandComplete(tag: "NOTIFY"), own, other, .readyForQuery(.idle)])) { _ in }
        #expect(try Self.delivered(&s) == [.commandComplete(tag: "NOTIFY"), .notificationResponse(processID: 7, channel: "ipc", payload: "me"),
                                           other, .readyForQuery(.idle)])
        // Unlinked, or linked without a pid to show: as PostgreSQL sent it.
        s.unlink()
        s.link()
        try s.read(Self.bytes([own])) { _ in }
        #expect(try Self.delivered(&s) == [own])
    }

    @Test func notificationDuringTheProbeWaitsForTheClientsNextLink() throws {
        var s = ServerSession(statementCapacity: 10)
        s.backendPID = 4242
        s.unlink()
        s.park(notification: Self.bytes([.notificationResponse(processID: 5000, channel: "ipc", payload: "while probing")]))
        s.park(notification: Self.bytes([.notificationResponse(processID: 4242, channel: "ipc", payload: "own")]))
        #expect(s.outgoing.isEmpty)
        s.link(clientPID: 9)
        #expect(try Self.delivered(&s) == [.notificationResponse(processID: 5000, channel: "ipc", payload: "while probing"),
                                           .notificationResponse(processID: 9, channel: "ipc", payload: "own")])
        // A server given back to the pool instead keeps nothing for the next client.
        s.unlink()
        s.park(notification: Self.bytes([.notificationResponse(processID: 1, channel: "x", payload: "y")]))
        s.unlink()
        s.link(clientPID: 3)
        #expect(s.outgoing.isEmpty)
    }

    @Test func errorRaisedForPostgreSQLLosesThePLpgSQLContext() throws {
        var s = Self.linked()
        _ = s.clientWrote([.parse(statement: nil, injected: true), .injectedBind, .raise, .sync])
        let raised = BackendMessage.errorResponse(ErrorFields([
            (UInt8(ascii: "S"), "ERROR"), (UInt8(ascii: "C"), "26000"), (UInt8(ascii: "M"), "prepared statement \"x\" does not exist"),
            (UInt8(ascii: "W"), "PL/pgSQL function inline_code_block line 1 at RAISE"),
        ]))
        var notes: [ServerNote] = []
        try s.read(Self.bytes([.parseComplete, .bindComplete, raised, .readyForQuery(.idle)])) { notes.append($0) }
        let expected = BackendMessage.errorResponse(ErrorFields([
            (UInt8(ascii: "S"), "ERROR"), (UInt8(ascii: "C"), "26000"), (UInt8(ascii: "M"), "prepared statement \"x\" does not exist"),
        ]))
        #expect(try Self.delivered(&s) == [expected, .readyForQuery(.idle)])
        #expect(notes == [.error(sqlState: "26000"), .ready(.idle)])
        #expect(s.quiet)
        // A client's own error keeps its context.
        _ = s.clientWrote([.query])
        try s.read(Self.bytes([raised, .readyForQuery(.idle)])) { _ in }
        #expect(try Self.delivered(&s) == [raised, .readyForQuery(.idle)])
    }

    @Test func fatalErrorToTheClientIsRemembered() throws {
        var s = Self.linked()
        _ = s.clientWrote([.query])
        try s.read(Self.bytes([.errorResponse(ErrorFields([(UInt8(ascii: "S"), "ERROR"), (UInt8(ascii: "V"), "ERROR"), (UInt8(ascii: "C"), "57014")]))])) { _ in }
        #expect(!s.toldFatal)
        var notes: [ServerNote] = []
        try s.read(Self.bytes([.errorResponse(ErrorFields([
            (UInt8(ascii: "S"), "FATAL"), (UInt8(ascii: "V"), "FATAL"), (UInt8(ascii: "C"), "57P01"),
            (UInt8(ascii: "M"), "terminating connection due to administrator command"),
        ]))])) { notes.append($0) }
        #expect(s.toldFatal && notes == [.error(sqlState: "57P01")])
        s.unlink()
        s.link()
        #expect(!s.toldFatal)
    }
}

