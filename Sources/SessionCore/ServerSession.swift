// The server side of a link as a value: what the server owes and says, ReadyForQuery counted, replies hidden or made up.
import NIOCore
import PGWire

/// What the handler must know of a frame the server sent, beyond the bytes for the client.
public enum ServerNote: Equatable, Sendable {
    /// A ReadyForQuery for the linked client: a query ended (and a transaction, when `status` is idle).
    case ready(TransactionStatus)
    /// An ErrorResponse that goes to the linked client.
    case error(sqlState: String)
    /// The server failed a Bind of this shared statement with "cached plan must not change result type".
    case planChanged(statement: Int)
    /// PostgreSQL accepted this shared statement's text and parameter types (its ParseComplete arrived).
    case accepted(statement: Int)
}

/// One server connection's protocol state, without its socket. The handler feeds it what the server sends and what
/// the client sends it, and carries the bytes it leaves in `outgoing` to the client.
public struct ServerSession: Sendable {
    /// Always read: they say when the server is free and what its parameters are.
    public static let essentialReplies = FrameTypeSet([BackendMessage.Code.readyForQuery, BackendMessage.Code.parameterStatus, BackendMessage.Code.errorResponse,
                                                       BackendMessage.Code.notificationResponse])
    /// Also read while `replies` has entries that end on other frames.
    public static let detailedReplies = FrameTypeSet([
        BackendMessage.Code.readyForQuery, BackendMessage.Code.parameterStatus, BackendMessage.Code.errorResponse,
        BackendMessage.Code.parseComplete, BackendMessage.Code.bindComplete, BackendMessage.Code.closeComplete,
        BackendMessage.Code.parameterDescription, BackendMessage.Code.rowDescription, BackendMessage.Code.noData, BackendMessage.Code.commandComplete,
        BackendMessage.Code.emptyQueryResponse, BackendMessage.Code.portalSuspended, BackendMessage.Code.copyInResponse,
        BackendMessage.Code.notificationResponse,
    ])

    private static let essentialRules = FrameRules(intercept: FrameTypeSet(), observe: essentialReplies, maxFrameLength: Int(Int32.max))
    private static let detailedRules = FrameRules(intercept: FrameTypeSet(), observe: detailedReplies, maxFrameLength: Int(Int32.max))
    private static let standIn = FrameSplitter(rules: essentialRules)
    private var splitter = standIn
    /// ReadyForQuery messages received while linked, and the status the last one carried.
    public private(set) var readyCount = 0
    public private(set) var status = TransactionStatus.idle
    /// Parameters the server reported (ParameterStatus), at login and since.
    public var parameters: [String: String] = [:]
    /// Shared prepared statements this server holds; nil while they are lent to the linked client, whose rewriter
    /// changes them until it gives them back with the server.
    public private(set) var statements: ServerStatementCache?
    /// How many there were when they were lent (what SHOW SERVERS shows meanwhile).
    public private(set) var lentCount = 0
    /// Bytes for the linked client, taken by the handler at the end of each read.
    public var outgoing: [ByteBuffer] = []
    /// The server reported a setting while linked, since the last delivery.
    public private(set) var settingReported = false
    public private(set) var linked = false
    /// A FATAL (or PANIC) error went to the linked client: the server ends the session, and the client has been told
    /// why in PostgreSQL's own words (pg_terminate_backend's 57P01, say).
    public private(set) var toldFatal = false
    var replies = PendingReplies()
    private var synthesized: [SyntheticReply] = []
    private var failedParses: [FailedParse] = []
    /// A failure held back while its batch may be sent again.
    public private(set) var held = HeldFailure()
    /// The link is to a host the router sent a unit of work to by its role: a first batch refused as a write in a
    /// read-only transaction (25006, a node demoted since its last check) is held for the client to send elsewhere.
    public var holdsRefusedWrite = false
    /// `readyCount` when bytes last went to the client: while the two are equal, the bytes waiting for the client
    /// are all the current request's, and a failure of it can be taken back whole.
    private var deliveredReady = 0
    /// The server's process id, and the one the linked client was given (pgswift's own, from BackendKeyData): a
    /// notification the client's own session sent must carry the pid the client knows.
    public var backendPID: Int32 = 0
    private var clientPID: Int32 = 0
    /// A notification rewritten for the client, written where the server's was dropped.
    private var rewritten: ByteBuffer?
    /// Notifications that arrived while pgswift used the server for itself (the session probe): the client that
    /// listens gets them when it is linked again.
    private var parked: [ByteBuffer] = []
    /// The parameter half of a statement's description while its row half has not arrived (ServerSession+Describe).
    var describing: StatementShape?
    /// Statements described since the last delivery, for the client (ServerSession+Describe).
    var described: [DescribedStatement] = []

