// The pool for one (database, user): which server goes to which waiting client, when to connect and close. No I/O.

/// Limits of one pool, from the config snapshot (times in seconds; 0 disables a timeout,
/// except serverLifetime, where 0 means each server is used once, as PgBouncer's server_lifetime = 0).
public struct PoolLimits: Sendable, Equatable {
    public var poolSize: Int
    public var minPoolSize: Int
    public var reservePoolSize: Int
    public var reservePoolTimeout: Double
    public var serverLifetime: Double
    public var serverIdleTimeout: Double
    public var queryWaitTimeout: Double
    /// server_login_retry: after a failed connect, new clients get that error at once for this long.
    public var loginRetry: Double

    public init(poolSize: Int = 20, minPoolSize: Int = 0, reservePoolSize: Int = 0, reservePoolTimeout: Double = 5,
                serverLifetime: Double = 3600, serverIdleTimeout: Double = 600, queryWaitTimeout: Double = 120,
                loginRetry: Double = 15) {
        self.loginRetry = loginRetry
        self.poolSize = poolSize
        self.minPoolSize = minPoolSize
        self.reservePoolSize = reservePoolSize
        self.reservePoolTimeout = reservePoolTimeout
        self.serverLifetime = serverLifetime
        self.serverIdleTimeout = serverIdleTimeout
        self.queryWaitTimeout = queryWaitTimeout
    }
}

public struct PoolStateMachine<ServerID: Hashable & Sendable, WaiterID: Hashable & Sendable>: Sendable {
    public enum Action: Equatable, Sendable {
        /// Open one new server connection, preferably on event loop `affinity`.
        case connect(affinity: Int)
        case assign(ServerID, to: WaiterID)
        case fail(WaiterID, PGErrorInfo)
        case close(ServerID)
    }

    struct Server: Sendable {
        var createdAt: Double
        var idleSince: Double?
        var affinity: Int
    }

    struct Waiter: Sendable {
        var id: WaiterID
        var since: Double
        var affinity: Int
    }

    public var limits: PoolLimits
    private(set) var servers: [ServerID: Server] = [:]
    /// Idle servers, most recently used last (reused first: its caches are warm).
    private(set) var idle: [ServerID] = []
    private(set) var waiters: [Waiter] = []
    private var waiterHead = 0
    public private(set) var connecting = 0
    /// The last failed connect, while no connect has succeeded since.
    private(set) var lastFailure: (at: Double, error: PGErrorInfo)?

    public init(limits: PoolLimits) {
        self.limits = limits
    }

    public var activeCount: Int { servers.count - idle.count }
    public var idleCount: Int { idle.count }
    public var openCount: Int { servers.count }
    public var waitingCount: Int { waiters.count - waiterHead }
    /// Seconds the longest-waiting client has waited.
    public func longestWait(now: Double) -> Double {
        waiterHead < waiters.count ? now - waiters[waiterHead].since : 0
    }

    private var capacity: Int { limits.poolSize == 0 ? Int.max : limits.poolSize }

    private func inRetryWindow(_ now: Double) -> Bool {
        guard let f = lastFailure else { return false }
        return now - f.at < limits.loginRetry
    }

    public mutating func lease(_ waiter: WaiterID, affinity: Int, now: Double) -> [Action] {
        if let server = takeIdle(affinity: affinity) {
            return [.assign(server, to: waiter)]
        }
        // The server just refused us: say so at once rather than hammer it (PgBouncer's server_login_retry).
        if servers.isEmpty && connecting == 0, inRetryWindow(now), let f = lastFailure {
            return [.fail(waiter, f.error)]
        }
        waiters.append(Waiter(id: waiter, since: now, affinity: affinity))
        if servers.count + connecting < capacity {
            connecting += 1
            return [.connect(affinity: affinity)]
        }
        return []
    }

    /// A client stopped waiting (it disconnected or was cancelled).
    public mutating func cancelWait(_ waiter: WaiterID) -> Bool {
        guard let i = waiters[waiterHead...].firstIndex(where: { $0.id == waiter }) else { return false }
        waiters.remove(at: i)
        return true
    }

    public mutating func connected(_ server: ServerID, affinity: Int, now: Double) -> [Action] {
        precondition(connecting > 0, "connected without a pending connect")
        connecting -= 1
        lastFailure = nil
        servers[server] = Server(createdAt: now, idleSince: nil, affinity: affinity)
        if let w = popWaiter() {
            return [.assign(server, to: w.id)]
        }
        servers[server]!.idleSince = now
        idle.append(server)
        return []
    }

    /// A connect attempt failed: the longest waiter hears why; if nothing else can serve the rest, they hear it too.
    public mutating func connectFailed(_ error: PGErrorInfo, now: Double) -> [Action] {
        precondition(connecting > 0, "connect failure without a pending connect")
        connecting -= 1
        lastFailure = (now, error)
        var actions: [Action] = []
        if let w = popWaiter() { actions.append(.fail(w.id, error)) }
        if servers.isEmpty && connecting == 0 {
            while let w = popWaiter() { actions.append(.fail(w.id, error)) }
        }
        return actions
    }

