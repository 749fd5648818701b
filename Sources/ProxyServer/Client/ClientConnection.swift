// One client connection: startup and authentication, waiting for a server, then relaying bytes both ways.
import Config
import Logging
import NIOCore
import NIOSSL
import PGWire
import PoolCore
import SessionCore

/// Mutable state is touched only on `eventLoop`; callbacks from pools and servers hop there first.
final class ClientConnection: ChannelInboundHandler, PoolWaiter, Cancellable, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum State {
        case startup
        /// Boxed: the machine is large and lives only during login, while the enum is part of every idle client.
        indirect case authenticating(ClientAuthMachine)
        /// auth_query is running for this user.
        case lookingUp
        /// Logged in to `ServerPool` without a server: between transactions, waiting for one, or settling (the
        /// session probe), as `session.phase` says. Bytes the client sends while it waits or settles are held.
        case pooled(ServerPool)
        /// A server is this client's (`session.phase` is `.linked`).
        case linked(ServerLink)
        /// Logged in to the admin console; `busy` while a command's answer is pending.
        case admin(AdminRights, busy: Bool)
        case closed
    }

    let waiterID: Int
    let eventLoop: EventLoop
    let loopIndex: Int
    let runtime: ProxyRuntime
    var state = State.startup
    /// Holds a max_client_conn slot.
    var admitted = false
    /// The welcome (AuthenticationOk ... ReadyForQuery) goes out once, on the first link.
    var welcomed = false
    /// Why the client's socket is not read now (empty: it is).
    var readStops: ReadStops = []
    /// read_write_split: the held batch is not whole yet, so its host is chosen when the rest arrives.
    var routePending = false
    /// The unit of work in progress was sent to the primary as one that may write: when it ends, the client's reads
    /// wait for its commit (read_your_writes).
    var routedWrite = false
    /// The unit of work in progress was sent to the primary by its role: a demoted node's refusal may be retried.
    var primaryUnit = false
    /// The unit in progress is a statement outside a transaction, sent to a replica.
    var replicaStatement = false
    /// Which read is waiting for its client's write position (NodeRoutes' `.wait`): a stale resume is ignored.
    var waitToken: UInt8 = 0
    // (The one-byte fields sit after the enum's one-byte tag: each alone would take eight.)
    var context: ChannelHandlerContext?
    var inbound: ByteBuffer
    var startup: ClientStartup
    /// What only a login in progress needs, out of line: dropped at the welcome, so an idle client keeps none of it.
    final class LoginState {
        var timer: Scheduled<Void>?
        /// The secret auth_query returned, which may also serve to log in to the server (md5).
        var lookedUpSecret: ClientSecret?
    }
    var login: LoginState? = LoginState()
    /// The client's protocol life after login (replaced at login, when its pool mode is known).
    var session: ClientSession
    /// The unit of work sent to the primary, kept until a retry of it could no longer be undone (ClientConnection+Reroute).
    var writeRetry: WriteRetry?
    /// A statement outside a transaction sent to a replica, as the client sent it, until its answer starts: a function
    /// that writes (one the checks have not listed yet) is refused there with 25006 and runs on the primary instead.
    var replicaBatch: [ByteBuffer]?
    /// The result cache's part of this client (set at login when the cache is on anywhere).
    var cache: ClientCacheState?
    /// What the client's own SETs left (pg_settings source 'session', as the last probe found them).
    var sessionSettings: [String: String] = [:] {
        didSet { desiredSettings = runtime.canonical(startup.startupSettings.merging(sessionSettings) { _, own in own }) }
    }
    /// Its startup parameters overlaid by those: what every server it lands on must have (kept ready for each lease).
    var desiredSettings: [String: String] = [:] {
        didSet {
            cache?.settingsMaterial = nil
            cache?.searchPath = nil
        }
    }
    /// This loop's counters for the client's pool (fixed at login), and that pool's key.
    var counters: PoolCounters?
    var statsKey: PoolKey? { counters?.key }

    /// What an idle client's login buffer becomes: one empty buffer shared by all (written to, it is copied first).
    static let spentBuffer = ByteBuffer()

    /// How long a client refused for max_client_conn may take to send what it needs to hear why.
    static let refusedGrace = 5.0

    init(context: ChannelHandlerContext, runtime: ProxyRuntime, tlsAvailable: Bool) {
        self.waiterID = runtime.nextID()
        self.eventLoop = context.eventLoop
        self.loopIndex = runtime.loopIndex(of: context.eventLoop)
        self.runtime = runtime
        self.inbound = context.channel.allocator.buffer(capacity: 0)
        self.session = ClientSession(mode: .session, carriesStatements: false, refusesPins: false,
                                     maxFrameLength: runtime.settings.maxPacketSize, now: .now())
        self.startup = ClientStartup(peer: context.channel.remoteAddress, tlsAvailable: tlsAvailable, id: waiterID)
    }

    // MARK: channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func channelActive(context: ChannelHandlerContext) {
        self.context = context
        // One not admitted is refused once its StartupMessage is read (ClientStartup): an SSLRequest is answered first,
        // or libpq would report "received invalid response to SSL negotiation" instead of the reason.
        if runtime.admitClient() {
            admitted = true
            // Only admitted clients are listed (SHOW CLIENTS, /metrics, what max_client_conn counts); a console login
            // let in at a full pooler is listed once it is in (startAdmin).
            runtime.connections(on: eventLoop).clients[waiterID] = self
        }
        var timeout = runtime.settings.clientLoginTimeout
        if !admitted {
            // Not counted against max_client_conn, so not left open long: enough for the few packets that get it its
            // answer, or for a console login (let in when the pooler is full) to authenticate.
            timeout = timeout > 0 ? min(timeout, Self.refusedGrace) : Self.refusedGrace
        }
        if timeout > 0 {
            login?.timer = context.eventLoop.scheduleTask(in: .milliseconds(Int64(timeout * 1000))) { [self] in
                switch state {
                case .startup where !admitted: sendFatal(.tooManyClients())
                case .startup, .authenticating, .lookingUp: sendFatal(.loginTimeout())
                case .pooled where !welcomed: sendFatal(.loginTimeout())
                case .pooled, .linked, .closed, .admin: break
                }
            }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        switch state {
        case .linked, .pooled:
            counters?.totals.received += buffer.readableBytes
            let now = NIODeadline.now()
            // Bytes held behind a batch its link took alone are not sent there.
            if writeRetry != nil || replicaBatch != nil, case .linked = state, !session.holdingAfterBatch { writeRetrySent(buffer) }
            run(session.read(buffer, searchPath: desiredSettings["search_path"] ?? "", catalog: runtime.statementCatalog, now: now), now: now)
            if routePending, case .pooled(let pool) = state, isWaiting { lease(from: pool, now: now) }
        case .startup, .authenticating, .lookingUp:
            inbound.writeBuffer(&buffer)
            processLogin()
        case .admin:
            inbound.writeBuffer(&buffer)
            // A console that sends faster than its commands are answered is held back by TCP, not by memory.
            if inbound.readableBytes >= 1 << 20 { holdBack(.held, true) }
            adminRead()
        case .closed:
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        guard case .linked(let link) = state else { return }
        // The time of the read just ended: one clock read per event.
        flush(to: link, now: session.clock.lastRequest)
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
        guard case .linked(let link) = state else { return }
        let writable = context.channel.isWritable
        link.server.eventLoop.execute { link.server.setReading(writable) }
    }
}

/// A server lent to a client, and the pool it came from.
struct ServerLink {
    let server: ServerConnection
    let pool: ServerPool
    /// Client and server on one thread: handed to each other without a hop.
    let sameLoop: Bool
}
