// ClientConnection's side of a lease: a server assigned by the pool is linked, and (outside session mode) given back.
import NIOCore
import PGWire
import PoolCore
import SessionCore

extension ClientConnection {
    /// Asks `pool` for a server, once neither the pooler nor the database is paused (checked without a lock or a
    /// closure when nothing is, as for every transaction in transaction mode).
    func requestServer(from pool: ServerPool, now: NIODeadline) {
        if runtime.mayBePaused {
            runtime.whenNotPaused(database: pool.key.database) { pool.lease(for: self, now: .now()) }
        } else {
            pool.lease(for: self, now: now)
        }
    }

    /// Queued for a server (the pool's answer is still for this client).
    var isWaiting: Bool {
        if case .pooled = state { return session.phase == .waiting }
        return false
    }

    // MARK: PoolWaiter

    func serverAssigned(_ server: ServerConnection, now: NIODeadline) {
        guard eventLoop.inEventLoop else { return eventLoop.execute { self.serverAssigned(server, now: .now()) } }
        guard case .pooled(let pool) = state, isWaiting else {
            // Gone while waiting: the server was never touched, so it goes straight back.
            server.eventLoop.execute { server.giveBack(.untouched) }
            return
        }
        let desired = desiredSettings, start = unitStart
        // Same thread (the usual case, by affinity): no hop and no closure, so a lease costs no extra loop turn.
        if server.eventLoop === eventLoop {
            prepareLink(server, pool: pool, desired: desired, start: start, now: now)
        } else {
            server.eventLoop.execute { self.prepareLink(server, pool: pool, desired: desired, start: start, now: .now()) }
        }
    }

    /// On the server's loop: checks the server if server_check_delay says so, then brings its settings in line.
    /// `start`: what the unit needs of the link (the BEGIN statements of a unit taken back from a demoted node, run after
    /// the settings; whether a refusal is held).
    private func prepareLink(_ server: ServerConnection, pool: ServerPool, desired: [String: String], start: UnitStart, now: NIODeadline) {
        // It closed after the pool assigned it (a node that just died): nothing would ever answer on it.
        guard server.isOpenAndIdle else { return serverVanished(server, pool: pool) }
        if let routes = pool.routes, let node = pool.node, routes.positionToConfirm(client: waiterID, node: node) != nil {
            return confirmReplay(server, pool: pool, routes: routes, node: node, desired: desired, start: start)
        }
        guard let check = server.target.check(idleSince: server.lastActivity, now: now) else {
            return syncSettings(server, pool: pool, desired: desired, start: start, now: now)
        }
        server.runInternal(check) { error in
            guard error == nil else {
                // A server that fails its check is closed, and the client asks the pool again.
                self.runtime.logger.info("server \(server.address) pid \(server.backendPID) failed server_check_query: \(error!.message)")
                server.giveBack(.internalFailed)
                self.eventLoop.execute { if self.isWaiting { pool.lease(for: self, now: .now()) } }
                return
            }
            self.syncSettings(server, pool: pool, desired: desired, start: start, now: .now())
        }
    }

    /// On the server's loop: the server assigned to this client is gone; the client asks again (routed anew).
    private func serverVanished(_ server: ServerConnection, pool: ServerPool) {
        server.giveBack(.internalFailed)
        eventLoop.execute { if self.isWaiting { self.lease(from: pool, now: .now()) } }
    }

    /// On the server's loop: a replica chosen for a read after the client's write first says it has replayed that
    /// write; if it has not, it goes back and the client asks again (and reads from the primary).
    private func confirmReplay(_ server: ServerConnection, pool: ServerPool, routes: NodeRoutes, node: Int, desired: [String: String],
                               start: UnitStart) {
        let client = waiterID
        server.replayPosition { position in
            if routes.confirmed(client: client, node: node, position: position) {
                return self.syncSettings(server, pool: pool, desired: desired, start: start, now: .now())
            }
            server.giveBack(position == nil ? .internalFailed : .done(keepsSession: false, pinned: false))
            self.eventLoop.execute { if self.isWaiting { self.lease(from: pool, now: .now()) } }
        }
    }

    /// On the server's loop: applies the client's settings where the server's differ, then links the two.
    private func syncSettings(_ server: ServerConnection, pool: ServerPool, desired: [String: String], start: UnitStart, now: NIODeadline) {
        let sql = SessionSync.statements(desired: desired, server: server.sessionSettings, reported: server.parameters)
        if sql.isEmpty { return begin(server, pool: pool, desired: desired, start: start, now: now) }
        server.runInternal(sql) { error in
            guard error == nil else { return self.settled(server, pool: pool, desired: desired, start: start, error: error, now: .now()) }
            self.begin(server, pool: pool, desired: desired, start: start, now: .now())
        }
    }

