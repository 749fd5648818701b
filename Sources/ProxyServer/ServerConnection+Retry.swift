// A Bind failed with "cached plan must not change result type" (DDL that did not pass through pgswift): its batch is
// sent again, once, with the statement prepared anew, and the client never sees the failure.
import NIOCore
import PGWire
import PoolCore

/// The server's side of one such retry: the error and ReadyForQuery held back until the client has decided.
struct HeldFailure {
    var error: ByteBuffer?
    var ready: ByteBuffer?
    /// The error was held; its ReadyForQuery has not arrived yet.
    var awaitingReady = false
    /// Both arrived: the client is asked at the end of this read.
    var askClient = false
    /// The client (on another thread) has been asked and has not answered.
    var asked = false
    /// Declined before the client was asked: the two frames go out at the next cut, in place of the ReadyForQuery.
    var release: [ByteBuffer] = []
}

extension ServerConnection {
    /// PostgreSQL raises this from RevalidateCachedQuery; the routine name, unlike the message, is not translated.
    static func isCachedPlanError(_ body: ByteBuffer) -> Bool {
        guard let fields = ErrorFields.parse(body) else { return false }
        return fields.sqlState == "0A000" && fields["R"] == "RevalidateCachedQuery"
    }

    /// Whether a frame the server sent belongs to a retry: nil for frames that go the usual way.
    func retryVerdict(_ type: UInt8, _ body: ByteBuffer) -> FrameVerdict? {
        if held.awaitingReady {
            guard type == BackendMessage.Code.readyForQuery else { return nil }
            held.awaitingReady = false
            let ready = Self.frame(type, body)
            if replies.isEmpty, linkedClient != nil {
                var b = body
                if let raw = b.readInteger(as: UInt8.self), let s = TransactionStatus(rawValue: raw) { lastStatus = s }
                held.ready = ready
                held.askClient = true
            } else {
                // The client sent more meanwhile: the failure stands, and goes out where it happened.
                var b = body
                observe(type, &b)
                held.release = [held.error!, ready]
                held.error = nil
            }
            return .drop
        }
        guard type == BackendMessage.Code.errorResponse, !replies.isEmpty, Self.isCachedPlanError(body) else { return nil }
        // DDL happened elsewhere and which statements it touched is unknown: every shared statement is prepared anew
        // on its next use, wherever, so a client that prepares the statement again (asyncpg, pgjdbc) gets a fresh one.
        runtime.statementCatalog.schemaChanged()
        // Sent again only outside a transaction block (the failed implicit transaction left nothing behind), and only
        // when the batch is all that is outstanding (nothing after it has reached the server).
        guard lastStatus == .idle, replies.failedBindIsAlone else { return nil }
        replies.abandonBatch(failed: &failedParses)
        held.error = Self.frame(type, body)
        held.awaitingReady = true
        return .drop
    }

    /// At the end of a read that completed a held failure: the client sends its batch again, or the failure goes out.
    func askClientToRetry() {
        held.askClient = false
        guard let peer = linkedClient else { return releaseHeld() }
        let answered = readyCount
        if linkedSameLoop {
            guard let (frames, replies) = peer.batchForRetry(on: self, answered: answered) else { return releaseHeld() }
            held = HeldFailure()
            writeFromClient(frames, expected: replies)
        } else {
            held.asked = true
            peer.eventLoop.execute {
                if let (frames, replies) = peer.batchForRetry(on: self, answered: answered) {
                    self.eventLoop.execute { self.retryAccepted(frames, replies) }
                } else {
                    self.eventLoop.execute { if self.held.asked { self.releaseHeld() } }
                }
            }
        }
    }

    /// The client on another thread sent its batch again. Had it sent anything after the failed batch first, it
    /// would have declined (and that would already have let the failure out).
    private func retryAccepted(_ frames: [ByteBuffer], _ replies: [PendingReply]) {
        guard held.asked else { return }
        held = HeldFailure()
        writeFromClient(frames, expected: replies)
    }

    /// The failure goes to the client after all, where it happened, answered as any other.
    func releaseHeld() {
        let error = held.error, ready = held.ready
        held = HeldFailure()
        guard let error, let ready else { return }
        readyCount += 1
        countReady()
        outgoing.append(contentsOf: [error, ready])
        deliverToClient()
    }

    static func frame(_ type: UInt8, _ body: ByteBuffer) -> ByteBuffer {
        var out = ByteBufferAllocator().buffer(capacity: 5 + body.readableBytes)
        out.writeInteger(type)
        out.writeInteger(Int32(4 + body.readableBytes))
        out.writeImmutableBuffer(body)
        return out
    }
}