    public init(statementCapacity: Int) {
        statements = ServerStatementCache(capacity: statementCapacity)
    }

    /// The statements go to the client being linked; the server does not read them until they come back.
    public mutating func lendStatements() -> ServerStatementCache {
        guard let out = statements else { preconditionFailure("statements lent twice") }
        lentCount = out.count
        statements = nil
        return out
    }

    public mutating func statementsReturned(_ returned: ServerStatementCache) {
        statements = returned
    }

    /// The server dropped (or may have dropped) every prepared statement: DISCARD ALL, or a reset query.
    public mutating func forgetStatements() {
        statements?.removeAll()
    }

    /// Nothing half-said, nothing owed, no failure held: what a reusable server must be (with an idle status).
    public var quiet: Bool { splitter.atFrameBoundary && replies.isEmpty && !held.awaitingReady }
    public var atFrameBoundary: Bool { splitter.atFrameBoundary }

    // MARK: link

    /// `clientPID`: the process id the client was told, or 0 to leave notifications as PostgreSQL sent them.
    public mutating func link(clientPID: Int32 = 0) {
        readyCount = 0
        linked = true
        toldFatal = false
        deliveredReady = 0
        self.clientPID = clientPID
        for frame in parked {
            var body = frame.getSlice(at: frame.readerIndex + 5, length: frame.readableBytes - 5)!
            outgoing.append(notification(&body) ?? frame)
        }
        parked.removeAll()
    }

    /// A notification that came during pgswift's own query on the server, kept for the client it belongs to.
    public mutating func park(notification frame: ByteBuffer) {
        parked.append(frame)
    }

    /// The notification with the client's pid in place of the server's, when its own session sent it; nil to leave it.
    private func notification(_ body: inout ByteBuffer) -> ByteBuffer? {
        guard clientPID != 0, let pid = body.getInteger(at: body.readerIndex, as: Int32.self), pid == backendPID else { return nil }
        var frame = ByteBufferAllocator().buffer(capacity: body.readableBytes + 5)
        frame.writeInteger(BackendMessage.Code.notificationResponse)
        frame.writeInteger(Int32(body.readableBytes + 4))
        frame.writeInteger(clientPID)
        body.moveReaderIndex(forwardBy: 4)
        frame.writeImmutableBuffer(body)
        return frame
    }

    /// The client let go (or pgswift takes the server for its own use): what was owed to the client is forgotten.
    public mutating func unlink() {
        linked = false
        holdsRefusedWrite = false
        clientPID = 0
        parked.removeAll()
        held = HeldFailure()
        settingReported = false
        replies.removeAll()
        synthesized.removeAll()
        failedParses.removeAll()
        describing = nil
        described.removeAll()
    }

    // MARK: from the client

    /// The client's bytes are on their way to the server; `expected` lists the replies they will get. Returns true
    /// when replies made up for them are due at once, or a Describe the client waits for will never be answered (sent
    /// while the server skips to Sync): the handler delivers at once.
    public mutating func clientWrote(_ expected: [PendingReply]) -> Bool {
        for reply in expected { replies.append(reply, out: &synthesized, failed: &failedParses) }
        guard !synthesized.isEmpty else { return replies.hasUnansweredDescribes }
        appendSynthesized()
        return true
    }

    // MARK: from the server

