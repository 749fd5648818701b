// ClientConnection's side of a lease: a server assigned by the pool is linked, and (outside session mode) given back.
import NIOCore
import PGWire
import PoolCore
import SessionCore

extension ClientConnection {
    /// Asks `pool` for a server, once neither the pooler nor the database is paused (checked without a lock or a
    /// closure when nothing is, as for every transaction in transaction mode).
    func requestServer(from pool: ServerPool) {
        if runtime.mayBePaused {
            runtime.whenNotPaused(database: pool.key.database) { pool.lease(for: self) }
        } else {
            pool.lease(for: self)
        }
    }

    // MARK: PoolWaiter

    func serverAssigned(_ server: ServerConnection) {
        guard eventLoop.inEventLoop else { return eventLoop.execute { self.serverAssigned(server) } }
        guard case .waiting(let pool) = state else {
            // Gone while waiting: the server was never touched, so it goes straight back.
            server.eventLoop.execute { server.giveBack(.done(keepsSession: false, pinned: false)) }
            return
        }
        let desired = desiredSettings
        // Same thread (the usual case, by affinity): no hop and no closure, so a lease costs no extra loop turn.
        if server.eventLoop === eventLoop {
            prepareLink(server, pool: pool, desired: desired)
        } else {
            server.eventLoop.execute { self.prepareLink(server, pool: pool, desired: desired) }
        }
    }

    /// On the server's loop: checks the server if server_check_delay says so, then brings its settings in line.
    private func prepareLink(_ server: ServerConnection, pool: ServerPool, desired: [String: String]) {
        guard let check = server.target.check(idleSince: server.lastActivity) else {
            return syncSettings(server, pool: pool, desired: desired)
        }
        server.runInternal(check) { error in
            guard error == nil else {
                // A server that fails its check is closed, and the client asks the pool again.
                self.runtime.logger.info("server \(server.target.host):\(server.target.port) pid \(server.backendPID) failed server_check_query: \(error!.message)")
                server.giveBack(.internalFailed)
                self.eventLoop.execute { if case .waiting = self.state { pool.lease(for: self) } }
                return
            }
            self.syncSettings(server, pool: pool, desired: desired)
        }
    }

    /// On the server's loop: applies the client's settings where the server's differ, then links the two.
    private func syncSettings(_ server: ServerConnection, pool: ServerPool, desired: [String: String]) {
        let sql = SessionSync.statements(desired: desired, server: server.sessionSettings, reported: server.parameters)
        if sql.isEmpty { return settled(server, pool: pool, desired: desired, error: nil) }
        server.runInternal(sql) { error in self.settled(server, pool: pool, desired: desired, error: error) }
    }

    private func settled(_ server: ServerConnection, pool: ServerPool, desired: [String: String], error: PGError?) {
        if error == nil {
            server.sessionSettings = desired
            server.link(self)
        }
        if eventLoop.inEventLoop {
            linkCompleted(server, pool: pool, parameters: server.parameters, error: error)
        } else {
            let params = server.parameters
            eventLoop.execute { self.linkCompleted(server, pool: pool, parameters: params, error: error) }
        }
    }

    func linkCompleted(_ server: ServerConnection, pool: ServerPool, parameters: [String: String], error: PGError?) {
        eventLoop.assertInEventLoop()
        guard case .waiting = state, context != nil else {
            // The client left while its parameters were being applied.
            let keepsSession = session.mode == .session
            server.eventLoop.execute { server.giveBack(error == nil ? .done(keepsSession: keepsSession, pinned: false) : .internalFailed) }
            return
        }
        if let error {
            server.eventLoop.execute { server.giveBack(.internalFailed) }
            return sendFatal(PGError(error.sqlState, error.message, severity: Severity.fatal))
        }
        loginTimer?.cancel()
        if let counters {
            counters.totals.serverAssignments += 1
            let waited = (NIODeadline.now() - session.clock.waitStarted).nanoseconds
            counters.totals.waitTime += Int(waited / 1000)
            counters.timeWait(waited)
        }
        adoptLink(server, pool: pool)
        if !welcomed { sendWelcome(parameters: parameters) }
        replayHeld()
        if session.mode != .session, linkedServer != nil {
            // Nothing asked of the server yet (the welcome's lease): outside session mode it goes back at once.
            act(on: session.tracker.decide(mode: session.mode, answered: 0, status: .idle, atBoundary: session.atFrameBoundary))
        }
    }

    /// The server is this client's now (a new lease, or a pinned one after the probe): counting starts again.
    func adoptLink(_ server: ServerConnection, pool: ServerPool) {
        state = .linked
        linkedServer = server
        currentPool = pool
        linkedSameLoop = server.eventLoop === eventLoop
        session.linked()
    }

    /// Outside session mode, what LinkTracker decided after the server answered: give the server back if the client
    /// is between transactions, or refuse a transaction in statement mode.
    func act(on decision: LinkDecision) {
        eventLoop.assertInEventLoop()
        // Read from the plain properties: matching `state` here would copy its payload on every answer.
        guard let server = linkedServer, let pool = currentPool else { return }
        switch decision {
        case .keep:
            return
        case .release:
            if session.probeAfter { return startProbe(server, pool: pool) }
            // Pinned (LISTEN, an advisory lock, ...): the server stays until a probe finds the state undone.
            if session.pinned { return }
            state = .unlinked(pool)
            linkedServer = nil
            if server.eventLoop === eventLoop {
                server.giveBack(.done(keepsSession: false, pinned: false))
            } else {
                server.eventLoop.execute { server.giveBack(.done(keepsSession: false, pinned: false)) }
            }
        case .refuseTransaction:
            sendFatal(PGError(SQLState.protocolViolation, "transaction blocks not allowed in statement pooling mode", severity: Severity.fatal))
        }
    }

    func poolFailed(_ failure: PGErrorInfo) {
        guard eventLoop.inEventLoop else { return eventLoop.execute { self.poolFailed(failure) } }
        guard case .waiting = state else { return }
        if failure.timedOut { return timedOut(.queryWait) }
        sendFatal(PGError(failure.sqlState, failure.message, severity: Severity.fatal))
    }
}
