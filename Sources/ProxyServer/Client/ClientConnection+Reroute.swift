// A write refused with 25006 where the router expected it to run: by a host that was the primary at its last check
// (demoted since), the unit is taken back whole and, once the entry's hosts are checked again, sent to the primary
// they find; by a replica (a function that writes), the statement runs on the primary at once.
import NIOCore
import PGWire
import PoolCore
import SessionCore

/// What the server being linked needs to know of the unit it takes.
struct UnitStart: Sendable {
    /// BEGIN statements of a unit taken back from a demoted node: the new server runs them first.
    var prologue: [String] = []
    /// The unit was routed by the node's role and can be taken back: a 25006 refusal is held for the client to decide.
    var holdsRefusal = false
}

extension ClientConnection {
    /// A unit of work starts on `pool` with the held bytes: kept for a retry when the router sent it by role.
    func startWriteRetry(pool: ServerPool) {
        // A pinned client linked again after its probe: no unit was routed for it.
        guard !session.pinned else {
            replicaBatch = nil
            writeRetry = nil
            return
        }
        // Only kept (no copy, no scan) until the answer starts: most reads never need it.
        replicaBatch = replicaStatement && pool.node != nil && !session.held.isEmpty ? session.held : nil
        if writeRetry?.rerouted == true {
            // The retried unit is linked: its one retry is spent.
            writeRetry = nil
            return
        }
        writeRetry = pool.node != nil && primaryUnit && !session.held.isEmpty ? WriteRetry(first: session.held) : nil
    }

    /// What the lease being granted tells its server (read on the client's loop, used on the server's).
    var unitStart: UnitStart {
        var start = UnitStart()
        if let retry = writeRetry, retry.rerouted { start.prologue = retry.prologue }
        start.holdsRefusal = session.mode != .session && (primaryUnit || replicaStatement)
        return start
    }

    /// The client's bytes went to its server while the unit may still be retried.
    func writeRetrySent(_ buffer: ByteBuffer) {
        if writeRetry != nil { writeRetry!.sent(buffer) }
        // More than the one statement: a retry could not send it all again.
        replicaBatch = nil
    }

    /// Server bytes reached the client, with `answered` ReadyForQuery messages on this link so far: past the unit's
    /// BEGIN, a retry would repeat what the client has seen.
    func writeRetryDelivered(answered: Int, status: TransactionStatus) {
        replicaBatch = nil
        guard var retry = writeRetry, !retry.rerouted else { return }
        // Moved out while it changes, so its arrays stay unshared.
        writeRetry = nil
        let ready = answered - retry.answered
        retry.answered = answered
        if retry.delivered(ready: ready, status: status) { writeRetry = retry }
    }

    /// Asked by the linked server, which holds a 25006 refusal of this client's batch and nothing of its answer went
    /// out (`answered`: its ReadyForQuery count without the held one). True when the batch goes elsewhere: the
    /// server is let go, and the client leases again (after the entry's hosts are checked, for a write).
    func rerouteRefusedWrite(from server: ServerConnection, answered: Int) -> Bool {
        eventLoop.assertInEventLoop()
        guard case .linked(let link) = state, link.server === server else { return false }
        if let batch = replicaBatch { return rerouteRead(batch, link: link, answered: answered) }
        guard var retry = writeRetry, !retry.rerouted, retry.replayable, let routes = link.pool.routes, runtime.settings.healthCheckPeriod > 0,
              let statements = session.requeue(retry.batch, answered: answered, now: .now()) else { return false }
        retry.rerouted = true
        writeRetry = retry
        routedWrite = false
        state = .pooled(link.pool)
        shelveLink()
        // Its host is a standby now: a server opened there for the primary's work is not used again.
        letGoRefusing(server, link: link, .internalFailed, statements)
        runtime.logger.info("\(server.address) refused a write as read-only (25006): checking \(routes.key.database)'s hosts, then sending it to the primary")
        waitToken &+= 1
        let token = waitToken
        let resume: @Sendable () -> Void = {
            self.eventLoop.execute {
                guard self.isWaiting, self.waitToken == token, case .pooled(let pool) = self.state else { return }
                self.waitToken &+= 1
                self.lease(from: pool, now: .now())
            }
        }
        let nodes = runtime.nodes
        let wait = nodes.afterChecks(of: routes.addresses, resume)
        // A check ends within health_check_timeout, one running now first: past both, the lease goes ahead anyway.
        let limit = 2 * max(runtime.settings.healthCheckTimeout, 0.1) + 0.5
        eventLoop.scheduleTask(in: .milliseconds(Int64(limit * 1000))) {
            nodes.cancelChecksWait(wait)
            resume()
        }
        return true
    }

    /// A statement sent to a replica as a read was refused there as a write: it runs on the primary (a function that
    /// writes, which the primary's checks have not listed as VOLATILE yet, or one read_only_functions names wrongly).
    /// The replica's server is fine and goes back to its pool.
    private func rerouteRead(_ batch: [ByteBuffer], link: ServerLink, answered: Int) -> Bool {
        replicaBatch = nil
        var retry = WriteRetry(first: batch)
        guard retry.replayable, let statements = session.requeue(batch, answered: answered, now: .now()) else { return false }
        retry.rerouted = true
        writeRetry = retry
        state = .pooled(link.pool)
        shelveLink()
        // A statement that may have changed the session (a lock it took before failing) leaves a server not to reuse.
        letGoRefusing(link.server, link: link, session.probeAfter ? .internalFailed : .done(keepsSession: false, pinned: false), statements)
        runtime.logger.debug("\(link.server.address) refused a read as a write (25006): sending it to the primary")
        // It writes after all (somewhere pgswift cannot tell): its answer is not kept, and everything moves.
        endRecording(kept: nil)
        if let cache {
            cacheWrote(scope: cache.scope, tables: nil)
            cache.wroteAnything = true
        }
        lease(from: link.pool, now: .now())
        return true
    }

    /// The server's answer to the batch (the held refusal and whatever preceded it) is dropped, then the server goes.
    private func letGoRefusing(_ server: ServerConnection, link: ServerLink, _ letGo: LetGo, _ statements: ServerStatementCache) {
        let go: @Sendable () -> Void = {
            let clean = server.session.dropUndelivered()
            server.giveBack(clean ? letGo : .internalFailed, returning: statements)
        }
        if link.sameLoop { go() } else { server.eventLoop.execute(go) }
    }

    /// The unit just ended made, changed or dropped a function: the primary is checked at the next round, which lists
    /// the VOLATILE functions again (rather than a health_check_period on).
    func ddlSent(_ pool: ServerPool) {
        session.sentDDL = false
        guard let routes = pool.routes, routes.splits else { return }
        for address in routes.primaryAddresses { runtime.nodes.checkSoon(address) }
    }
}
