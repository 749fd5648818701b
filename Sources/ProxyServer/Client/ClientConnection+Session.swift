// Transaction mode: the session probe after a transaction that may have changed the session, and what it found.
import NIOCore
import PGWire
import PoolCore
import SessionCore

extension ClientConnection {
    /// The transaction is over and may have changed the session: the server comes back with its statements and is
    /// asked what is left; the client's next bytes are held meanwhile.
    func startProbe(_ link: ServerLink, custom: Set<String>, statements: ServerStatementCache) {
        let server = link.server, pool = link.pool
        let onServerLoop: @Sendable () -> Void = {
            server.statementsReturned(statements)
            // A cancel still on its way could hit the probe; it waits for them like a release does.
            server.whenCancelsDone { server.probeSession(custom: custom) { result in
                // Pinned: the server stays this client's, so it is linked again before anyone else can lease it.
                let pinned = (try? result.get())?.pinReasons.isEmpty == false
                let lent = pinned ? server.link(self) : nil
                if self.eventLoop.inEventLoop {
                    self.probed(server, pool: pool, result, lent: lent)
                } else {
                    self.eventLoop.execute { self.probed(server, pool: pool, result, lent: lent) }
                }
            } }
        }
        if link.sameLoop { onServerLoop() } else { server.eventLoop.execute(onServerLoop) }
    }

    private func probed(_ server: ServerConnection, pool: ServerPool, _ result: Result<SessionSnapshot, PGError>, lent: ServerStatementCache?) {
        guard case .pooled = state, session.phase == .settling else {
            // The client left while the server answered: a pinned session is cleared (or closed), a clean one reused.
            let pinned = lent != nil, failed = (try? result.get()) == nil
            server.eventLoop.execute { server.giveBack(failed ? .internalFailed : .done(keepsSession: pinned, pinned: pinned), returning: lent) }
            return
        }
        switch result {
        case .failure(let error):
            runtime.logger.warning("C-\(waiterID): session probe failed: \(error.message); closing that server connection")
            // The transaction ended all the same: its write holds the client's reads as any other's.
            if routedWrite, let routes = pool.routes {
                routedWrite = false
                _ = routes.writeEnded(client: waiterID, now: runtime.now())
            }
            server.eventLoop.execute { server.giveBack(.internalFailed) }
            run(session.probed(pinReasons: nil, now: .now()))
        case .success(let snapshot):
            sessionSettings = snapshot.settings
            let action = session.probed(pinReasons: snapshot.pinReasons, now: .now())
            if let lent {
                adopt(server, pool: pool, statements: lent)
                // Notifications that came during the probe wait in the server's outgoing bytes.
                if server.eventLoop === eventLoop { server.deliverToClient() } else { server.eventLoop.execute { server.deliverToClient() } }
            } else if routedWrite, let routes = pool.routes {
                giveBackAfterWrite(server, routes: routes, letGo: .done(keepsSession: false, pinned: false), statements: nil,
                                   sameLoop: server.eventLoop === eventLoop)
                run(action)
            } else {
                server.eventLoop.execute { server.giveBack(.done(keepsSession: false, pinned: false)) }
                run(action)
            }
        }
    }
}
