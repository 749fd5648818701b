// A unit of work whose first write a demoted node refused: the link is dropped as if it never ran, and the client's
// bytes wait for a server again, to be routed anew.
import NIOCore

extension ClientSession {
    /// Puts `bytes` (the refused batch as the client sent it) back where bytes wait for a server, and ends the link:
    /// the statements the server lent, to go back with it. Nil when the link has moved on since (more was sent, or
    /// half of a message), and the failure must reach the client instead. `answered`: the server's ReadyForQuery
    /// count without the held one.
    public mutating func requeue(_ bytes: [ByteBuffer], answered: Int, now: NIODeadline) -> ServerStatementCache? {
        guard phase == .linked, tracker.sent == answered + 1, !tracker.unsynced, atFrameBoundary, !gate.holding,
              held.isEmpty || holdingAfterBatch else { return nil }
        // In front of what the client sent behind the batch (held, not sent, while the link took the batch only).
        let behind = takeHeld().bytes
        for b in bytes + behind { _ = hold(b) }
        holdingAfterBatch = false
        // The abandoned link's replies will never come: what the rewriter waits for of them is dropped.
        rewriter.repliesSettled()
        phase = .waiting
        clock.waitStarted = now
        return takeLent()
    }
}
