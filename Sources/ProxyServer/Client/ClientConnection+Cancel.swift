// A CancelRequest for this client: forwarded to the server running its request, or answered here while it waits.
import NIOCore
import PGWire

extension ClientConnection {
    func cancelRequested() {
        guard eventLoop.inEventLoop else { return eventLoop.execute { self.cancelRequested() } }
        switch state {
        case .linked(let link):
            let server = link.server
            if link.sameLoop { server.forwardCancel(for: self) } else { server.eventLoop.execute { server.forwardCancel(for: self) } }
        case .pooled(let pool) where welcomed:
            // Still queued for a server: the held request never runs; it fails as a cancelled query would. A request
            // still arriving has not started, so the cancel finds nothing to stop (as PostgreSQL's would).
            guard let (requests, resume) = session.cancelQueued() else { return }
            pool.cancelWait(self)
            if resume { holdBack(.held, false) }
            answerHeld(requests: requests, with: .queryCanceled("canceling statement due to user request"))
        case .startup, .authenticating, .lookingUp, .pooled, .closed, .admin:
            break
        }
    }

    /// Answers the requests held for a server with `error` (a cancel's 57014, a routing refusal) and one
    /// ReadyForQuery per Query/Sync/FunctionCall.
    func answerHeld(requests: Int, with error: PGError) {
        // A miss other clients wait for ends here too: they go to a server themselves.
        cacheRequestAnswered()
        // A unit taken back inside a transaction (its BEGIN answered on the demoted node): the client believes a
        // transaction is open, and an answer that says idle would let the rest of it run in autocommit. Its
        // connection ends instead, as a direct connection to the old primary would have.
        if let retry = writeRetry, retry.rerouted, !retry.prologueTexts.isEmpty {
            writeRetry = nil
            return sendFatal(PGError(error.sqlState, error.message + " (the transaction it ran in is lost)", severity: Severity.fatal))
        }
        writeRetry = nil
        replicaBatch = nil
        // A resume still on its way (a position told, the checks after a refusal) belongs to the unit answered here.
        waitToken &+= 1
        guard let context else { return }
        var out = context.channel.allocator.buffer(capacity: 128)
        countError(error)
        error.encode(into: &out)
        for _ in 0..<requests { BackendMessage.readyForQuery(.idle).encode(into: &out) }
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
    }
}
