// One connection to a PostgreSQL server: login, then relaying to whichever client holds it, then reset for the next.
import Logging
import NIOCore
import NIOPosix
import PGWire
import PoolCore

/// The side of a link that receives server bytes (a client connection).
protocol ServerPeer: AnyObject, Sendable {
    var eventLoop: EventLoop { get }
    /// Called on the peer's event loop with bytes to forward to the client, and whether to flush.
    func deliverFromServer(_ buffers: [ByteBuffer])
    func serverWentAway(_ error: PGError)
    func setReadingFromClient(_ on: Bool)
}

/// Mutable state is touched only on `eventLoop`; other threads hop there first.
final class ServerConnection: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum State {
        case connecting
        case login(ServerLoginMachine, ByteBuffer)
        case idle
        case linked(any ServerPeer)
        /// Running a query of pgswift's own (SET, server_reset_query): its answer is not for any client.
        case internalQuery(done: (PGError?) -> Void)
        case closed
    }

    let id: Int
    let eventLoop: EventLoop
    let target: ServerTarget
    weak var pool: ServerPool?
    private let runtime: ProxyRuntime
    private var state = State.connecting
    private var context: ChannelHandlerContext?
    private(set) var parameters: [String: String] = [:]
    private(set) var backendPID: Int32 = 0
    private(set) var backendSecret: Int32 = 0
    private var splitter: FrameSplitter
    /// ReadyForQuery messages received while linked, and the status the last one carried.
    private(set) var readyCount = 0
    private(set) var lastStatus = TransactionStatus.idle
    private var outgoing: [ByteBuffer] = []
    private var internalError: PGError?

    private init(id: Int, target: ServerTarget, pool: ServerPool, runtime: ProxyRuntime, eventLoop: EventLoop) {
        self.id = id
        self.target = target
        self.pool = pool
        self.runtime = runtime
        self.eventLoop = eventLoop
        self.splitter = FrameSplitter(
            intercept: FrameTypeSet(),
            observe: FrameTypeSet([BackendMessage.Code.readyForQuery, BackendMessage.Code.parameterStatus, BackendMessage.Code.errorResponse]),
            maxFrameLength: Int(Int32.max))
    }

    static func connect(target: ServerTarget, pool: ServerPool, runtime: ProxyRuntime, on loop: EventLoop) {
        let conn = ServerConnection(id: runtime.nextID(), target: target, pool: pool, runtime: runtime, eventLoop: loop)
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(.milliseconds(Int64(max(target.connectTimeout, 0.1) * 1000)))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
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
            pool.connectFailed(.serverUnreachable("could not connect to server \(target.host):\(target.port): \(error)"))
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        self.context = context
        let machine = ServerLoginMachine(user: target.user, credential: target.credential)
        state = .login(machine, context.channel.allocator.buffer(capacity: 256))
        var out = context.channel.allocator.buffer(capacity: 128)
        ServerLoginMachine.startupPacket(user: target.user, database: target.database, parameters: target.startupParameters).encode(into: &out)
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        switch state {
        case .login(var machine, var pending):
            var input = buffer
            pending.writeBuffer(&input)
            state = .connecting
            loginRead(context: context, machine: &machine, pending: &pending)
        case .linked(let peer):
            do {
                try splitter.feed(buffer) { event in
                    switch event {
                    case .bytes(let b): outgoing.append(b)
                    case .observed(let type, var body): observe(type, &body)
                    case .intercepted, .counted: break
                    }
                }
            } catch {
                fail(.protocolViolation("server sent a malformed message: \(error)"))
                return
            }
            _ = peer
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

    func channelReadComplete(context: ChannelHandlerContext) {
        guard case .linked(let peer) = state, !outgoing.isEmpty else { return }
        let batch = outgoing
        outgoing.removeAll(keepingCapacity: true)
        if peer.eventLoop === eventLoop {
            peer.deliverFromServer(batch)
        } else {
            peer.eventLoop.execute { peer.deliverFromServer(batch) }
        }
    }

    private func observe(_ type: UInt8, _ body: inout ByteBuffer) {
        if type == BackendMessage.Code.readyForQuery {
            readyCount += 1
            if let raw = body.readInteger(as: UInt8.self), let s = TransactionStatus(rawValue: raw) { lastStatus = s }
        } else if type == BackendMessage.Code.parameterStatus, let name = body.readNullTerminatedString(), let value = body.readNullTerminatedString() {
            parameters[name] = value
        }
    }

    private func loginRead(context: ChannelHandlerContext, machine: inout ServerLoginMachine, pending: inout ByteBuffer) {
        do {
            while let (type, body) = try WholeFrameReader.next(&pending, maxLength: 1 << 20) {
                let message = try BackendMessage.decode(type: type, body: body)
                switch machine.receive(message) {
                case .send(let m):
                    var out = context.channel.allocator.buffer(capacity: 128)
                    m.encode(into: &out)
                    context.writeAndFlush(wrapOutboundOut(out), promise: nil)
                case .wait:
                    continue
                case .ready(let params, let pid, let key):
                    parameters = params
                    backendPID = pid
                    backendSecret = key
                    state = .idle
                    runtime.logger.debug("new server connection \(target.host):\(target.port) pid \(pid) for \(target.database)/\(target.user)")
                    pool?.connected(self)
                    return
                case .fail(let error):
                    state = .closed
                    context.close(promise: nil)
                    pool?.connectFailed(error)
                    return
                }
            }
            state = .login(machine, pending)
        } catch {
            state = .closed
            context.close(promise: nil)
            pool?.connectFailed(.serverUnreachable("server sent a malformed login message: \(error)"))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        let previous = state
        state = .closed
        self.context = nil
        switch previous {
        case .login, .connecting:
            pool?.connectFailed(.serverUnreachable("server closed the connection during login"))
        case .linked(let peer):
            pool?.serverClosed(self)
            let err = PGError.serverUnreachable("server closed the connection unexpectedly")
            peer.eventLoop.execute { peer.serverWentAway(err) }
        case .internalQuery(let done):
            pool?.serverClosed(self)
            done(.serverUnreachable("server closed the connection unexpectedly"))
        case .idle, .closed:
            pool?.serverClosed(self)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        runtime.logger.debug("server connection error: \(error)")
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if case .linked(let peer) = state {
            let writable = context.channel.isWritable
            peer.eventLoop.execute { peer.setReadingFromClient(writable) }
        }
    }

    // MARK: used by the client side (always on `eventLoop`)

    func link(_ peer: any ServerPeer) {
        eventLoop.preconditionInEventLoop()
        readyCount = 0
        state = .linked(peer)
    }

    /// Forwards client bytes; `flush` at the end of a read batch.
    func writeFromClient(_ buffers: [ByteBuffer]) {
        guard let context, case .linked = state else { return }
        for b in buffers { context.write(wrapOutboundOut(b), promise: nil) }
        context.flush()
    }

    func setReading(_ on: Bool) {
        context?.channel.setOption(ChannelOptions.autoRead, value: on).whenComplete { _ in }
    }

    /// Runs SQL of pgswift's own and calls `done` with the first error, once the server is ready again.
    func runInternal(_ sql: String, done: @escaping (PGError?) -> Void) {
        eventLoop.preconditionInEventLoop()
        guard let context else { return done(.serverUnreachable("server connection closed")) }
        internalError = nil
        state = .internalQuery(done: done)
        var out = context.channel.allocator.buffer(capacity: sql.utf8.count + 6)
        FrontendMessage.query(sql).encode(into: &out)
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
    }

    private func swallow(_ buffer: ByteBuffer) {
        var finished = false
        do {
            try splitter.feed(buffer) { event in
                guard case .observed(let type, var body) = event else { return }
                switch type {
                case BackendMessage.Code.readyForQuery:
                    observe(type, &body)
                    finished = true
                case BackendMessage.Code.errorResponse:
                    if internalError == nil, case .errorResponse(let f)? = try? BackendMessage.decode(type: type, body: body) {
                        internalError = PGError(f.sqlState ?? "XX000", f.message ?? "error", severity: f["S"] ?? "ERROR")
                    }
                default:
                    observe(type, &body)
                }
            }
        } catch {
            fail(.protocolViolation("server sent a malformed message: \(error)"))
            return
        }
        guard finished, case .internalQuery(let done) = state else { return }
        state = .idle
        let error = internalError
        internalError = nil
        done(error)
    }

    /// The client is finished with this server: reuse it if it is clean, otherwise cancel and close it.
    func release(clean clientClean: Bool) {
        eventLoop.preconditionInEventLoop()
        guard case .linked = state else { return }
        state = .idle
        let clean = clientClean && lastStatus == .idle && splitter.atFrameBoundary
        guard clean, context != nil else {
            runtime.cancelRegistry.sendCancel(host: target.host, port: target.port, pid: backendPID, secret: backendSecret, on: eventLoop)
            pool?.release(self, reusable: false)
            return
        }
        if target.resetQuery.isEmpty {
            pool?.release(self, reusable: true)
            return
        }
        runInternal(target.resetQuery) { [weak self] error in
            guard let self else { return }
            self.pool?.release(self, reusable: error == nil && self.lastStatus == .idle)
        }
    }

    private func fail(_ error: PGError) {
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