    /// Splits what the server sent into `outgoing`: frames observed, injected replies hidden, made-up ones placed.
    public mutating func read(_ buffer: ByteBuffer, note: (ServerNote) -> Void) throws {
        // The splitter is taken out while it runs, as the frames it hands over change the rest of `self`.
        var splitter = Self.standIn
        swap(&splitter, &self.splitter)
        defer { swap(&splitter, &self.splitter) }
        let rules = replies.needsFrames ? Self.detailedRules : Self.essentialRules
        if splitter.rules !== rules { splitter.rules = rules }
        try splitter.feedDirected(buffer) { event in
            switch event {
            case .bytes(let b):
                outgoing.append(b)
            case .observed(let type, var body):
                if type == BackendMessage.Code.notificationResponse {
                    guard let own = notification(&body) else { return .pass }
                    rewritten = own
                    return .drop
                }
                if held.awaitingReady, type == BackendMessage.Code.readyForQuery { return heldReady(body, note: note) }
                if type == BackendMessage.Code.errorResponse, let verdict = error(body, note: note) { return verdict }
                observe(type, &body, note: note)
                if type == BackendMessage.Code.parseComplete, let id = replies.parseDue { note(.accepted(statement: id)) }
                if let due = replies.describeDue { describes(due.statement, token: due.token, type, body) }
                if !replies.isEmpty { return replies.received(type, out: &synthesized, failed: &failedParses) }
            case .cut:
                if let own = rewritten {
                    outgoing.append(own)
                    rewritten = nil
                }
                if !held.release.isEmpty {
                    outgoing.append(contentsOf: held.release)
                    held.release.removeAll()
                }
                appendSynthesized()
            case .intercepted, .counted:
                break
            }
            return .pass
        }
    }

    /// A frame of pgswift's own query (ReadyForQuery, ParameterStatus): the status and parameters still count.
    public mutating func observeInternal(_ type: UInt8, _ body: inout ByteBuffer) {
        observe(type, &body, note: { _ in })
    }

    private mutating func observe(_ type: UInt8, _ body: inout ByteBuffer, note: (ServerNote) -> Void) {
        if type == BackendMessage.Code.readyForQuery {
            // Syncs PostgreSQL ignored during a COPY FROM STDIN run by Execute count as answered with this one (not
            // before: the link must hold until the copy's own ReadyForQuery).
            readyCount += 1 + replies.takeIgnoredSyncs()
            if let raw = body.readInteger(as: UInt8.self), let s = TransactionStatus(rawValue: raw) { status = s }
            if linked { note(.ready(status)) }
        } else if type == BackendMessage.Code.parameterStatus, let name = body.readNullTerminatedString(), let value = body.readNullTerminatedString() {
            parameters[name] = value
            // A reported setting changed by the client's SQL, possibly where no scan can see it (inside a function).
            if linked { settingReported = true }
        }
    }

    /// Writes the made-up replies that are due into the bytes for the client.
    private mutating func appendSynthesized() {
        guard !synthesized.isEmpty else { return }
        var out = ByteBufferAllocator().buffer(capacity: 16 * synthesized.count)
        for reply in synthesized {
            switch reply {
            case .parseComplete: BackendMessage.parseComplete.encode(into: &out)
            case .closeComplete: BackendMessage.closeComplete.encode(into: &out)
            case .deallocated:
                // In an aborted transaction PostgreSQL refuses the DEALLOCATE like any other command.
                if status == .failedTransaction {
                    PGError(SQLState.inFailedSQLTransaction, "current transaction is aborted, commands ignored until end of transaction block").encode(into: &out)
                } else {
                    BackendMessage.commandComplete(tag: "DEALLOCATE").encode(into: &out)
                }
                BackendMessage.readyForQuery(status).encode(into: &out)
                readyCount += 1
            }
        }
        synthesized.removeAll(keepingCapacity: true)
        outgoing.append(out)
    }

