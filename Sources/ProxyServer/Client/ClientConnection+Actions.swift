// The one place a ClientSession's decision turns into I/O: the client written to, a server asked for or given back,
// the probe started, the client closed.
import NIOCore
import PGWire
import PoolCore
import SessionCore

extension ClientConnection {
    /// `now`: the time of the event that led to `action`, when the caller has read it.
    func run(_ action: ClientAction, now: NIODeadline? = nil) {
        eventLoop.assertInEventLoop()
        switch action {
        case .none:
            return
        case .reply(let bytes):
            counters?.totals.sent += bytes.readableBytes
            context?.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
        case .lease(let stopReading):
            if stopReading { holdBack(.held, true) }
            guard case .pooled(let pool) = state else { return }
            lease(from: pool, now: now ?? .now())
        case .stopReading(let why):
            holdBack(why, true)
        case .resumeReading(let why):
            holdBack(why, false)
        case .release(let letGo, let statements):
            release(letGo, statements, now: now)
        case .releaseThenLease(let letGo, let statements):
            guard case .linked(let link) = state else { return }
            release(letGo, statements, now: now)
            // What the client sent behind the batch its link took is a unit of its own, routed now.
            lease(from: link.pool, now: now ?? .now())
        case .probe(let custom, let statements):
            guard case .linked(let link) = state else { return }
            state = .pooled(link.pool)
            shelveLink()
            if session.sentDDL { ddlSent(link.pool) }
            startProbe(link, custom: custom, statements: statements)
        case .leave:
            flushToServer()
            finish(reason: "client close request")
            context?.close(promise: nil)
        case .fail(let error):
            flushToServer()
            sendFatal(error)
        case .timedOut(let limit):
            timedOut(limit)
        }
    }

    /// The server goes back (after its write's position is learned, when the unit may have written).
    private func release(_ letGo: LetGo, _ statements: ServerStatementCache, now: NIODeadline?) {
        guard case .linked(let link) = state else { return }
        state = .pooled(link.pool)
        shelveLink()
        let server = link.server
        if session.sentDDL { ddlSent(link.pool) }
        if routedWrite, let routes = link.pool.routes {
            return giveBackAfterWrite(server, routes: routes, letGo: letGo, statements: statements, sameLoop: link.sameLoop)
        }
        if link.sameLoop {
            server.giveBack(letGo, returning: statements, now: now)
        } else {
            server.eventLoop.execute { server.giveBack(letGo, returning: statements) }
        }
    }

    /// The link ended: its storage goes back to the loop's shelf, so the client holds none of it while idle.
    func shelveLink() {
        runtime.connections(at: loopIndex).linkShelf.takeBack(from: &session)
    }
}
