// ClientConnection's data path: frames the client's ClientSession prepared go to the linked server at the end of each
// read, and what the server delivers goes to the client, with what it means for the link.
import NIOCore
import PGWire
import PoolCore
import SessionCore

extension ClientConnection {
    /// Hands the frames the session prepared (and the replies they will get) to the linked server. Replies made up
    /// in place of dropped messages travel even when no byte does.
    func flush(to link: ServerLink, now: NIODeadline = .now()) {
        if cache != nil { noteCacheWrites() } else { attachCache(link.pool) }
        guard !session.outgoing.isEmpty || !session.expected.isEmpty else { return }
        let server = link.server
        if link.sameLoop {
            // Same thread: hand the arrays over without copying them, then reuse their storage (emptied
            // first, as the server may answer and change this client's link before the call returns).
            var batch: [ByteBuffer] = [], replies: [PendingReply] = []
            swap(&batch, &session.outgoing)
            swap(&replies, &session.expected)
            server.writeFromClient(batch, expected: replies, now: now)
            // A link that ended meanwhile shelved its storage: giving these back would make the idle client new storage.
            guard case .linked = state else { return }
            batch.removeAll(keepingCapacity: true)
            replies.removeAll(keepingCapacity: true)
            if session.outgoing.isEmpty { swap(&batch, &session.outgoing) }
            if session.expected.isEmpty { swap(&replies, &session.expected) }
        } else {
            let batch = session.outgoing, replies = session.expected
            session.outgoing = []
            session.expected = []
            server.eventLoop.execute { server.writeFromClient(batch, expected: replies, now: .now()) }
        }
    }

    /// What is ready for the server goes before an action that may end the link.
    func flushToServer() {
        if case .linked(let link) = state { flush(to: link) }
    }

    /// Server bytes for the client, with the server's ReadyForQuery count and last status at the end of them.
    func deliverFromServer(_ buffers: [ByteBuffer], from sender: ServerConnection, answered: Int, status: TransactionStatus,
                           atBoundary: Bool, failed: [FailedParse], madeUp: [Bool], settingReported: Bool, described: [DescribedStatement],
                           now: NIODeadline = .now()) {
        eventLoop.assertInEventLoop()
        // A batch still on its way from a server this client has since let go of says nothing about the current one.
        guard let context, case .linked(let link) = state, link.server === sender else { return }
        let action = session.answered(answered, status: status, atBoundary: atBoundary, failed: failed, madeUp: madeUp,
                                      settingReported: settingReported, described: described, catalog: runtime.statementCatalog, now: now)
        // Statement mode's refusal of a transaction: its BEGIN is not passed on as a success.
        if case .fail = action { return run(action) }
        if writeRetry != nil || replicaBatch != nil, !buffers.isEmpty { writeRetryDelivered(answered: answered, status: status) }
        if cache != nil { cacheDelivered(buffers, answered: answered, status: status) }
        if buffers.count == 1 {
            counters?.totals.sent += buffers[0].readableBytes
            context.writeAndFlush(wrapOutboundOut(buffers[0]), promise: nil)
        } else {
            for b in buffers {
                counters?.totals.sent += b.readableBytes
                context.write(wrapOutboundOut(b), promise: nil)
            }
            context.flush()
        }
        // Frames held for a statement's description were let go: they go to the server as if just read.
        flush(to: link, now: now)
        if case .none = action { return }
        run(action, now: now)
    }

    /// The linked server closed. `told`: it sent the client a FATAL error first (pg_terminate_backend's 57P01, say),
    /// which is what PostgreSQL's own client would see: the client is closed without a second error of pgswift's.
    func serverWentAway(_ error: PGError, told: Bool, server: ServerConnection) {
        // Only the server the client is on now: one it let go of (on its way back across threads) may die too.
        guard case .linked(let link) = state, link.server === server else { return }
        // Ended, counted and logged as any other close; giving back a server that is gone is a no-op.
        guard told, let context else { return sendFatal(error) }
        finish(reason: error.message)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(capacity: 0))).whenComplete { _ in channel.close(promise: nil) }
    }

    /// The linked server, if any (SHOW CLIENTS' link column, a retry's check).
    var linkedServer: ServerConnection? {
        if case .linked(let link) = state { return link.server }
        return nil
    }

    /// Stops reading the client for `reason` (`on`), or lifts that reason; the socket is read again only when no
    /// reason is left, so lifting one (the server writable again) never undoes another (a full gate).
    func holdBack(_ reason: ReadStops, _ on: Bool) {
        let before = readStops.isEmpty
        if on { readStops.formUnion(reason) } else { readStops.subtract(reason) }
        guard readStops.isEmpty != before else { return }
        context?.channel.setOption(ChannelOptions.autoRead, value: readStops.isEmpty).whenComplete { _ in }
    }
}
