// One connection to a PostgreSQL server: login, then relaying to whichever client holds it, then reset for the next.
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PGWire
import PoolCore

/// Mutable state is touched only on `eventLoop`; other threads hop there first.
final class ServerConnection: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum State {
        case connecting
        /// SSLRequest sent; waiting for the server's one-byte answer.
        case tlsRequested(ByteBuffer)
        case login(ServerLoginMachine, ByteBuffer)
        case idle
        /// Linked to `linkedClient` (kept beside the enum so the data path does not copy it).
        case linked
        /// Running a query of pgswift's own (SET, server_reset_query): its answer is not for any client.
        case internalQuery(done: (PGError?) -> Void)
        case closed
    }

    let id: Int
    let eventLoop: EventLoop
    let target: ServerTarget
    /// Strong: pools live as long as the process, and a weak reference would put every retain of the pool
    /// (one per lease) on the runtime's slow side-table path.
    let pool: ServerPool?
    let runtime: ProxyRuntime
    var state = State.connecting
    var context: ChannelHandlerContext?
    var parameters: [String: String] = [:]
    var backendPID: Int32 = 0
    var backendSecret: Int32 = 0
    var splitter: FrameSplitter
    /// For pgswift's own queries, which also need the rows (auth_query).
    var internalSplitter = FrameSplitter(
        intercept: FrameTypeSet(),
        observe: FrameTypeSet([BackendMessage.Code.readyForQuery, BackendMessage.Code.parameterStatus, BackendMessage.Code.errorResponse, BackendMessage.Code.dataRow]),
        maxFrameLength: 1 << 20)
    /// The first row an internal query returned.
    var internalRow: [ByteBuffer?]?
    /// ReadyForQuery messages received while linked, and the status the last one carried.
    var readyCount = 0
    var lastStatus = TransactionStatus.idle
    var outgoing: [ByteBuffer] = []
    /// The server reported a setting (ParameterStatus) while linked, since the last delivery.
    var settingReported = false
    /// A failure held back while its batch may be sent again (ServerConnection+Retry).
    var held = HeldFailure()
    var internalError: PGError?
    private var budgetReleased = false
    /// The linked client, kept outside `state` so the data path reads it without copying the enum.
    private(set) var linkedClient: ClientConnection?
    private(set) var linkedSameLoop = false
    /// Shared prepared statements this server holds. While linked, the client's loop reads and changes it
    /// (the link hands it over); otherwise only this loop does.
    var statements: ServerStatementCache
    /// Replies owed for what transaction-mode clients sent, to hide injected ones and place made-up ones.
    var replies = PendingReplies()
    /// Made-up replies due at the next `.cut`, and Parses the server did not carry out, for the client.
    var synthesized: [SyntheticReply] = []
    var failedParses: [FailedParse] = []
    /// This loop's counters for the pool, and the marks query and transaction times are measured from.
    var counters: PoolCounters?
    var lastWrite = NIODeadline.now()
    var lastReady = NIODeadline.now()
    var transactionStart: NIODeadline?
    /// Settings this session has that differ from a fresh one (as the last probe or sync left them).
    var sessionSettings: [String: String] = [:]
    /// Cancel requests sent to this server that PostgreSQL has not finished with: until then the server stays out of
    /// the pool, or the cancel's second signal could hit the next client's query (PgBouncer's sv_being_canceled).
    var cancelsInFlight = 0
    var afterCancels: [() -> Void] = []
    /// RECONNECT: close instead of reusing when released.
    var closeNeeded = false
    /// For SHOW SERVERS.
    let connectedAt = Date()
    private(set) var lastUsed = NIODeadline.now()
    var linkedClientID: Int? { linkedClient?.waiterID }
    /// When the server last did anything for a client: server_check_delay counts from here.
    var lastActivity: NIODeadline { max(lastUsed, lastReady) }
    /// The statements, when this loop may read them: not while a client on another loop holds the link.
    var statementsIfOwned: ServerStatementCache? {
        if case .linked = state, !linkedSameLoop { return nil }
        return statements
    }
    var linkedApplicationName: String { linkedClient?.startup.parametersToApply["application_name"] ?? "" }

    private init(id: Int, target: ServerTarget, pool: ServerPool, runtime: ProxyRuntime, eventLoop: EventLoop) {
        self.id = id
        self.target = target
        self.pool = pool
        self.runtime = runtime
        self.eventLoop = eventLoop
        self.statements = ServerStatementCache(capacity: runtime.config.int("max_prepared_statements"))
        self.splitter = FrameSplitter(intercept: FrameTypeSet(), observe: Self.essentialReplies, maxFrameLength: Int(Int32.max))
    }

    /// Always read: they say when the server is free and what its parameters are.
    static let essentialReplies = FrameTypeSet([BackendMessage.Code.readyForQuery, BackendMessage.Code.parameterStatus, BackendMessage.Code.errorResponse])
    /// Also read while `replies` has entries that end on other frames.
    static let detailedReplies = FrameTypeSet([
        BackendMessage.Code.readyForQuery, BackendMessage.Code.parameterStatus, BackendMessage.Code.errorResponse,
        BackendMessage.Code.parseComplete, BackendMessage.Code.bindComplete, BackendMessage.Code.closeComplete,
        BackendMessage.Code.rowDescription, BackendMessage.Code.noData, BackendMessage.Code.commandComplete,
        BackendMessage.Code.emptyQueryResponse, BackendMessage.Code.portalSuspended, BackendMessage.Code.copyInResponse,
    ])

    static func connect(target: ServerTarget, pool: ServerPool, runtime: ProxyRuntime, on loop: EventLoop) {
        let conn = ServerConnection(id: runtime.nextID(), target: target, pool: pool, runtime: runtime, eventLoop: loop)
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(.milliseconds(Int64(max(target.connectTimeout, 0.1) * 1000)))
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(conn) }
            }
        let future: EventLoopFuture<Channel>
        if target.host.hasPrefix("/") {
            future = bootstrap.connect(unixDomainSocketPath: "\(target.host)/.s.PGSQL.\(target.port)")
        } else {
            future = bootstrap.connect(host: target.host, port: target.port)
        }
        future.whenFailure { error in
            conn.releaseBudget()
            pool.connectFailed(.serverUnreachable("could not connect to server \(target.host):\(target.port): \(error)"))
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        self.context = context
        let registry = runtime.connections(on: eventLoop)
        registry.servers[id] = self
        if let pool { counters = registry.counters(for: pool.key) }
        // server_connect_timeout covers the login too (PgBouncer's meaning): a server that accepts and then
        // says nothing must not hold a pool slot forever.
        let limit = max(target.connectTimeout, 0.1)
        context.eventLoop.scheduleTask(in: .milliseconds(Int64(limit * 1000))) { [self] in
            switch state {
            case .connecting, .tlsRequested, .login:
                if let context = self.context {
                    loginFailed(context: context, .serverUnreachable("server login did not finish within server_connect_timeout (\(limit)s)"))
                }
            case .idle, .linked, .internalQuery, .closed:
                break
            }
        }
        if runtime.loaded.serverTLS != nil {
            var out = context.channel.allocator.buffer(capacity: 8)
            StartupPacket.sslRequest.encode(into: &out)
            state = .tlsRequested(context.channel.allocator.buffer(capacity: 1))
            context.writeAndFlush(wrapOutboundOut(out), promise: nil)
            return
        }
        sendStartup(context: context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        if linkedClient != nil {
            relay(buffer)
            return
        }
        switch state {
        case .tlsRequested(var pending):
            var input = buffer
            pending.writeBuffer(&input)
            tlsAnswer(context: context, pending)
        case .login(var machine, var pending):
            var input = buffer
            pending.writeBuffer(&input)
            state = .connecting
            loginRead(context: context, machine: &machine, pending: &pending)
        case .linked:
            relay(buffer)
        case .internalQuery:
            swallow(buffer)
        case .idle:
            // An idle server may send a notice or a termination notice (admin shutdown); it cannot be reused.
            runtime.logger.info("server \(target.host):\(target.port) pid \(backendPID) sent data while idle; closing it")
            close()
        case .connecting, .closed:
            break
        }
    }

    /// Gives back this connection's max_db_connections/max_user_connections slot, once.
    func releaseBudget() {
        eventLoop.execute { [self] in
            guard !budgetReleased, let pool else { return }
            budgetReleased = true
            runtime.budget.release(database: pool.key.database, user: pool.key.user)
            runtime.refillPools(database: pool.key.database, user: pool.key.user)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        runtime.connections(on: eventLoop).servers[id] = nil
        releaseBudget()
        let peer = linkedClient
        linkedClient = nil
        let previous = state
        state = .closed
        self.context = nil
        switch previous {
        case .login, .connecting, .tlsRequested:
            pool?.connectFailed(.serverUnreachable("server closed the connection during login"))
        case .linked:
            pool?.serverClosed(self)
            let err = PGError.serverUnreachable("server closed the connection unexpectedly")
            if let peer { peer.eventLoop.execute { peer.serverWentAway(err) } }
        case .internalQuery(let done):
            pool?.serverClosed(self)
            done(.serverUnreachable("server closed the connection unexpectedly"))
        case .idle, .closed:
            pool?.serverClosed(self)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        switch state {
        case .tlsRequested, .login, .connecting:
            loginFailed(context: context, .serverUnreachable("server connection failed during login: \(error)"))
        default:
            runtime.logger.debug("server connection error: \(error)")
            context.close(promise: nil)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if let peer = linkedClient {
            let writable = context.channel.isWritable
            peer.eventLoop.execute { peer.setReadingFromClient(writable) }
        }
    }

    // MARK: used by the client side (always on `eventLoop`)

    func link(_ peer: ClientConnection) {
        eventLoop.preconditionInEventLoop()
        readyCount = 0
        state = .linked
        lastUsed = NIODeadline.now()
        transactionStart = nil
        linkedClient = peer
        linkedSameLoop = peer.eventLoop === eventLoop
    }

    /// The client lets go of the server while pgswift still uses it (the session probe).
    func unlinkForInternalUse() {
        linkedClient = nil
        held = HeldFailure()
        settingReported = false
        replies.removeAll()
        synthesized.removeAll()
        failedParses.removeAll()
        state = .idle
    }

    /// Forwards client bytes; `flush` at the end of a read batch. `expected` lists the replies they will get
    /// (transaction mode with prepared statements carried; empty otherwise).
    func writeFromClient(_ buffers: [ByteBuffer], expected: [PendingReply]) {
        guard let context, linkedClient != nil else { return }
        // The client sent more while deciding on a retry (on its thread): its failure goes first, as it happened.
        if held.asked { releaseHeld() }
        lastWrite = .now()
        if transactionStart == nil { transactionStart = lastWrite }
        if !expected.isEmpty {
            for reply in expected { replies.append(reply, out: &synthesized, failed: &failedParses) }
        }
        if buffers.count == 1 {
            context.writeAndFlush(wrapOutboundOut(buffers[0]), promise: nil)
        } else if !buffers.isEmpty {
            for b in buffers { context.write(wrapOutboundOut(b), promise: nil) }
            context.flush()
        }
        if !synthesized.isEmpty {
            // Answers owed before anything the server has yet to say (a Parse it already had, first thing).
            appendSynthesized()
            deliverToClient()
        }
    }

    func setReading(_ on: Bool) {
        context?.channel.setOption(ChannelOptions.autoRead, value: on).whenComplete { _ in }
    }

    /// Transaction or statement mode: the client is between transactions; no reset query unless
    /// server_reset_query_always.
    func releaseBetweenTransactions() {
        release(clean: true, reset: false)
    }

    /// `reset`: run server_reset_query first (session mode, or server_reset_query_always).
    /// `mustClear`: the client left state on the session (pinned); without a reset query the server cannot be reused.
    func release(clean clientClean: Bool, reset: Bool, mustClear: Bool = false) {
        eventLoop.preconditionInEventLoop()
        guard case .linked = state else { return }
        state = .idle
        linkedClient = nil
        let clean = clientClean && lastStatus == .idle && splitter.atFrameBoundary && replies.isEmpty && !held.awaitingReady
        held = HeldFailure()
        replies.removeAll()
        synthesized.removeAll()
        failedParses.removeAll()
        guard clean, context != nil else {
            runtime.cancelRegistry.sendCancel(host: target.host, port: target.port, pid: backendPID, secret: backendSecret, on: eventLoop)
            pool?.release(self, reusable: false)
            return
        }
        if closeNeeded || (mustClear && target.resetQuery.isEmpty) {
            pool?.release(self, reusable: false)
            return
        }
        if target.resetQuery.isEmpty || !(reset || target.resetAlways) {
            // Every transaction comes here in transaction mode: no closure unless a cancel is on its way.
            if cancelsInFlight == 0 {
                pool?.release(self, reusable: true)
            } else {
                whenCancelsDone { self.pool?.release(self, reusable: true) }
            }
            return
        }
        // DISCARD ALL (the usual reset) drops prepared statements and settings; any other reset query might too.
        statements.removeAll()
        sessionSettings = [:]
        whenCancelsDone {
            self.runInternal(self.target.resetQuery) { error in
                self.pool?.release(self, reusable: error == nil && self.lastStatus == .idle)
            }
        }
    }

    func fail(_ error: PGError) {
        runtime.logger.warning("closing server connection: \(error.message)")
        close()
    }

    func close() {
        if eventLoop.inEventLoop {
            context?.close(promise: nil)
        } else {
            eventLoop.execute { self.context?.close(promise: nil) }
        }
    }
}

extension String {
    var isIPAddress: Bool {
        (try? SocketAddress(ipAddress: self, port: 0)) != nil
    }
}
