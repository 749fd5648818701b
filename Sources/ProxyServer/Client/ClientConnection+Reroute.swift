// A write refused with 25006 by a host that was the primary at its last check (demoted since): the unit of work is
// taken back whole and, once the entry's hosts are checked again, sent to the primary the checks find.
import NIOCore
import PGWire
import PoolCore
import SessionCore

/// The unit in progress as the client sent it, out of line (an idle client holds a nil reference).
final class WriteRetryBox {
    var retry: WriteRetry
    /// Taken back once already: the unit's next lease runs `retry.prologue` first, and is not retried again.
    var rerouted = false
    /// The link's ReadyForQuery count at the last delivery.
    var answered = 0

    init(_ retry: WriteRetry) {
        self.retry = retry
    }
}

extension ClientConnection {
    /// A unit of work starts on `pool` with the held bytes: kept for a retry when the router sent it to the primary.
    func startWriteRetry(pool: ServerPool) {
        // Only kept (no copy, no scan) until the answer starts: most reads never need it.
        replicaBatch = replicaStatement && pool.node != nil && !session.held.isEmpty ? session.held : nil
        if let box = writeRetry, box.rerouted {
            // The retried unit is linked: its one retry is spent.
            writeRetry = nil
            return
        }
        guard pool.node != nil, primaryUnit, !session.held.isEmpty, let retry = WriteRetry(first: session.held) else {
            writeRetry = nil
            return
        }
        writeRetry = WriteRetryBox(retry)
    }

    /// The client's bytes went to its server while the unit may still be retried.
    func writeRetrySent(_ buffer: ByteBuffer) {
        writeRetry?.retry.sent(buffer)
        // More than the one statement: a retry could not send it all again.
        replicaBatch = nil
    }

    /// Server bytes reached the client, with `answered` ReadyForQuery messages on this link so far: past the unit's
    /// BEGIN, a retry would repeat what the client has seen.
    func writeRetryDelivered(answered: Int, status: TransactionStatus) {
        replicaBatch = nil
        guard let box = writeRetry, !box.rerouted else { return }
        let ready = answered - box.answered
        box.answered = answered
        if !box.retry.delivered(ready: ready, status: status) { writeRetry = nil }
    }

    /// Asked by the linked server, which holds a 25006 refusal of this client's batch and nothing of its answer went
    /// out (`answered`: its ReadyForQuery count without the held one). True when the batch goes elsewhere: the
    /// server is closed, and the client waits for the entry's hosts to be checked, then leases anew.
    func rerouteRefusedWrite(from server: ServerConnection, answered: Int) -> Bool {
        eventLoop.assertInEventLoop()
        if let batch = replicaBatch { return rerouteRead(batch, from: server, answered: answered) }
        guard case .linked(let link) = state, link.server === server, let box = writeRetry, !box.rerouted, box.retry.replayable,
              let routes = link.pool.routes, runtime.settings.healthCheckPeriod > 0,
              let statements = session.requeue(box.retry.batch, answered: answered, now: .now()) else { return false }
        box.rerouted = true
        routedWrite = false
        state = .pooled(link.pool)
        shelveLink()
        // Its host is a standby now: a server opened there for the primary's work is not used again.
        if link.sameLoop {
            server.giveBack(.internalFailed, returning: statements)
        } else {
            server.eventLoop.execute { server.giveBack(.internalFailed, returning: statements) }
        }
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
        runtime.nodes.afterChecks(of: routes.addresses, resume)
        // A check ends within health_check_timeout, one running now first: past both, the lease goes ahead anyway.
        let limit = 2 * max(runtime.settings.healthCheckTimeout, 0.1) + 0.5
        eventLoop.scheduleTask(in: .milliseconds(Int64(limit * 1000))) { resume() }
        return true
    }

    /// A statement sent to a replica as a read was refused there as a write: it runs on the primary (a function that
    /// writes, which the primary's checks have not listed as VOLATILE yet, or one read_only_functions names wrongly).
    /// The replica's server is fine and goes back to its pool.
    private func rerouteRead(_ batch: [ByteBuffer], from server: ServerConnection, answered: Int) -> Bool {
        replicaBatch = nil
        guard case .linked(let link) = state, link.server === server, let retry = WriteRetry(first: batch), retry.replayable,
              let statements = session.requeue(batch, answered: answered, now: .now()) else { return false }
        let box = WriteRetryBox(retry)
        box.rerouted = true
        writeRetry = box
        state = .pooled(link.pool)
        shelveLink()
        let letGo = LetGo.done(keepsSession: false, pinned: false)
        if link.sameLoop {
            server.giveBack(letGo, returning: statements)
        } else {
            server.eventLoop.execute { server.giveBack(letGo, returning: statements) }
        }
        runtime.logger.debug("\(server.address) refused a read as a write (25006): sending it to the primary")
        lease(from: link.pool, now: .now())
        return true
    }

    /// The unit just ended ran CREATE, ALTER or DROP: a function may have been made or changed, so the entry's hosts
    /// are checked at the next round, which lists the VOLATILE functions again (rather than a health_check_period on).
    func ddlSent(_ pool: ServerPool) {
        session.sentDDL = false
        guard let routes = pool.routes, routes.splits else { return }
        for address in routes.addresses { runtime.nodes.checkSoon(address) }
    }

    /// The BEGIN statements the rerouted unit ran before its refused batch: the new server runs them first.
    var reroutedPrologue: [String] {
        guard let box = writeRetry, box.rerouted else { return [] }
        return box.retry.prologue
    }
}
