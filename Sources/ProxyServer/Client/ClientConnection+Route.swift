// Which pool a client's next unit of work leases from: the entry's own, or with read_write_split the pool of the host
// NodeRoutes chose for what the client sent.
import NIOCore
import PGWire
import Routing
import SQLAnalysis
import SessionCore

extension ClientConnection {
    /// Leases for the held batch (or, at login, for the welcome and a session-mode client's whole session).
    func lease(from pool: ServerPool, now: NIODeadline, atLogin: Bool = false) {
        let home = pool.home
        // Set again below only for the held bytes routing reads now.
        session.heldWords = nil
        session.batchOnly = nil
        if cache == nil { attachCache(pool) }
        if cache != nil, !atLogin, writeRetry?.rerouted != true {
            switch cacheStep(pool, now: now) {
            case .answered, .following, .asking:
                routePending = false
                return
            case .incomplete:
                routePending = true
                return
            case .server:
                routePending = false
            }
        }
        guard let routes = home.routes, routes.splits else {
            state = .pooled(home)
            return requestServer(from: home, now: now)
        }
        if session.mode == .session {
            return leaseSession(routes, now: now)
        }
        // The welcome's lease runs nothing of the client's, but what the server reports is what the client is told:
        // the primary's (a standby says in_hot_standby = on), else whichever host the entry's own pool finds.
        if atLogin {
            if case .node(let pool, _) = routes.choose(Self.primaryRequest(now), client: waiterID) { return go(.node(pool, .read), routes: routes, now: now) }
            return go(.home, routes: routes, now: now)
        }
        // A unit taken back from a demoted node goes to the primary, where its BEGIN runs again first.
        if writeRetry?.rerouted == true { return leasePrimary(routes, now: now) }
        let held = session.heldStatements()
        // Not yet the whole batch: the rest decides too (channelRead comes back here as it arrives).
        guard held.complete else {
            // Past the hold limit the client is no longer read: the rest cannot come, so what is held goes to the
            // primary, which can run anything.
            if session.heldBytes > ClientSession.holdLimit { return leasePrimary(routes, now: now) }
            routePending = true
            return
        }
        routePending = false
        let loop = runtime.connections(at: loopIndex)
        // No SQL to read (a FunctionCall, a statement prepared elsewhere): only the primary surely runs it.
        if held.texts.isEmpty { return leasePrimary(routes, now: now) }
        let statements = held.texts.indices.map { i in
            held.texts[i].withUnsafeReadableBytes { text in
                if i < held.ids.count, let id = held.ids[i] { return loop.profiles.profile(id: id, text) }
                return loop.profiles.profile(text)
            }
        }
        session.heldWords = held.oneQuery ? statements[0].profile.sessionWords : nil
        leaseRouted(routes, statements: statements, held: held, readOnlyDefault: desiredSettings["default_transaction_read_only"] == "on", now: now)
    }

    /// Work only the primary surely runs (or whose server's report the client is told).
    private static func primaryRequest(_ now: NIODeadline) -> RouteRequest {
        RouteRequest(unit: .transaction, profile: StatementProfile(), roleOverride: .primary, now: ProxyRuntime.seconds(now))
    }

    private func leasePrimary(_ routes: NodeRoutes, now: NIODeadline) {
        routePending = false
        go(routes.choose(Self.primaryRequest(now), client: waiterID), routes: routes, unit: .transaction, now: now)
    }

    private var roleOverride: RouteRequest.RoleOverride {
        desiredSettings["pgswift.role"].flatMap { RouteRequest.RoleOverride(rawValue: $0.lowercased()) } ?? .any
    }

    private func leaseRouted(_ routes: NodeRoutes, statements: [(profile: StatementProfile, hints: [String])], held: HeldStatements,
                             readOnlyDefault: Bool, now: NIODeadline) {
        var (unit, profile, hints) = RouteUnit.classify(statements, readOnlyDefault: readOnlyDefault)
        if profile.primaryReason == nil, !profile.functions.isEmpty {
            // User functions the database declares VOLATILE may write (read_only_functions, write_functions adjust).
            let s = runtime.settings
            let volatility = FunctionVolatility(volatile: runtime.nodes.volatileFunctions(database: routes.home.target.database),
                                                writeFunctions: s.writeFunctions, readOnlyFunctions: s.readOnlyFunctions)
            if volatility.mayWrite(profile.functions) { profile.primaryReason = .volatileFunction }
        }
        let request = RouteRequest(unit: unit, profile: profile, hints: hints, roleOverride: roleOverride, now: ProxyRuntime.seconds(now))
        go(routes.choose(request, client: waiterID), routes: routes, unit: unit, held: held, now: now)
    }

