// A Bind failed with "cached plan must not change result type" (DDL that did not pass through pgswift): its batch is
// sent again, once, with the statement prepared anew, and the client never sees the failure.
import NIOCore
import PGWire
import PoolCore
import SessionCore

extension ServerConnection {
    /// At the end of a read that completed a held failure: the client sends its batch again, or the failure goes out.
    func askClientToRetry() {
        session.retryAsked()
        guard case .linked(let link) = state else { return releaseHeld() }
        let peer = link.client, answered = session.readyCount
        if link.sameLoop {
            guard let (frames, replies) = peer.batchForRetry(on: self, answered: answered) else { return releaseHeld() }
            session.retryAccepted()
            writeFromClient(frames, expected: replies)
        } else {
            peer.eventLoop.execute {
                if let (frames, replies) = peer.batchForRetry(on: self, answered: answered) {
                    self.eventLoop.execute { self.retryAccepted(frames, replies) }
                } else {
                    self.eventLoop.execute { if self.session.held.asked { self.releaseHeld() } }
                }
            }
        }
    }

    /// At the end of a read that completed a held 25006 refusal: the client takes its batch elsewhere (and lets this
    /// server go), or the failure goes out.
    func askClientToReroute() {
        session.retryAsked()
        guard case .linked(let link) = state else { return releaseHeld() }
        let peer = link.client, answered = session.readyCount
        if link.sameLoop {
            if !peer.rerouteRefusedWrite(from: self, answered: answered) { releaseHeld() }
        } else {
            peer.eventLoop.execute {
                guard !peer.rerouteRefusedWrite(from: self, answered: answered) else { return }
                self.eventLoop.execute { if self.session.held.asked { self.releaseHeld() } }
            }
        }
    }

    /// The client on another thread sent its batch again. Had it sent anything after the failed batch first, it
    /// would have declined (and that would already have let the failure out).
    private func retryAccepted(_ frames: [ByteBuffer], _ replies: [PendingReply]) {
        guard session.held.asked else { return }
        session.retryAccepted()
        writeFromClient(frames, expected: replies)
    }

    /// The failure goes to the client after all, where it happened, answered as any other.
    func releaseHeld() {
        guard session.releaseHeld(note: { self.act($0) }) else { return }
        deliverToClient()
    }
}
