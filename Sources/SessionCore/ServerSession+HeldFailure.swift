// The failures a server's answer may hold back while the client decides: a stale cached plan sent again on the same
// server, or a 25006 refusal the client may take to another node.
import NIOCore
import PGWire

extension ServerSession {
    /// An ErrorResponse, its fields read once: a stale cached plan retires its statement and may be held for a retry;
    /// the error pgswift had the server raise loses its PL/pgSQL CONTEXT; the rest is counted as the client sees it.
    /// A verdict when the frame is handled here, nil when it goes the usual way (then through the reply queue).
    mutating func error(_ body: ByteBuffer, note: (ServerNote) -> Void) -> FrameVerdict? {
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
    mutating func heldReady(_ body: ByteBuffer, note: (ServerNote) -> Void) -> FrameVerdict {
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
