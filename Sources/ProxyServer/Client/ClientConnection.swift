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
    let startup: ClientStartup
    var loginTimer: Scheduled<Void>?
    var admitted = false
    /// The secret auth_query returned, which may also serve to log in to the server (md5).
    var lookedUpSecret: ClientSecret?
    /// The client's protocol life after login (replaced at login, when its pool mode is known).
    var session: ClientSession
    /// The welcome (AuthenticationOk ... ReadyForQuery) goes out once, on the first link.
    var welcomed = false
    /// The linked server, kept outside `state` so the data path reads it without copying the enum.
    var linkedServer: ServerConnection?
    var linkedSameLoop = false
    /// The pool of the current link (kept beside `state` for the same reason).
    var currentPool: ServerPool?
    /// What the client's own SETs left (pg_settings source 'session', as the last probe found them).
    var sessionSettings: [String: String] = [:] {
        didSet { desiredSettings = runtime.canonical(startup.startupSettings.merging(sessionSettings) { _, own in own }) }
    }
    /// Its startup parameters overlaid by those: what every server it lands on must have (kept ready for each lease).
    var desiredSettings: [String: String] = [:]
    /// This loop's counters for the client's pool (fixed at login), and that pool's key.
    var counters: PoolCounters?
    var statsKey: PoolKey?

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
            loginTimer = context.eventLoop.scheduleTask(in: .milliseconds(Int64(timeout * 1000))) { [self] in
                switch state {
                case .startup where !admitted: sendFatal(.tooManyClients())
                case .startup, .authenticating, .lookingUp: sendFatal(.loginTimeout())
                case .waiting where !welcomed: sendFatal(.loginTimeout())
                case .waiting, .unlinked, .linked, .closed, .admin, .settling: break
                }
            }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        session.clock.lastRequest = .now()
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
            // A PQprepare of a statement PostgreSQL already accepted needs no server.
            if let reply = session.answerLocally(buffer, searchPath: desiredSettings["search_path"] ?? "", catalog: runtime.statementCatalog) {
                counters?.totals.sent += reply.readableBytes
                context.writeAndFlush(wrapOutboundOut(reply), promise: nil)
                return
            }
            // The first bytes of the next transaction: they wait for a server.
            hold(buffer)
            state = .waiting(pool)
            session.clock.waitStarted = session.clock.lastRequest
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
        if session.hold(buffer) { setReadingFromClient(false) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // Replies made up in place of dropped messages travel even when no byte does.
        guard let server = linkedServer, !session.outgoing.isEmpty || !session.expected.isEmpty else { return }
        if linkedSameLoop {
            // Same thread: hand the arrays over without copying them, then reuse their storage (emptied
            // first, as the server may answer and change this client's link before the call returns).
            var batch: [ByteBuffer] = [], replies: [PendingReply] = []
            swap(&batch, &session.outgoing)
            swap(&replies, &session.expected)
            server.writeFromClient(batch, expected: replies)
            batch.removeAll(keepingCapacity: true)
            replies.removeAll(keepingCapacity: true)
            if session.outgoing.isEmpty { swap(&batch, &session.outgoing) }
            if session.expected.isEmpty { swap(&replies, &session.expected) }
        } else {
            let batch = session.outgoing, replies = session.expected
            session.outgoing = []
            session.expected = []
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
}
