// How a client connection ends: its server given back as ServerReturn decides, the client forgotten, logged and counted.
import Logging
import NIOCore
import PGWire
import PoolCore
import SessionCore

extension ClientConnection {
    /// Gives the server back (clean or not) and forgets the client; safe to call more than once.
    func finish(reason: String) {
        eventLoop.assertInEventLoop()
        let previous = state
        // Clients waiting for this one's miss go to a server themselves.
        endRecording(kept: nil)
        state = .closed
        endLoginTimer()
        if welcomed { runtime.cancelRegistry.unregister(pid: startup.cancelPID) }
        switch previous {
        case .linked(let link):
            // A commit may have gone through without its answer reaching the client.
            cacheUnitEnded()
            let (letGo, statements) = session.leave()
            shelveLink()
            let server = link.server
            server.eventLoop.execute { server.giveBack(letGo, returning: statements) }
            logClose(reason)
            link.pool.routes?.clientLeft(waiterID)
        case .pooled(let pool):
            if session.phase == .waiting { pool.cancelWait(self) }
            logClose(reason)
            pool.routes?.clientLeft(waiterID)
        case .admin:
            logClose(reason)
        case .startup, .authenticating, .lookingUp, .closed:
            break
        }
        let registry = runtime.connections(on: eventLoop)
        if registry.clients.removeValue(forKey: waiterID) != nil, let counters {
            // The client leaves the registry, so what its rewriter counted moves into the pool's totals.
            counters.totals.clientParses += session.rewriter.clientParses
            counters.totals.serverParses += session.rewriter.serverParses
            counters.totals.binds += session.rewriter.binds
        }
        if admitted {
            admitted = false
            runtime.clientGone()
        }
    }

    /// The timer's task and closure are dropped with it: an idle client keeps nothing of its login.
    func endLoginTimer() {
        login?.timer?.cancel()
        login = nil
    }

    func logLoginAttempt(_ note: String) {
        if runtime.settings.logConnections {
            runtime.logger.info("C-\(waiterID): \(startup.database)/\(startup.user)@\(startup.peerText) login attempt: db=\(startup.database) user=\(startup.user) tls=\(startup.tls ? "yes" : "no")\(note)")
        }
    }

    func logClose(_ reason: String) {
        if runtime.settings.logDisconnections {
            runtime.logger.info("C-\(waiterID): \(startup.database)/\(startup.user)@\(startup.peerText) closing because: \(reason) (age=\(startup.age)s)")
        }
    }

    /// Sends a FATAL ErrorResponse and closes; the server link, if any, is released first.
    func sendFatal(_ error: PGError) {
        guard let context else { return }
        if case .closed = state {} else {
            countError(error)
            finish(reason: error.message)
        }
        var out = context.channel.allocator.buffer(capacity: 128)
        error.encode(into: &out)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(out)).whenComplete { _ in channel.close(promise: nil) }
    }

    func close() {
        finish(reason: "client close request")
        context?.close(promise: nil)
    }
}
