// ClientConnection's data path: what the client sends goes through its ClientSession to the linked server, and what the
// server delivers goes to the client, with what it means for the link.
import NIOCore
import PGWire
import PoolCore
import SessionCore

extension ClientConnection {
    func relay(_ buffer: ByteBuffer) {
        eventLoop.assertInEventLoop()
        // Bytes only travel on a link; without one they wait for it.
        guard let server = linkedServer else { return hold(buffer) }
        do {
            // Outside session mode a linked server's statements are the client's to change until the link ends.
            let end = try session.relay(buffer, statements: &server.session.statements, catalog: runtime.statementCatalog)
            guard end == .terminate else { return }
            if let context { channelReadComplete(context: context) }
            finish(reason: "client close request")
            context?.close(promise: nil)
        } catch let error as ProtocolViolation {
            if let context { channelReadComplete(context: context) }
            sendFatal(.protocolViolation(error.message))
        } catch {
            sendFatal(.protocolViolation("\(error)"))
        }
    }

    /// Server bytes for the client, with the server's ReadyForQuery count and last status at the end of them.
    func deliverFromServer(_ buffers: [ByteBuffer], from sender: ServerConnection, answered: Int, status: TransactionStatus,
                           atBoundary: Bool, failed: [FailedParse], madeUp: [Bool], settingReported: Bool, described: [DescribedStatement]) {
        eventLoop.assertInEventLoop()
        // A batch still on its way from a server this client has since let go of says nothing about the current one.
        guard let context, let server = linkedServer, server === sender else { return }
        let decision = session.delivered(answered: answered, status: status, atBoundary: atBoundary, failed: failed, madeUp: madeUp,
                                         settingReported: settingReported, statements: &server.session.statements, now: .now())
        // After the failed Parses are forgotten: frames held for a description are rewritten against what is left.
        if !described.isEmpty {
            do {
                try session.described(described, statements: &server.session.statements, catalog: runtime.statementCatalog)
            } catch {
                return sendFatal(.protocolViolation("\(error)"))
            }
        }
        if decision == .refuseTransaction {
            // The transaction's BEGIN is not passed on as a success: the client gets the refusal instead.
            return act(on: decision)
        }
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
        if !session.outgoing.isEmpty || !session.expected.isEmpty { channelReadComplete(context: context) }
        if decision != .keep { act(on: decision) }
    }

    /// The linked server closed. `told`: it sent the client a FATAL error first (pg_terminate_backend's 57P01, say),
    /// which is what PostgreSQL's own client would see: the client is closed without a second error of pgswift's.
    func serverWentAway(_ error: PGError, told: Bool) {
        guard case .linked = state else { return }
        state = .closed
        linkedServer = nil
        guard told, let context else { return sendFatal(error) }
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(capacity: 0))).whenComplete { _ in channel.close(promise: nil) }
    }

    func setReadingFromClient(_ on: Bool) {
        context?.channel.setOption(ChannelOptions.autoRead, value: on).whenComplete { _ in }
    }
}
