// One client connection: startup and authentication, waiting for a server, then relaying bytes both ways.
import Config
import Logging
import NIOCore
import NIOSSL
import PGWire
import PoolCore
import SQLAnalysis

/// Mutable state is touched only on `eventLoop`; callbacks from pools and servers hop there first.
final class ClientConnection: ChannelInboundHandler, PoolWaiter, Cancellable, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum State {
        case startup
        case authenticating(ClientAuthMachine)
        /// auth_query is running for this user.
        case lookingUp
        /// Authenticated; a server has been asked for. Bytes the client sends meanwhile are held.
        case waiting(ServerPool)
        /// Transaction or statement mode, between transactions: no server until the client sends something.
        case unlinked(ServerPool)
        /// The server is `linkedServer` (from `currentPool`): kept there, not here, so the data path never copies the enum.
        case linked
        /// Transaction mode, after a transaction that may have changed the session: the server is being asked
        /// what state is left on it; bytes the client sends meanwhile are held.
        case settling(ServerPool)
        /// Logged in to the admin console; `busy` while a command's answer is pending.
        case admin(AdminRights, busy: Bool)
        case closed
    }

    let waiterID: Int
    let eventLoop: EventLoop
    let loopIndex: Int
    let runtime: ProxyRuntime
    var state = State.startup
    var context: ChannelHandlerContext?
    var inbound: ByteBuffer
    var held: [ByteBuffer] = []
    var heldBytes = 0
    var outgoing: [ByteBuffer] = []
    var splitter: FrameSplitter
    let startup: ClientStartup
    var loginTimer: Scheduled<Void>?
    var admitted = false
    /// The secret auth_query returned, which may also serve to log in to the server (md5).
    var lookedUpSecret: ClientSecret?
    /// What was sent on the current link, to know when the server may go back (and whether it is clean).
    var tracker = LinkTracker()
    /// Session, transaction or statement: fixed when the client authenticates.
    var mode = PoolMode.session
    /// The welcome (AuthenticationOk ... ReadyForQuery) goes out once, on the first link.
    var welcomed = false
    /// The linked server, kept outside `state` so the data path reads it without copying the enum.
    var linkedServer: ServerConnection?
    var linkedSameLoop = false
    /// The pool of the current link (kept beside `state` for the same reason).
    var currentPool: ServerPool?
    /// Transaction or statement mode with max_prepared_statements > 0: named statements follow the client.
    var carriesStatements = false
    var rewriter = StatementRewriter()
    /// The batch being answered, kept for one retry after a stale cached plan (ClientConnection+Retry).
    var lastBatch = RetryableBatch()
    /// Replies the frames in `outgoing` will get, and frames that replace the one just dropped.
    var expected: [PendingReply] = []
    var replacement: [ByteBuffer] = []
    /// What the client's own SETs left (pg_settings source 'session', as the last probe found them).
    var sessionSettings: [String: String] = [:] {
        didSet { desiredSettings = runtime.canonical(startup.startupSettings.merging(sessionSettings) { _, own in own }) }
    }
    /// Its startup parameters overlaid by those: what every server it lands on must have (kept ready for each lease).
    var desiredSettings: [String: String] = [:]
    /// Prepared statements (by client name) whose text may change the session, with the custom settings they name.
    var sessionStatements: [String: [String]] = [:]
    /// Custom settings (x.y) the client ever set: the probe asks for them by name.
    var customSettingNames: Set<String> = []
    /// The current transaction ran SQL that may change the session: probe before letting the server go.
    var probeAfter = false
    /// Why the client may not move between servers (LISTEN, advisory lock, ...); empty when it may.
    var pinReasons: [String] = []
    /// For SHOW CLIENTS: when the client last sent something, and when it began waiting for a server.
    var lastRequest = NIODeadline.now()
    var waitStarted = NIODeadline.now()
    /// For the timeouts: when the server last delivered, what it had answered, its status, when its transaction began.
    var lastDelivered = NIODeadline.now()
    var answeredOnLink = 0
    var serverStatus = TransactionStatus.idle
    var transactionStarted: NIODeadline?
    /// This loop's counters for the client's pool (fixed at login), and that pool's key.
    var counters: PoolCounters?
    var statsKey: PoolKey?

    init(context: ChannelHandlerContext, runtime: ProxyRuntime, tlsAvailable: Bool) {
        self.waiterID = runtime.nextID()
        self.eventLoop = context.eventLoop
        self.loopIndex = runtime.loopIndex(of: context.eventLoop)
        self.runtime = runtime
        self.inbound = context.channel.allocator.buffer(capacity: 0)
        let maxPacket = runtime.config.bytes("max_packet_size")
        self.splitter = FrameSplitter(
            intercept: FrameTypeSet([FrontendMessage.Code.terminate]),
            observe: FrameTypeSet(),
            count: FrameTypeSet([
                FrontendMessage.Code.query, FrontendMessage.Code.sync, FrontendMessage.Code.functionCall,
                FrontendMessage.Code.parse, FrontendMessage.Code.bind, FrontendMessage.Code.describe,
                FrontendMessage.Code.execute, FrontendMessage.Code.close, FrontendMessage.Code.flush,
            ]),
            bounded: FrameTypeSet([FrontendMessage.Code.query, FrontendMessage.Code.parse, FrontendMessage.Code.bind, FrontendMessage.Code.functionCall]),
            maxFrameLength: maxPacket)
        self.startup = ClientStartup(peer: context.channel.remoteAddress, tlsAvailable: tlsAvailable, id: waiterID)
    }

    // MARK: channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func channelActive(context: ChannelHandlerContext) {
        self.context = context
        guard runtime.admitClient() else {
            sendFatal(.tooManyClients())
            return
        }
        admitted = true
        runtime.connections(on: eventLoop).clients[waiterID] = self
        let timeout = runtime.config.seconds("client_login_timeout")
        if timeout > 0 {
            loginTimer = context.eventLoop.scheduleTask(in: .milliseconds(Int64(timeout * 1000))) { [self] in
                switch state {
                case .startup, .authenticating, .lookingUp: sendFatal(.loginTimeout())
                case .waiting where !welcomed: sendFatal(.loginTimeout())
                case .waiting, .unlinked, .linked, .closed, .admin, .settling: break
                }
            }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        lastRequest = .now()
        if linkedServer != nil {
            counters?.totals.received += buffer.readableBytes
            relay(buffer)
            return
        }
        switch state {
        case .linked:
            relay(buffer)
        case .waiting, .settling:
            counters?.totals.received += buffer.readableBytes
            hold(buffer)
        case .unlinked(let pool):
            counters?.totals.received += buffer.readableBytes
            if buffer.readableBytes == 5 && buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) == FrontendMessage.Code.terminate {
                // Terminate between transactions needs no server.
                finish(reason: "client close request")
                context.close(promise: nil)
                return
            }
            // The first bytes of the next transaction: they wait for a server.
            hold(buffer)
            state = .waiting(pool)
            waitStarted = lastRequest
            requestServer(from: pool)
        case .startup, .authenticating, .lookingUp:
            inbound.writeBuffer(&buffer)
            processLogin()
        case .admin:
            inbound.writeBuffer(&buffer)
            // A console that sends faster than its commands are answered is held back by TCP, not by memory.
            if inbound.readableBytes >= 1 << 20 { setReadingFromClient(false) }
            adminRead()
        case .closed:
            break
        }
    }

    /// A client may pipeline queries before it has a server; more than a little is held back by TCP.
    func hold(_ buffer: ByteBuffer) {
        heldBytes += buffer.readableBytes
        held.append(buffer)
        if heldBytes > 1 << 20 { setReadingFromClient(false) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // Replies made up in place of dropped messages travel even when no byte does.
        guard let server = linkedServer, !outgoing.isEmpty || !expected.isEmpty else { return }
        if linkedSameLoop {
            // Same thread: hand the arrays over without copying them, then reuse their storage (emptied
            // first, as the server may answer and change this client's link before the call returns).
            var batch: [ByteBuffer] = [], replies: [PendingReply] = []
            swap(&batch, &outgoing)
            swap(&replies, &expected)
            server.writeFromClient(batch, expected: replies)
            batch.removeAll(keepingCapacity: true)
            replies.removeAll(keepingCapacity: true)
            if outgoing.isEmpty { swap(&batch, &outgoing) }
            if expected.isEmpty { swap(&replies, &expected) }
        } else {
            let batch = outgoing, replies = expected
            outgoing = []
            expected = []
            server.eventLoop.execute { server.writeFromClient(batch, expected: replies) }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(reason: "client unexpected eof")
        self.context = nil
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        runtime.logger.debug("client \(waiterID) error: \(error)")
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        guard let server = linkedServer else { return }
        let writable = context.channel.isWritable
        server.eventLoop.execute { server.setReading(writable) }
    }

    // MARK: relaying

    func relay(_ buffer: ByteBuffer) {
        if carriesStatements, let server = linkedServer { server.statements.schemaEpoch = runtime.statementCatalog.schemaEpoch }
        do {
            try splitter.feedDirected(buffer) { event in
                switch event {
                case .bytes(let b):
                    outgoing.append(b)
                case .counted(let type):
                    tracker.clientSent(type)
                case .observed(let type, let body):
                    // Outside session mode only.
                    guard let server = linkedServer else { return .pass }
                    var body = body
                    var effect: SessionStateScan.Effect?
                    if type == FrontendMessage.Code.query || type == FrontendMessage.Code.parse
                        || (type == FrontendMessage.Code.bind && !sessionStatements.isEmpty) {
                        effect = inspect(type, body)
                        if effect?.pins == true, let refused = refusal(type, body) {
                            // session_pinning = refuse: the statement is replaced by one that raises the error.
                            tracker.clientSent(type)
                            if type == FrontendMessage.Code.query || !carriesStatements || refused.name.isEmpty {
                                replacement.append(refused.frame)
                                if carriesStatements {
                                    expected.append(type == FrontendMessage.Code.query ? .query : .parse(statement: nil, injected: false))
                                } else if type == FrontendMessage.Code.query {
                                    expected.append(.query)
                                }
                                return .drop
                            }
                            body = refused.body
                        }
                    }
                    guard carriesStatements else {
                        tracker.clientSent(type)
                        if let reply = Self.countedReply(type) { expected.append(reply) }
                        return .pass
                    }
                    tracker.clientSent(type)
                    lastBatch.record(type, body)
                    let verdict = try rewriter.rewrite(type: type, body: body, server: &server.statements, intern: runtime.statementCatalog.id(for:),
                                                       out: &replacement, replies: &expected)
                    // A DEALLOCATE or DISCARD the rewriter let through (in a multi-statement query, inside a DO block, or
                    // naming a statement the client does not have) may drop shared statements: forget them all (new names).
                    if verdict == .pass, effect?.dropsStatements == true { server.statements.removeAll() }
                    return verdict
                case .cut:
                    outgoing.append(contentsOf: replacement)
                    replacement.removeAll(keepingCapacity: true)
                case .intercepted:
                    // Terminate: the server stays open for the next client.
                    throw ClientClosing()
                }
                return .pass
            }
        } catch is ClientClosing {
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
                           atBoundary: Bool, failed: [FailedParse], madeUp: [Bool], settingReported: Bool) {
        // A batch still on its way from a server this client has since let go of says nothing about the current one.
        guard let context, let server = linkedServer, server === sender else { return }
        // Changed by SQL the scan did not flag (a function that calls set_config): the probe finds what it was.
        if settingReported && mode != .session { probeAfter = true }
        noteDelivered(answered: answered, status: status)
        for f in failed { rewriter.parseFailed(f, server: &server.statements) }
        if !madeUp.isEmpty { rewriter.madeUpRepliesResolved(madeUp, server: &server.statements) }
        if carriesStatements && tracker.settled(answered: answered) {
            rewriter.repliesSettled()
            lastBatch.answered()
        }
        let decision = mode == .session
            ? LinkDecision.keep : tracker.decide(mode: mode, answered: answered, status: status, atBoundary: atBoundary && splitter.atFrameBoundary)
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
        if decision != .keep { act(on: decision) }
    }

    func serverWentAway(_ error: PGError) {
        guard case .linked = state else { return }
        state = .closed
        linkedServer = nil
        sendFatal(error)
    }

    func setReadingFromClient(_ on: Bool) {
        context?.channel.setOption(ChannelOptions.autoRead, value: on).whenComplete { _ in }
    }

    // MARK: ending

    /// Gives the server back (clean or not) and forgets the client; safe to call more than once.
    func finish(reason: String) {
        let previous = state
        let server = linkedServer
        state = .closed
        linkedServer = nil
        loginTimer?.cancel()
        if welcomed { runtime.cancelRegistry.unregister(pid: startup.cancelPID) }
        switch previous {
        case .linked:
            guard let server else { preconditionFailure("linked without a server") }
            let tracker = self.tracker
            let boundary = splitter.atFrameBoundary
            let pinned = !pinReasons.isEmpty
            let reset = mode == .session || pinned
            server.eventLoop.execute {
                server.release(clean: boundary && tracker.settled(answered: server.readyCount), reset: reset, mustClear: pinned)
            }
            logClose(reason)
        case .waiting(let pool):
            pool.cancelWait(self)
            logClose(reason)
        case .unlinked, .admin, .settling:
            logClose(reason)
        case .startup, .authenticating, .lookingUp, .closed:
            break
        }
        let registry = runtime.connections(on: eventLoop)
        if registry.clients.removeValue(forKey: waiterID) != nil, let counters {
            // The client leaves the registry, so what its rewriter counted moves into the pool's totals.
            counters.totals.clientParses += rewriter.clientParses
            counters.totals.serverParses += rewriter.serverParses
            counters.totals.binds += rewriter.binds
        }
        if admitted {
            admitted = false
            runtime.clientGone()
        }
    }

    func logLoginAttempt(_ note: String) {
        if runtime.config.bool("log_connections") {
            runtime.logger.info("C-\(waiterID): \(startup.database)/\(startup.user)@\(startup.peerText) login attempt: db=\(startup.database) user=\(startup.user) tls=\(startup.tls ? "yes" : "no")\(note)")
        }
    }

    func logClose(_ reason: String) {
        if runtime.config.bool("log_disconnections") {
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

private struct ClientClosing: Error {}