    /// Its own query, not the settings': SET statements in the same text would join the transaction it begins.
    private func begin(_ server: ServerConnection, pool: ServerPool, desired: [String: String], start: UnitStart, now: NIODeadline) {
        if start.prologue.isEmpty { return settled(server, pool: pool, desired: desired, start: start, error: nil, now: now) }
        server.runInternal(start.prologue.joined(separator: ";\n")) { error in
            self.settled(server, pool: pool, desired: desired, start: start, error: error, now: .now())
        }
    }

    private func settled(_ server: ServerConnection, pool: ServerPool, desired: [String: String], start: UnitStart, error: PGError?,
                         now: NIODeadline) {
        if error == nil, !server.isOpenAndIdle { return serverVanished(server, pool: pool) }
        var lentNow: ServerStatementCache?
        if error == nil {
            server.sessionSettings = desired
            lentNow = server.link(self, now: now)
            // A host the router chose by its role: a refusal of the unit as a write is held for the client to send elsewhere.
            server.session.holdsRefusedWrite = start.holdsRefusal && pool.node != nil
        }
        let lent = lentNow
        if eventLoop.inEventLoop {
            linkCompleted(server, pool: pool, parameters: server.parameters, statements: lent, error: error, now: now)
        } else {
            let params = server.parameters
            eventLoop.execute { self.linkCompleted(server, pool: pool, parameters: params, statements: lent, error: error) }
        }
    }

    /// `statements`: those the server lent for the link (nil when it failed to apply the settings).
    func linkCompleted(_ server: ServerConnection, pool: ServerPool, parameters: [String: String], statements: ServerStatementCache?,
                       error: PGError?, now: NIODeadline = .now()) {
        eventLoop.assertInEventLoop()
        guard isWaiting, context != nil, let statements else {
            // The client left while its parameters were being applied, or they could not be applied.
            let keepsSession = session.mode == .session
            server.eventLoop.execute {
                server.giveBack(error == nil ? .done(keepsSession: keepsSession, pinned: false) : .internalFailed, returning: statements)
            }
            if let error, isWaiting { sendFatal(PGError(error.sqlState, error.message, severity: Severity.fatal)) }
            return
        }
        endLoginTimer()
        if let counters {
            counters.totals.serverAssignments += 1
            let waited = (now - session.clock.waitStarted).nanoseconds
            counters.totals.waitTime += Int(waited / 1000)
            counters.timeWait(waited)
        }
        if !welcomed { sendWelcome(parameters: parameters) }
        adopt(server, pool: pool, statements: statements, now: now)
    }

    /// The server is this client's now (a new lease, or a pinned one after the probe): what the client said
    /// meanwhile goes to it, and the session says whether the link is needed at all.
    func adopt(_ server: ServerConnection, pool: ServerPool, statements: ServerStatementCache, now: NIODeadline = .now()) {
        let link = ServerLink(server: server, pool: pool, sameLoop: server.eventLoop === eventLoop)
        state = .linked(link)
        runtime.connections(at: loopIndex).linkShelf.lend(to: &session)
        startWriteRetry(pool: pool)
        let (action, resume) = session.linked(statements: statements, catalog: runtime.statementCatalog)
        // A gate belongs to its link: a new link starts without one.
        holdBack(resume ? [.held, .gate] : .gate, false)
        flush(to: link, now: now)
        run(action, now: now)
    }

    func reroute() {
        guard eventLoop.inEventLoop else { return eventLoop.execute { self.reroute() } }
        guard isWaiting, case .pooled(let pool) = state else { return }
        lease(from: pool, now: .now())
    }

    func poolFailed(_ failure: PGErrorInfo) {
        guard eventLoop.inEventLoop else { return eventLoop.execute { self.poolFailed(failure) } }
        guard isWaiting else { return }
        if failure.timedOut { return timedOut(.queryWait) }
        // A host of a split entry that cannot be reached fails this unit of work only: the router sends the next one
        // elsewhere (a new primary), so the client keeps its connection. A plain pool closes it, as PgBouncer does.
        if case .pooled(let pool) = state, pool.node != nil, welcomed, let (requests, resume) = session.cancelQueued() {
            if resume { holdBack(.held, false) }
            return answerHeld(requests: requests, with: PGError(failure.sqlState, "pgswift: \(failure.message)", severity: Severity.error))
        }
        sendFatal(PGError(failure.sqlState, failure.message, severity: Severity.fatal))
    }
}