    /// A client is done with `server`; `reusable` says the server is idle and clean.
    public mutating func release(_ server: ServerID, reusable: Bool, now: Double) -> [Action] {
        guard let s = servers[server] else { return [] }
        // server_lifetime 0 means a server is used once (PgBouncer's meaning), so it expires at its first release.
        let expired = now - s.createdAt >= limits.serverLifetime
        if !reusable || expired {
            servers[server] = nil
            var actions: [Action] = [.close(server)]
            if waitingCount > 0 && servers.count + connecting < capacity {
                connecting += 1
                actions.append(.connect(affinity: waiters[waiterHead].affinity))
            }
            return actions
        }
        if let w = popWaiter() {
            return [.assign(server, to: w.id)]
        }
        servers[server]!.idleSince = now
        idle.append(server)
        return []
    }

    /// The server's connection went away on its own; its place goes to a new connection if a client is waiting.
    public mutating func closed(_ server: ServerID) -> [Action] {
        guard servers.removeValue(forKey: server) != nil else { return [] }
        if let i = idle.firstIndex(of: server) { idle.remove(at: i) }
        if waitingCount > 0 && servers.count + connecting < capacity {
            connecting += 1
            return [.connect(affinity: waiters[waiterHead].affinity)]
        }
        return []
    }

    /// A connect the machine asked for could not start (max_db_connections or max_user_connections reached);
    /// the waiters stay queued until `refill` finds room.
    public mutating func connectDeferred() {
        precondition(connecting > 0, "deferred connect without a pending connect")
        connecting -= 1
    }

    /// Starts connects for waiters no pending connect will serve, as room allows (after deferrals, closes, retry windows).
    public mutating func refill(now: Double) -> [Action] {
        var actions: [Action] = []
        guard !inRetryWindow(now) else { return actions }
        while waitingCount > connecting && servers.count + connecting < capacity {
            connecting += 1
            actions.append(.connect(affinity: waiters[waiterHead].affinity))
        }
        return actions
    }

    /// Closes every idle server at once (RECONNECT, shutdown); busy ones are closed as they come back.
    public mutating func closeAllIdle() -> [Action] {
        let closing = idle
        idle = []
        for id in closing { servers[id] = nil }
        return closing.map { .close($0) }
    }

    /// Periodic housekeeping: wait timeouts, reserve pool, idle and lifetime closes, min_pool_size.
    public mutating func tick(now: Double, affinity: Int = 0) -> [Action] {
        var actions: [Action] = []
        if limits.queryWaitTimeout > 0 {
            while waiterHead < waiters.count && now - waiters[waiterHead].since >= limits.queryWaitTimeout {
                let w = popWaiter()!
                actions.append(.fail(w.id, PGErrorInfo(sqlState: "08P01", message: "query_wait_timeout")))
            }
        }
        if waitingCount > 0 && limits.reservePoolSize > 0 && longestWait(now: now) >= limits.reservePoolTimeout
            && connecting == 0 && servers.count - limits.reservePoolSize < capacity  // capacity may be Int.max
        {
            connecting += 1
            actions.append(.connect(affinity: waiters[waiterHead].affinity))
        }
        var keep: [ServerID] = []
        for id in idle {
            let s = servers[id]!
            let idleTooLong = limits.serverIdleTimeout > 0 && now - (s.idleSince ?? now) >= limits.serverIdleTimeout
                && servers.count > limits.minPoolSize
            let tooOld = limits.serverLifetime > 0 && now - s.createdAt >= limits.serverLifetime
            if idleTooLong || tooOld {
                servers[id] = nil
                actions.append(.close(id))
            } else {
                keep.append(id)
            }
        }
        idle = keep
        if !inRetryWindow(now) {
            while servers.count + connecting < min(limits.minPoolSize, capacity) {
                connecting += 1
                actions.append(.connect(affinity: affinity))
            }
        }
        return actions + refill(now: now)
    }

    private mutating func takeIdle(affinity: Int) -> ServerID? {
        guard !idle.isEmpty else { return nil }
        if let i = idle.lastIndex(where: { servers[$0]!.affinity == affinity }) {
            return idle.remove(at: i)
        }
        return idle.removeLast()
    }

    private mutating func popWaiter() -> Waiter? {
        guard waiterHead < waiters.count else { return nil }
        let w = waiters[waiterHead]
        waiterHead += 1
        if waiterHead > 64 && waiterHead * 2 > waiters.count {
            waiters.removeFirst(waiterHead)
            waiterHead = 0
        }
        return w
    }
}

/// An error as the pool reports it; the proxy turns it into an ErrorResponse.
public struct PGErrorInfo: Equatable, Sendable {
    public var sqlState: String
    public var message: String

    public init(sqlState: String, message: String) {
        self.sqlState = sqlState
        self.message = message
    }
}
