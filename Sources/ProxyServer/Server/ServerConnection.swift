// One connection to a PostgreSQL server: login, then relaying to whichever client holds it, then reset for the next.
import Foundation
import Logging
import NIOCore
import NIOSSL
import PGWire
import PoolCore
import SessionCore

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
        /// Lent to a client.
        case linked(ClientLink)
        /// Running a query of pgswift's own (SET, server_reset_query): its answer is not for any client.
        case internalQuery(done: (PGError?) -> Void)
        case closed
    }

    let id: Int
    let eventLoop: EventLoop
    let target: ServerTarget
    /// Which host of the target's list this connection is to (set before each attempt while connecting).
    var hostIndex = 0
    var address: ServerAddress { target.addresses[hostIndex] }
    /// Strong: pools live as long as the process, and a weak reference would put every retain of the pool
    /// (one per lease) on the runtime's slow side-table path.
    let pool: ServerPool?
    let runtime: ProxyRuntime
    var state = State.connecting
    var context: ChannelHandlerContext?
    var backendPID: Int32 = 0
    var backendSecret: Int32 = 0
    /// The protocol side of the connection: what it owes and says, counted, without the socket.
    var session: ServerSession
    /// For pgswift's own queries, which also need the rows (auth_query).
    var internalSplitter = FrameSplitter(rules: ServerConnection.internalRules)
    static let internalRules = FrameRules(
        intercept: FrameTypeSet(),
        observe: FrameTypeSet([BackendMessage.Code.readyForQuery, BackendMessage.Code.parameterStatus, BackendMessage.Code.errorResponse, BackendMessage.Code.dataRow,
                               BackendMessage.Code.notificationResponse]),
        maxFrameLength: 1 << 20)
    /// The first row an internal query returned.
    var internalRow: [ByteBuffer?]?
    var internalError: PGError?
    private var budgetReleased = false
    /// This loop's counters for the pool, and the marks query and transaction times are measured from.
    var counters: PoolCounters?
    var lastWrite = NIODeadline.now()
    var lastReady = NIODeadline.now()
    var transactionStart: NIODeadline?
    /// When the server's bytes were last read: one clock read times the queries they end and dates their delivery.
    var readAt = NIODeadline.now()
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
    var lastUsed = NIODeadline.now()
    var linkedClient: ClientConnection? {
        if case .linked(let link) = state { return link.client }
        return nil
    }
    var linkedClientID: Int? { linkedClient?.waiterID }
    /// When the server last did anything for a client: server_check_delay counts from here.
    var lastActivity: NIODeadline { max(lastUsed, lastReady) }
    /// How many prepared statements the server holds (while lent to its client, as many as when they were lent).
    var statementCount: Int { session.statements?.count ?? session.lentCount }
    /// The statements, when this loop may read them: lent to a client on this loop, they are read where they are.
    var statementsIfOwned: ServerStatementCache? {
        if let own = session.statements { return own }
        if case .linked(let link) = state, link.sameLoop { return link.client.session.lentStatements }
        return nil
    }
    var parameters: [String: String] { session.parameters }
    var lastStatus: TransactionStatus { session.status }
    var linkedApplicationName: String { linkedClient?.startup.parametersToApply["application_name"] ?? "" }

    /// Made only by `connect` (ServerConnection+Connect).
    init(id: Int, target: ServerTarget, pool: ServerPool, runtime: ProxyRuntime, eventLoop: EventLoop) {
        self.id = id
        self.target = target
        self.pool = pool
        self.runtime = runtime
        self.eventLoop = eventLoop
        self.session = ServerSession(statementCapacity: runtime.settings.maxPreparedStatements)
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
        // Every read, linked or not: a server linked by the callback of an internal query delivers at this read's end.
        readAt = .now()
        if case .linked = state { return relay(buffer) }
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
        case .internalQuery:
            swallow(buffer)
        case .idle:
            // An idle server may send a notice or a termination notice (admin shutdown); it cannot be reused.
            runtime.logger.info("server \(address) pid \(backendPID) sent data while idle; closing it")
            close()
        case .connecting, .closed, .linked:
            // Linked: taken first, above.
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
        let previous = state
        state = .closed
        self.context = nil
        switch previous {
        case .login, .connecting, .tlsRequested:
            pool?.connectFailed(.serverUnreachable("server closed the connection during login"))
        case .linked(let link):
            pool?.serverClosed(self)
            let err = PGError.serverUnreachable("server closed the connection unexpectedly")
            let told = session.toldFatal, peer = link.client
            peer.eventLoop.execute { peer.serverWentAway(err, told: told, server: self) }
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
        if case .linked(let link) = state {
            let peer = link.client, writable = context.channel.isWritable
            peer.eventLoop.execute { peer.holdBack(.serverFull, !writable) }
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

/// A client the server is lent to.
struct ClientLink {
    let client: ClientConnection
    /// Server and client on one thread: handed to each other without a hop.
    let sameLoop: Bool
}
