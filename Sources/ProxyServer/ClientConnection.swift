// One client connection: startup and authentication, waiting for a server, then relaying bytes both ways.
import Config
import Logging
import NIOCore
import NIOSSL
import PGWire
import PoolCore

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
        case linked(ServerConnection, ServerPool)
        case closed
    }

    let waiterID: Int
    let eventLoop: EventLoop
    let runtime: ProxyRuntime
    private var state = State.startup
    private var context: ChannelHandlerContext?
    private var inbound: ByteBuffer
    private var held: [ByteBuffer] = []
    private var heldBytes = 0
    private var outgoing: [ByteBuffer] = []
    private var splitter: FrameSplitter
    let startup: ClientStartup
    private var loginTimer: Scheduled<Void>?
    private var admitted = false
    /// The secret auth_query returned, which may also serve to log in to the server (md5).
    private var lookedUpSecret: ClientSecret?
    /// Queries and Syncs sent to the server; each is answered by one ReadyForQuery.
    private var sentSyncs = 0
    /// Extended-protocol messages sent since the last Sync: the server's state is not known until it.
    private var unsynced = false
    /// The linked server, kept outside `state` so the data path reads it without copying the enum.
    private var linkedServer: ServerConnection?
    private var linkedSameLoop = false

    init(context: ChannelHandlerContext, runtime: ProxyRuntime, tlsAvailable: Bool) {
        self.waiterID = runtime.nextID()
        self.eventLoop = context.eventLoop
        self.runtime = runtime
        self.inbound = context.channel.allocator.buffer(capacity: 512)
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
        let timeout = runtime.config.seconds("client_login_timeout")
        if timeout > 0 {
            loginTimer = context.eventLoop.scheduleTask(in: .milliseconds(Int64(timeout * 1000))) { [self] in
                switch state {
                case .startup, .authenticating, .lookingUp, .waiting: sendFatal(.loginTimeout())
                case .linked, .closed: break
                }
            }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if linkedServer != nil {
            relay(buffer)
            return
        }
        switch state {
        case .linked:
            relay(buffer)
        case .waiting:
            // A client may pipeline its first queries before ReadyForQuery; more than a little is held back by TCP.
            heldBytes += buffer.readableBytes
            held.append(buffer)
            if heldBytes > 1 << 20 { setReadingFromClient(false) }
        case .startup, .authenticating, .lookingUp:
            inbound.writeBuffer(&buffer)
            processLogin()
        case .closed:
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        guard let server = linkedServer, !outgoing.isEmpty else { return }
        if linkedSameLoop {
            // Same thread: hand the array over without copying it, then reuse its storage.
            server.writeFromClient(outgoing)
            outgoing.removeAll(keepingCapacity: true)
        } else {
            let batch = outgoing
            outgoing = []
            server.eventLoop.execute { server.writeFromClient(batch) }
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
        guard case .linked(let server, _) = state else { return }
        let writable = context.channel.isWritable
        server.eventLoop.execute { server.setReading(writable) }
    }

    // MARK: login

    private func processLogin() {
        while true {
            let step: ClientStartup.Step
            switch state {
            case .startup:
                step = startup.readStartup(&inbound, runtime: runtime)
            case .authenticating(var machine):
                do {
                    guard let (type, body) = try WholeFrameReader.next(&inbound, maxLength: 65536) else { return }
                    guard type == FrontendMessage.Code.authenticationResponse else {
                        if type == FrontendMessage.Code.terminate { return close() }
                        return sendFatal(.protocolViolation("expected a password message, got \(describeType(type))"))
                    }
                    let action = machine.receive(body)
                    state = .authenticating(machine)
                    step = .auth(action)
                } catch let error as ProtocolViolation {
                    return sendFatal(.protocolViolation(error.message))
                } catch {
                    return sendFatal(.protocolViolation("\(error)"))
                }
            case .waiting, .linked, .closed, .lookingUp:
                return
            }
            switch step {
            case .needMore:
                return
            case .reply(let bytes):
                context?.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
            case .startTLS(let bytes):
                context?.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
                guard let tls = runtime.loaded.clientTLS, let context else { return sendFatal(.protocolViolation("TLS is not configured")) }
                do {
                    try context.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls), position: .first)
                } catch {
                    return sendFatal(.protocolViolation("TLS setup failed: \(error)"))
                }
            case .cancel(let pid, let secret):
                _ = runtime.cancelRegistry.cancel(pid: pid, secret: secret)
                return close()
            case .fail(let error):
                return sendFatal(error)
            case .begin(var machine, let negotiate):
                if let negotiate { context?.write(wrapOutboundOut(negotiate), promise: nil) }
                logLoginAttempt("")
                let action = machine.start()
                state = .authenticating(machine)
                handleAuth(action)
            case .auth(let action):
                handleAuth(action)
            case .lookup(let method, let entry, let authUser, let query):
                state = .lookingUp
                lookUpSecret(method: method, entry: entry, authUser: authUser, query: query)
                return
            }
        }
    }

    private func lookUpSecret(method: ClientAuthMethod, entry: DatabaseEntry, authUser: String, query: String) {
        let pool = runtime.pool(entry: entry, clientUser: authUser, clientKeys: nil, clientPassword: nil, forceUser: true)
        let lookup = SecretLookup(runtime: runtime, pool: pool, query: query, user: startup.user, on: eventLoop) { [self] result in
            guard case .lookingUp = state else { return }
            switch result {
            case .failure(let error):
                sendFatal(error)
            case .success(let secret):
                lookedUpSecret = secret
                var machine = ClientAuthMachine(user: startup.user, method: method, secret: secret)
                if let n = startup.pendingNegotiate { context?.write(wrapOutboundOut(n), promise: nil) }
                logLoginAttempt(" (auth_query)")
                let action = machine.start()
                state = .authenticating(machine)
                handleAuth(action)
                processLogin()
            }
        }
        lookup.start()
    }

    private func handleAuth(_ action: ClientAuthMachine.Action) {
        switch action {
        case .send(let request):
            var out = context!.channel.allocator.buffer(capacity: 64)
            BackendMessage.authentication(request).encode(into: &out)
            context?.writeAndFlush(wrapOutboundOut(out), promise: nil)
        case .sendThenAuthenticated(let request, let keys, let password):
            var out = context!.channel.allocator.buffer(capacity: 64)
            BackendMessage.authentication(request).encode(into: &out)
            context?.write(wrapOutboundOut(out), promise: nil)
            authenticated(keys: keys, password: password)
        case .authenticated(let keys, let password):
            authenticated(keys: keys, password: password)
        case .fail(let error):
            runtime.logger.warning("C-\(waiterID): \(startup.database)/\(startup.user)@\(startup.peerText) login failed: \(error.message)")
            sendFatal(error)
        }
    }

    private func authenticated(keys: SCRAMKeys?, password: String?) {
        guard let entry = runtime.config.database(named: startup.database) else {
            return sendFatal(.unknownDatabase(startup.database))
        }
        let pool = runtime.pool(entry: entry, clientUser: startup.user, clientKeys: keys, clientPassword: password, lookedUp: lookedUpSecret)
        state = .waiting(pool)
        runtime.whenNotPaused { pool.lease(for: self) }
    }

    // MARK: PoolWaiter

    func serverAssigned(_ server: ServerConnection) {
        guard eventLoop.inEventLoop else { return eventLoop.execute { self.serverAssigned(server) } }
        guard case .waiting(let pool) = state else {
            // Gone while waiting: the server was never touched, so it goes straight back.
            server.pool?.release(server, reusable: true)
            return
        }
        let wanted = startup.parametersToApply
        server.eventLoop.execute {
            let sql = ParameterSync.statements(wanted: wanted, current: server.parameters)
            let proceed: (PGError?) -> Void = { error in
                if error == nil { server.link(self) }
                let params = server.parameters
                self.eventLoop.execute { self.linkCompleted(server, pool: pool, parameters: params, error: error) }
            }
            if sql.isEmpty { proceed(nil) } else { server.runInternal(sql, done: proceed) }
        }
    }

    private func linkCompleted(_ server: ServerConnection, pool: ServerPool, parameters: [String: String], error: PGError?) {
        guard case .waiting = state, context != nil else {
            // The client left while its parameters were being applied.
            server.eventLoop.execute { if error == nil { server.release(clean: true) } else { pool.release(server, reusable: true) } }
            return
        }
        if let error {
            server.eventLoop.execute { pool.release(server, reusable: true) }
            return sendFatal(PGError(error.sqlState, error.message, severity: "FATAL"))
        }
        loginTimer?.cancel()
        state = .linked(server, pool)
        linkedServer = server
        linkedSameLoop = server.eventLoop === eventLoop
        var out = context!.channel.allocator.buffer(capacity: 512)
        BackendMessage.authentication(.ok).encode(into: &out)
        for (name, value) in parameters.sorted(by: { $0.key < $1.key }) {
            BackendMessage.parameterStatus(name: name, value: value).encode(into: &out)
        }
        BackendMessage.backendKeyData(processID: startup.cancelPID, secretKey: startup.cancelSecret).encode(into: &out)
        BackendMessage.readyForQuery(.idle).encode(into: &out)
        context!.writeAndFlush(wrapOutboundOut(out), promise: nil)
        runtime.cancelRegistry.register(pid: startup.cancelPID, secret: startup.cancelSecret, client: self)
        let early = held
        held = []
        if heldBytes > 1 << 20 { setReadingFromClient(true) }
        heldBytes = 0
        for b in early { relay(b) }
        if !outgoing.isEmpty, let context { channelReadComplete(context: context) }
    }

    func poolFailed(_ error: PGError) {
        guard eventLoop.inEventLoop else { return eventLoop.execute { self.poolFailed(error) } }
        guard case .waiting = state else { return }
        sendFatal(error)
    }

    // MARK: relaying

    private func relay(_ buffer: ByteBuffer) {
        do {
            try splitter.feed(buffer) { event in
                switch event {
                case .bytes(let b):
                    outgoing.append(b)
                case .counted(let type):
                    switch type {
                    case FrontendMessage.Code.query, FrontendMessage.Code.sync, FrontendMessage.Code.functionCall:
                        sentSyncs += 1
                        unsynced = false
                    default:
                        unsynced = true
                    }
                case .intercepted:
                    // Terminate: the server stays open for the next client.
                    throw ClientClosing()
                case .observed:
                    break
                }
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

    func deliverFromServer(_ buffers: [ByteBuffer]) {
        guard let context, linkedServer != nil else { return }
        if buffers.count == 1 {
            context.writeAndFlush(wrapOutboundOut(buffers[0]), promise: nil)
            return
        }
        for b in buffers { context.write(wrapOutboundOut(b), promise: nil) }
        context.flush()
    }

    func serverWentAway(_ error: PGError) {
        guard case .linked = state else { return }
        state = .closed
        linkedServer = nil
        runtime.cancelRegistry.unregister(pid: startup.cancelPID)
        sendFatal(error)
    }

    func setReadingFromClient(_ on: Bool) {
        context?.channel.setOption(ChannelOptions.autoRead, value: on).whenComplete { _ in }
    }

    func cancelRequested() {
        guard eventLoop.inEventLoop else { return eventLoop.execute { self.cancelRequested() } }
        guard case .linked(let server, _) = state else { return }
        runtime.cancelRegistry.sendCancel(host: server.target.host, port: server.target.port, pid: server.backendPID, secret: server.backendSecret, on: eventLoop)
    }

    // MARK: ending

    /// Gives the server back (clean or not) and forgets the client; safe to call more than once.
    private func finish(reason: String) {
        let previous = state
        state = .closed
        linkedServer = nil
        loginTimer?.cancel()
        switch previous {
        case .linked(let server, _):
            let clean = !unsynced && splitter.atFrameBoundary
            let expected = sentSyncs
            server.eventLoop.execute { server.release(clean: clean && server.readyCount == expected) }
            runtime.cancelRegistry.unregister(pid: startup.cancelPID)
            logClose(reason)
        case .waiting(let pool):
            pool.cancelWait(self)
            logClose(reason)
        case .startup, .authenticating, .lookingUp, .closed:
            break
        }
        if admitted {
            admitted = false
            runtime.clientGone()
        }
    }

    private func logLoginAttempt(_ note: String) {
        if runtime.config.bool("log_connections") {
            runtime.logger.info("C-\(waiterID): \(startup.database)/\(startup.user)@\(startup.peerText) login attempt: db=\(startup.database) user=\(startup.user) tls=\(startup.tls ? "yes" : "no")\(note)")
        }
    }

    private func logClose(_ reason: String) {
        if runtime.config.bool("log_disconnections") {
            runtime.logger.info("C-\(waiterID): \(startup.database)/\(startup.user)@\(startup.peerText) closing because: \(reason) (age=\(startup.age)s)")
        }
    }

    /// Sends a FATAL ErrorResponse and closes; the server link, if any, is released first.
    func sendFatal(_ error: PGError) {
        guard let context else { return }
        if case .closed = state {} else {
            finish(reason: error.message)
        }
        var out = context.channel.allocator.buffer(capacity: 128)
        error.encode(into: &out)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(out)).whenComplete { _ in channel.close(promise: nil) }
    }

    private func close() {
        finish(reason: "client close request")
        context?.close(promise: nil)
    }
}

private struct ClientClosing: Error {}
