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
    public internal(set) var readyCount = 0
    public internal(set) var status = TransactionStatus.idle
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
    public internal(set) var toldFatal = false
    var replies = PendingReplies()
    var synthesized: [SyntheticReply] = []
    var failedParses: [FailedParse] = []
    /// A failure held back while its batch may be sent again.
    public internal(set) var held = HeldFailure()
    /// The link is to a host the router sent a unit of work to by its role: a first batch refused as a write in a
    /// read-only transaction (25006, a node demoted since its last check) is held for the client to send elsewhere.
    public var holdsRefusedWrite = false
    /// `readyCount` when bytes last went to the client: while the two are equal, the bytes waiting for the client
    /// are all the current request's, and a failure of it can be taken back whole.
    var deliveredReady = 0
    /// The server's process id, and the one the linked client was given (pgswift's own, from BackendKeyData): a
    /// notification the client's own session sent must carry the pid the client knows.
    public var backendPID: Int32 = 0
    private var clientPID: Int32 = 0
    /// A notification rewritten for the client, written where the server's was dropped.
    var rewritten: ByteBuffer?
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

    mutating func observe(_ type: UInt8, _ body: inout ByteBuffer, note: (ServerNote) -> Void) {
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
}