    /// What goes with the bytes to the client at the end of a read: Parses the server did not carry out, and the
    /// outcomes of made-up replies (the client's rewriter undoes what never ran); whether a setting was reported.
    public mutating func takeNews() -> (failed: [FailedParse], madeUp: [Bool], settingReported: Bool, described: [DescribedStatement]) {
        deliveredReady = readyCount
        let failed = failedParses
        if !failed.isEmpty { failedParses.removeAll() }
        let reported = settingReported
        settingReported = false
        return (failed, replies.takeOutcomes(), reported, takeDescribed())
    }

    // MARK: the stale-plan retry

    /// An ErrorResponse, its fields read once: a stale cached plan retires its statement and may be held for a retry;
    /// the error pgswift had the server raise loses its PL/pgSQL CONTEXT; the rest is counted as the client sees it.
    /// A verdict when the frame is handled here, nil when it goes the usual way (then through the reply queue).
    private mutating func error(_ body: ByteBuffer, note: (ServerNote) -> Void) -> FrameVerdict? {
        guard var fields = ErrorFields.parse(body) else { return nil }
        if !replies.isEmpty, Self.isCachedPlan(fields) {
            // PostgreSQL says this statement's result columns changed: it is retired, so a client that prepares the
            // text again (asyncpg, pgjdbc) gets a fresh one, and clients still holding it hear this failure. A Describe
            // of the statement revalidates it too.
            if let id = replies.bindDue ?? replies.describeDue?.statement { note(.planChanged(statement: id)) }
            // Sent again only outside a transaction block (the failed implicit transaction left nothing behind), and
            // only when the batch is all that is outstanding (nothing after it has reached the server).
            if status == .idle, replies.failedBindIsAlone {
                replies.abandonBatch(failed: &failedParses)
                held.error = Self.frame(BackendMessage.Code.errorResponse, body)
                held.awaitingReady = true
                return .drop
            }
        }
        // Nothing of earlier answers still waits for the client: the batch may run on the new primary instead.
        // Not with more pipelined behind it: that would run on this server, after the failure it must see. Not from a
        // server that says it is no standby (PostgreSQL 14+ reports in_hot_standby): the database itself is read-only
        // there (default_transaction_read_only), and the refusal is the answer.
        if holdsRefusedWrite, readyCount == deliveredReady, !held.awaitingReady, fields.sqlState == SQLState.readOnlySQLTransaction,
           replies.oneRequestLeft, parameters["in_hot_standby"] != "off" {
            replies.abandonBatch(failed: &failedParses)
            held.error = Self.frame(BackendMessage.Code.errorResponse, body)
            held.awaitingReady = true
            held.refusedWrite = true
            return .drop
        }
        // Counted as the client will see it (an error held back for a retry is not).
        if linked { note(.error(sqlState: fields.sqlState ?? SQLState.internalError)) }
        if replies.raisedErrorDue {
            // The error pgswift had the server raise for PostgreSQL: as PostgreSQL would send it, without the
            // PL/pgSQL CONTEXT of the DO block that raised it.
            fields.fields.removeAll { $0.code == UInt8(ascii: "W") }
            if fields.sqlState == SQLState.featureNotSupported, fields.message == RaisedError.stalePlan { RaisedError.placeAsStalePlan(&fields) }
            var frame = ByteBufferAllocator().buffer(capacity: body.readableBytes + 5)
            BackendMessage.errorResponse(fields).encode(into: &frame)
            rewritten = frame
            _ = replies.received(BackendMessage.Code.errorResponse, out: &synthesized, failed: &failedParses)
            return .drop
        }
        let severity = fields["V"] ?? fields["S"]
        if linked, severity == Severity.fatal || severity == Severity.panic { toldFatal = true }
        return nil
    }

    /// The ReadyForQuery after a held stale-plan failure: the client is asked, or (it sent more meanwhile) the failure
    /// goes out where it happened.
    private mutating func heldReady(_ body: ByteBuffer, note: (ServerNote) -> Void) -> FrameVerdict {
        held.awaitingReady = false
        let ready = Self.frame(BackendMessage.Code.readyForQuery, body)
        var b = body
        if replies.isEmpty, linked {
            if let raw = b.readInteger(as: UInt8.self), let s = TransactionStatus(rawValue: raw) { status = s }
            held.ready = ready
            held.askClient = true
        } else {
            observe(BackendMessage.Code.readyForQuery, &b, note: note)
            held.release = [held.error!, ready]
            held.error = nil
            held.refusedWrite = false
        }
        return .drop
    }

