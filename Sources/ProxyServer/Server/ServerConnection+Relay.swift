// What a linked server says, on its way to the client: reply frames observed, injected replies hidden, made-up ones
// placed, ReadyForQuery counted and timed, and the batch handed over at the end of each read.
import NIOCore
import PGWire
import SessionCore
import PoolCore

extension ServerConnection {
    func relay(_ buffer: ByteBuffer) {
        eventLoop.assertInEventLoop()
        do {
            try session.read(buffer) { self.act($0) }
        } catch {
            fail(.protocolViolation("server sent a malformed message: \(error)"))
        }
    }

    /// What the session noticed in the server's frames, carried out.
    func act(_ note: ServerNote) {
        switch note {
        case .ready(let status):
            countReady(status)
        case .error(let sqlState):
            counters?.errors[sqlState, default: 0] += 1
        case .planChanged(let id):
            runtime.statementCatalog.retire(id)
        case .accepted(let id):
            // The settings the linked client's sync left on this session are the ones the text was parsed under.
            runtime.statementCatalog.accepted(id, searchPath: sessionSettings["search_path"] ?? "")
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // A refused write held whole: nothing of it goes out unless the client lets the failure through.
        if session.rerouteDue { return askClientToReroute() }
        if session.refusalAwaitingReady || session.refusalAsked { return }
        deliverToClient(now: readAt)
        if session.retryDue { askClientToRetry() }
    }

    /// Hands what the server said (and what was made up for it) to the linked client. `now`: when it was read.
    func deliverToClient(now: NIODeadline = .now()) {
        eventLoop.assertInEventLoop()
        // pgswift's own Describe is answered out of sight: the client waits for the answer all the same.
        guard case .linked(let link) = state, !session.outgoing.isEmpty || session.hasDescribed else { return }
        let peer = link.client
        let answered = session.readyCount, status = session.status, boundary = session.atFrameBoundary
        let (failed, outcomes, reported, described) = session.takeNews()
        if link.sameLoop {
            // Same thread: hand the array over without copying it, then reuse its storage. The client may give
            // this server back and a waiting client may take it and write to it before the call returns, so
            // `outgoing` is emptied first and only gets its storage back if nothing was added meanwhile.
            var batch: [ByteBuffer] = []
            swap(&batch, &session.outgoing)
            peer.deliverFromServer(batch, from: self, answered: answered, status: status, atBoundary: boundary, failed: failed, madeUp: outcomes,
                                   settingReported: reported, described: described, now: now)
            batch.removeAll(keepingCapacity: true)
            if session.outgoing.isEmpty { swap(&batch, &session.outgoing) }
        } else {
            let batch = session.outgoing
            session.outgoing = []
            peer.eventLoop.execute {
                peer.deliverFromServer(batch, from: self, answered: answered, status: status, atBoundary: boundary, failed: failed, madeUp: outcomes,
                                       settingReported: reported, described: described)
            }
        }
    }

    /// A query ended (and, back to idle, a transaction): PgBouncer's xact/query counts and times.
    /// Reads nothing of `session`: it runs while the session is being changed.
    func countReady(_ status: TransactionStatus) {
        guard let counters else { return }
        let now = readAt
        counters.totals.queries += 1
        // Pipelined queries: each is timed from the end of the one before, so the times add up to the busy time.
        let nanos = (now - max(lastWrite, lastReady)).nanoseconds
        let micros = Int(nanos / 1000)
        counters.totals.queryTime += micros
        counters.timeQuery(nanos)
        counters.latency.record(microseconds: UInt64(max(micros, 0)), now: Double(now.uptimeNanoseconds) / 1e9)
        lastReady = now
        if status == .idle {
            counters.totals.xacts += 1
            let nanos = (now - (transactionStart ?? lastWrite)).nanoseconds
            counters.totals.xactTime += Int(nanos / 1000)
            counters.timeTransaction(nanos)
            transactionStart = nil
        }
    }
}
