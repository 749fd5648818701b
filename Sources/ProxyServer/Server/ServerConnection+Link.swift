// ServerConnection's side of a link: linked to a client, written to by it, and given back when it lets go.
import NIOCore
import PGWire
import PoolCore
import SessionCore

extension ServerConnection {
    /// Links the server to `peer`, which gets its prepared statements for the link (given back with the server).
    func link(_ peer: ClientConnection, now: NIODeadline = .now()) -> ServerStatementCache {
        eventLoop.preconditionInEventLoop()
        session.link(clientPID: peer.startup.cancelPID)
        state = .linked(ClientLink(client: peer, sameLoop: peer.eventLoop === eventLoop))
        lastUsed = now
        transactionStart = nil
        return session.lendStatements()
    }

    /// The client handing the server over for the session probe gives its statements back first.
    func statementsReturned(_ statements: ServerStatementCache) {
        session.statementsReturned(statements)
    }

    /// Open and between clients: what a server must be to be linked.
    var isOpenAndIdle: Bool {
        guard context != nil, case .idle = state else { return false }
        return true
    }

    /// The client lets go of the server while pgswift still uses it (the session probe).
    func unlinkForInternalUse() {
        session.unlink()
        state = .idle
    }

    /// Forwards client bytes; `flush` at the end of a read batch. `expected` lists the replies they will get
    /// (transaction mode with prepared statements carried; empty otherwise).
    func writeFromClient(_ buffers: [ByteBuffer], expected: [PendingReply], now: NIODeadline = .now()) {
        eventLoop.assertInEventLoop()
        guard let context, case .linked = state else { return }
        // The client sent more while deciding on a retry (on its thread): its failure goes first, as it happened.
        if session.held.asked { releaseHeld() }
        lastWrite = now
        if transactionStart == nil { transactionStart = lastWrite }
        let madeUpDue = !expected.isEmpty && session.clientWrote(expected)
        if buffers.count == 1 {
            context.writeAndFlush(wrapOutboundOut(buffers[0]), promise: nil)
        } else if !buffers.isEmpty {
            for b in buffers { context.write(wrapOutboundOut(b), promise: nil) }
            context.flush()
        }
        // Answers owed before anything the server has yet to say (a Parse it already had, first thing).
        if madeUpDue { deliverToClient() }
    }

    func setReading(_ on: Bool) {
        context?.channel.setOption(ChannelOptions.autoRead, value: on).whenComplete { _ in }
    }

    /// What the server side knows of itself, for the one decision of what happens when a client lets go.
    var condition: ServerCondition {
        // Statements lent and never given back are unknown: the server is not reused with them.
        ServerCondition(answered: session.readyCount, status: session.status, quiet: session.quiet,
                        open: context != nil, closeRequested: closeNeeded || session.statements == nil, hasResetQuery: !target.resetQuery.isEmpty,
                        resetAlways: target.resetAlways)
    }

    /// Every way a server comes back from a client or from pgswift's own use goes through here: ServerReturn decides,
    /// this carries it out. A client leaving must find the server still linked (it may have been given back already).
    /// `statements`: those the server lent its client, coming back with it.
    /// `now`: the time of the event that let go, when the caller has read it.
    func giveBack(_ letGo: LetGo, returning statements: ServerStatementCache? = nil, now: NIODeadline? = nil) {
        eventLoop.preconditionInEventLoop()
        if case .clientLeft = letGo, !isLinked { return }
        if let statements { session.statementsReturned(statements) }
        if case .closed = state {} else { state = .idle }
        let fate = ServerReturn.decide(letGo, condition)
        session.unlink()
        switch fate {
        case .reuse:
            // Every transaction comes here in transaction mode: no closure unless a cancel is on its way.
            if cancelsInFlight == 0 {
                pool?.release(self, reusable: true, now: now ?? .now())
            } else {
                whenCancelsDone { self.pool?.release(self, reusable: true) }
            }
        case .reset:
            // DISCARD ALL (the usual reset) drops prepared statements and settings; any other reset query might too.
            session.forgetStatements()
            sessionSettings = [:]
            whenCancelsDone {
                self.runInternal(self.target.resetQuery) { error in self.giveBack(.resetFinished(failed: error != nil)) }
            }
        case .cancelThenClose:
            runtime.cancelRegistry.sendCancel(host: address.host, port: address.port, pid: backendPID, secret: backendSecret, on: eventLoop)
            pool?.release(self, reusable: false)
        case .close:
            pool?.release(self, reusable: false)
        }
    }

    var isLinked: Bool {
        if case .linked = state { return true }
        return false
    }
}