    /// A session-mode client keeps the node it gets for its whole session: chosen by target_session_attrs (or
    /// pgswift.role), else the primary, as every unit that may write needs.
    private func leaseSession(_ routes: NodeRoutes, now: NIODeadline) {
        var request = RouteRequest(unit: .transaction, profile: StatementProfile(), roleOverride: roleOverride, now: ProxyRuntime.seconds(now))
        var strict = false
        switch desiredSettings[ClientStartup.sessionAttrsSetting] {
        case "read-write"?, "primary"?:
            request.roleOverride = .primary
        case "read-only"?, "standby"?:
            request.unit = .statement
            request.roleOverride = .replica
            strict = true
        case "prefer-standby"?:
            request.unit = .statement
            request.roleOverride = .replica
        case "any"?:
            request.unit = .statement
            request.roleOverride = .any
        default:
            if request.roleOverride != .primary && request.roleOverride != .any { request.unit = .statement }
        }
        go(routes.choose(request, client: waiterID, strictReplica: strict), routes: routes, now: now)
    }

    /// Whether a unit sent to the primary for `reason` may have written: its reads then wait for that write.
    /// Statements sent there only by a hint or pgswift.role are not writes unless they open a transaction.
    private static func mayWrite(_ reason: RouteReason, unit: RouteRequest.Unit?) -> Bool {
        switch reason {
        case .write, .readWriteTransaction: true
        // A primary hint is how a statement the profile cannot see writing (a function) is sent there.
        case .hintPrimary: true
        case .rolePrimary: unit == .transaction
        case .read, .readYourWrites, .primaryFallback, .noSplit, .confirmReplay: false
        }
    }

    /// `held`: what routing read of the held bytes (a replica's link then takes that batch only).
    private func go(_ choice: NodeRoutes.Choice, routes: NodeRoutes, unit: RouteRequest.Unit? = nil, held: HeldStatements? = nil, now: NIODeadline) {
        switch choice {
        case .home:
            routedWrite = false
            primaryUnit = false
            replicaStatement = false
            state = .pooled(routes.home)
            requestServer(from: routes.home, now: now)
        case .node(let pool, let reason):
            routedWrite = session.mode != .session && routes.tracksWrites && Self.mayWrite(reason, unit: unit)
            primaryUnit = session.mode != .session && !reason.isRead
            // Reads the primary takes (a fallback, the client's own writes) are not a replica's to refuse.
            replicaStatement = session.mode != .session && (reason == .read || reason == .confirmReplay) && unit == .statement
            // Only a batch that ends a request (a Flush waits for a Sync the link would then never get).
            if replicaStatement, let held, held.oneQuery || session.heldRequests() != nil { session.batchOnly = session.heldBytes }
            state = .pooled(pool)
            requestServer(from: pool, now: now)
        case .wait:
            // A round trip at most: the primary is telling the position of this client's last write. Only this
            // wait may resume: a cancel and a new request since make another one.
            waitToken &+= 1
            let token = waitToken
            let resume: @Sendable () -> Void = {
                self.eventLoop.execute {
                    guard self.isWaiting, self.waitToken == token, case .pooled(let pool) = self.state else { return }
                    self.lease(from: pool, now: .now())
                }
            }
            guard routes.afterPosition(client: waiterID, resume) else { return lease(from: routes.home, now: now) }
            // A primary that stops answering without closing the connection would keep the read waiting: after
            // health_check_timeout the position is given up, and the read goes to the primary.
            let client = waiterID
            let limit = max(runtime.settings.healthCheckTimeout, 0.1)
            eventLoop.scheduleTask(in: .milliseconds(Int64(limit * 1000))) { routes.giveUpPosition(client: client) }
        case .fail(let why):
            let error = PGError(SQLState.connectionFailure, "pgswift: \(why)", severity: Severity.error)
            // Before the welcome there is no session to keep: the login fails.
            guard welcomed, let (requests, resume) = session.cancelQueued() else {
                return sendFatal(PGError(error.sqlState, error.message, severity: Severity.fatal))
            }
            if resume { holdBack(.held, false) }
            answerHeld(requests: requests, with: error)
        }
    }
}

extension ClientConnection {
    /// A unit that may have written ended on the primary. Its time is noted; with read_your_writes = lsn, for a client
    /// that reads after its writes, the server asks for the commit's WAL position before it goes back to its pool,
    /// and the client's reads wait for it (a round trip).
    func giveBackAfterWrite(_ server: ServerConnection, routes: NodeRoutes, letGo: LetGo, statements: ServerStatementCache?, sameLoop: Bool) {
        routedWrite = false
        let client = waiterID
        let (learn, sequence) = routes.writeEnded(client: client, now: runtime.now())
        guard learn else {
            // Nothing to ask: the server goes back as any other (no closure on the same thread).
            if sameLoop { return server.giveBack(letGo, returning: statements) }
            return server.eventLoop.execute { server.giveBack(letGo, returning: statements) }
        }
        let onServerLoop: @Sendable () -> Void = {
            if let statements { server.statementsReturned(statements) }
            server.whenCancelsDone {
                server.learnWALPosition { lsn in
                    routes.learned(client: client, sequence: sequence, lsn: lsn)
                    server.giveBack(lsn == nil ? .internalFailed : letGo)
                }
            }
        }
        if sameLoop { onServerLoop() } else { server.eventLoop.execute(onServerLoop) }
    }
}
