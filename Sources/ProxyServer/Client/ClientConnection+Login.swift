// ClientConnection's login: startup packets, authentication, auth_query, then asking a pool for a server.
import Config
import Logging
import NIOCore
import NIOSSL
import PGWire
import PoolCore
import SessionCore

extension ClientConnection {
    // MARK: login

    func processLogin() {
        while true {
            let step: ClientStartup.Step
            switch state {
            case .startup:
                var negotiation: ByteBuffer?
                step = startup.readStartup(&inbound, runtime: runtime, admitted: admitted, negotiation: &negotiation)
                if let negotiation { context?.write(wrapOutboundOut(negotiation), promise: nil) }
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
            case .pooled, .linked, .closed, .lookingUp, .admin:
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
            case .begin(let machine):
                startAuthentication(machine, note: "")
            case .auth(let action):
                handleAuth(action)
            case .lookup(let method, let entry, let authUser, let query):
                state = .lookingUp
                lookUpSecret(method: method, entry: entry, authUser: authUser, query: query)
                return
            }
        }
    }

    func lookUpSecret(method: ClientAuthMethod, entry: DatabaseEntry, authUser: String, query: String) {
        let pool = runtime.pool(entry: entry, clientUser: authUser, clientKeys: nil, clientPassword: nil, forceUser: true)
        let lookup = SecretLookup(runtime: runtime, pool: pool, query: query, user: startup.user, on: eventLoop) { [self] result in
            guard case .lookingUp = state else { return }
            switch result {
            case .failure(let error):
                sendFatal(error)
            case .success(let secret):
                login?.lookedUpSecret = secret
                startAuthentication(ClientAuthMachine(user: startup.user, method: method, secret: secret), note: " (auth_query)")
                processLogin()
            }
        }
        lookup.start()
    }

    /// The one way into authentication, whether the secret came from auth_file or from auth_query.
    func startAuthentication(_ machine: ClientAuthMachine, note: String) {
        var machine = machine
        logLoginAttempt(note)
        let action = machine.start()
        state = .authenticating(machine)
        handleAuth(action)
    }

    func handleAuth(_ action: ClientAuthMachine.Action) {
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

    func authenticated(keys: SCRAMKeys?, password: String?) {
        if let rights = startup.adminRights { return startAdmin(rights) }
        // Login is over: the buffer it was read into is not used again, so an idle client does not keep it.
        if inbound.readableBytes == 0 { inbound = Self.spentBuffer }
        startup.shareParameters(runtime)
        guard let entry = runtime.config.database(named: startup.database) else {
            return sendFatal(.unknownDatabase(startup.database))
        }
        let pool = runtime.pool(entry: entry, clientUser: startup.user, clientKeys: keys, clientPassword: password, lookedUp: login?.lookedUpSecret)
        login?.lookedUpSecret = nil
        let mode = runtime.poolMode(entry: entry, user: startup.user, config: runtime.config)
        // Query and Parse are read for session-changing SQL outside session mode; with prepared statements carried, all the rest too.
        let settings = runtime.settings
        session = ClientSession(mode: mode, carriesStatements: settings.maxPreparedStatements > 0, refusesPins: settings.refusePins,
                                maxFrameLength: settings.maxPacketSize, now: .now())
        desiredSettings = startup.startupSettings
        attachCache(pool)
        counters = runtime.connections(on: eventLoop).counters(for: pool.key)
        counters?.totals.clientLogins += 1
        if mode != .session, let known = pool.welcomeParameters,
           let shown = ReportedParameters.shown(known: known, requested: startup.parametersToApply) {
            // Outside session mode the welcome needs no server when the pool knows what its servers report, and what
            // they would report for the client's own startup parameters (applied on each lease anyway).
            sendWelcome(parameters: shown)
            state = .pooled(pool)
            return
        }
        state = .pooled(pool)
        let now = NIODeadline.now()
        session.awaitServer(now: now)
        lease(from: pool, now: now, atLogin: true)
    }

    /// AuthenticationOk, the parameters as PostgreSQL reports them with the client's startup values, our key,
    /// ReadyForQuery. A linked server's own report already holds those values, in PostgreSQL's spelling of them.
    func sendWelcome(parameters: [String: String]) {
        guard let context else { return }
        welcomed = true
        endLoginTimer()
        var out = context.channel.allocator.buffer(capacity: 512)
        BackendMessage.authentication(.ok).encode(into: &out)
        for (name, value) in parameters.sorted(by: { $0.key < $1.key }) {
            BackendMessage.parameterStatus(name: name, value: value).encode(into: &out)
        }
        BackendMessage.backendKeyData(processID: startup.cancelPID, secretKey: startup.cancelSecret).encode(into: &out)
        BackendMessage.readyForQuery(.idle).encode(into: &out)
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
        runtime.cancelRegistry.register(pid: startup.cancelPID, secret: startup.cancelSecret, client: self)
    }
}