    /// PostgreSQL raises this from RevalidateCachedQuery; the routine name, unlike the message, is not translated.
    static func isCachedPlan(_ fields: ErrorFields) -> Bool {
        fields.sqlState == SQLState.featureNotSupported && fields["R"] == "RevalidateCachedQuery"
    }

    /// The client takes its refused batch elsewhere: the held refusal and what preceded it never reach anyone (the
    /// server may go on to serve another client). False when the batch's statements did not all come out as the
    /// statements lent for the link say (a Parse of pgswift's own was skipped): the server must not be reused.
    public mutating func dropUndelivered() -> Bool {
        let clean = failedParses.isEmpty && replies.takeOutcomes().isEmpty
        outgoing.removeAll()
        rewritten = nil
        held = HeldFailure()
        failedParses.removeAll()
        described.removeAll()
        deliveredReady = readyCount
        return clean
    }

    /// The held failure is complete (error and ReadyForQuery): the client is to be asked at the end of this read.
    public var retryDue: Bool { held.askClient && !held.refusedWrite }
    /// A refused write is held whole: the client is asked whether it goes elsewhere before anything of this link's
    /// answer reaches it.
    public var rerouteDue: Bool { held.askClient && held.refusedWrite }
    /// A refusal is held and its ReadyForQuery has not come: PostgreSQL flushes an error at once and the
    /// ReadyForQuery after, so what preceded the error (a RowDescription) waits with it rather than go out alone.
    public var refusalAwaitingReady: Bool { held.awaitingReady && held.refusedWrite }
    /// The client (on another thread) decides about a held refusal: bytes that arrive meanwhile (a notice) wait too,
    /// or they would take out what the refusal holds back.
    public var refusalAsked: Bool { held.asked && held.refusedWrite }

    /// The client is being asked on another thread; until it answers, client bytes let the failure out first.
    public mutating func retryAsked() {
        held.askClient = false
        held.asked = true
    }

    /// The client sends its batch again: the failure is forgotten (the handler then passes the batch to `clientWrote`).
    public mutating func retryAccepted() {
        held = HeldFailure()
    }

    /// The failure goes to the client after all, where it happened, answered as any other. Returns false when
    /// nothing was held.
    public mutating func releaseHeld(note: (ServerNote) -> Void) -> Bool {
        let error = held.error, ready = held.ready
        held = HeldFailure()
        guard let error, let ready else { return false }
        readyCount += 1
        note(.ready(status))
        outgoing.append(contentsOf: [error, ready])
        return true
    }

    public static func frame(_ type: UInt8, _ body: ByteBuffer) -> ByteBuffer {
        var out = ByteBufferAllocator().buffer(capacity: 5 + body.readableBytes)
        out.writeInteger(type)
        out.writeInteger(Int32(4 + body.readableBytes))
        out.writeImmutableBuffer(body)
        return out
    }
}

/// The server's side of one retry: the error and ReadyForQuery held back until the client has decided.
public struct HeldFailure: Sendable, Equatable {
    var error: ByteBuffer?
    var ready: ByteBuffer?
    /// The error was held; its ReadyForQuery has not arrived yet.
    public internal(set) var awaitingReady = false
    /// Both arrived: the client is asked at the end of this read.
    var askClient = false
    /// The client (on another thread) has been asked and has not answered.
    public internal(set) var asked = false
    /// Declined before the client was asked: the two frames go out at the next cut, in place of the ReadyForQuery.
    var release: [ByteBuffer] = []
    /// A write refused by a read-only node (25006), not a stale plan: its batch goes to another server if at all.
    public internal(set) var refusedWrite = false

    public init() {}
}
