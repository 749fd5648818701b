// Transaction mode: the session probe after a transaction that may have changed the session, and what it found.
import NIOCore
import PGWire
import PoolCore
import SessionCore

extension ClientConnection {
    /// The transaction is over and may have changed the session: hold the client's next bytes, ask the server.
    func startProbe(_ server: ServerConnection, pool: ServerPool) {
        session.probeAfter = false
        let customNames = session.customSettingNames
        state = .settling(pool)
        linkedServer = nil
        let onServerLoop: @Sendable () -> Void = {
            // A cancel still on its way could hit the probe; it waits for them like a release does.
            server.whenCancelsDone { server.probeSession(custom: customNames) { result in
                // Pinned: the server stays this client's, so it is linked again before anyone else can lease it.
                if case .success(let s) = result, !s.pinReasons.isEmpty { server.link(self) }
                if self.eventLoop.inEventLoop {
                    self.probed(server, pool: pool, result)
                } else {
                    self.eventLoop.execute { self.probed(server, pool: pool, result) }
                }
            } }
        }
        if server.eventLoop === eventLoop { onServerLoop() } else { server.eventLoop.execute(onServerLoop) }
    }

    private func probed(_ server: ServerConnection, pool: ServerPool, _ result: Result<SessionSnapshot, PGError>) {
        let pinnedNow: Bool
        if case .success(let s) = result { pinnedNow = !s.pinReasons.isEmpty } else { pinnedNow = false }
        guard case .settling = state else {
            // The client left while the server answered: a pinned session is cleared (or closed), a clean one reused.
            server.eventLoop.execute {
                let failed = (try? result.get()) == nil
                server.giveBack(failed ? .internalFailed : .done(keepsSession: pinnedNow, pinned: pinnedNow))
            }
            return
        }
        switch result {
        case .failure(let error):
            runtime.logger.warning("C-\(waiterID): session probe failed: \(error.message); closing that server connection")
            server.eventLoop.execute { server.giveBack(.internalFailed) }
            moveOn(pool)
        case .success(let snapshot):
            sessionSettings = snapshot.settings
            session.pinReasons = snapshot.pinReasons
            if pinnedNow {
                adoptLink(server, pool: pool)
                // Notifications that came during the probe wait in the server's outgoing bytes.
                if server.eventLoop === eventLoop { server.deliverToClient() } else { server.eventLoop.execute { server.deliverToClient() } }
                replayHeld()
            } else {
                server.eventLoop.execute { server.giveBack(.done(keepsSession: false, pinned: false)) }
                moveOn(pool)
            }
        }
    }

    /// Unlinked again: idle, or straight back in the queue if the client already sent its next request.
    private func moveOn(_ pool: ServerPool) {
        guard !session.held.isEmpty else {
            state = .unlinked(pool)
            return
        }
        state = .waiting(pool)
        session.clock.waitStarted = .now()
        requestServer(from: pool)
    }

    /// Sends what the client said while it had no server, now that it has one.
    func replayHeld() {
        let (early, resume) = session.takeHeld()
        if resume { setReadingFromClient(true) }
        for b in early { relay(b) }
        if !session.outgoing.isEmpty || !session.expected.isEmpty, let context { channelReadComplete(context: context) }
    }
}
