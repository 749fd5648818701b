// The pool for one (database, user): which server goes to which waiting client, when to connect and close. No I/O.
import PGWire

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
    /// How long a client on another event loop may have waited before a released server goes to it rather than to
    /// a client on the server's own loop (a hop between threads costs more than the wait it saves, below this).
    public var affinityGrace: Double

    public init(poolSize: Int = 20, minPoolSize: Int = 0, reservePoolSize: Int = 0, reservePoolTimeout: Double = 5,
                serverLifetime: Double = 3600, serverIdleTimeout: Double = 600, queryWaitTimeout: Double = 120,
                loginRetry: Double = 15, affinityGrace: Double = 0.003) {
        self.loginRetry = loginRetry
        self.affinityGrace = affinityGrace
        self.poolSize = poolSize
        self.minPoolSize = minPoolSize
        self.reservePoolSize = reservePoolSize
        self.reservePoolTimeout = reservePoolTimeout
        self.serverLifetime = serverLifetime
        self.serverIdleTimeout = serverIdleTimeout
        self.queryWaitTimeout = queryWaitTimeout
    }
}

/// The proxy uses it with Int identifiers: its entry points are specialised for those here, so calls from another
/// module do not look up generic metadata on every lease and release.
public struct PoolStateMachine<ServerID: Hashable & Sendable, WaiterID: Hashable & Sendable>: Sendable {
    public enum Action: Equatable, Sendable {
        /// Open one new server connection, preferably on event loop `affinity`.
        case connect(affinity: Int)
        case assign(ServerID, to: WaiterID)
        case fail(WaiterID, PGErrorInfo)
        case close(ServerID)
    }

    public typealias Actions = SmallList<Action>

    struct Server: Sendable {
        var createdAt: Double
        var idleSince: Double?
        var affinity: Int
        /// Order of the last release, to find the most recently released across loops.
        var released = 0
    }

    struct Waiter: Sendable {
        var id: WaiterID
        var since: Double
        var affinity: Int
        /// Arrival order across every loop's queue.
        var order: Int
    }

    /// One event loop's waiting clients, first come first served.
    struct Queue: Sendable {
        var items: [Waiter] = []
        var head = 0
        var first: Waiter? { head < items.count ? items[head] : nil }

        mutating func pop() -> Waiter {
            let w = items[head]
            head += 1
            if head == items.count {
                items.removeAll(keepingCapacity: true)
                head = 0
            } else if head > 64 && head * 2 > items.count {
                items.removeFirst(head)
                head = 0
            }
            return w
        }
    }

    public var limits: PoolLimits {
        // Peaks measured against another size would give advice for a pool that no longer exists.
        didSet { if oldValue.poolSize != limits.poolSize { peaks = PoolPeaks() } }
    }
    /// High-water marks for the tuning advice, over the current and the previous stats period.
    public private(set) var peaks = PoolPeaks()
    private(set) var servers: [ServerID: Server] = [:]
    /// Idle servers per event loop, most recently released last (reused first: its caches are warm).
    private var idleByLoop: [[ServerID]] = []
    public private(set) var idleCount = 0
    private var queues: [Queue] = []
    public private(set) var waitingCount = 0
    private var arrivals = 0
    private var releases = 0
    public private(set) var connecting = 0
    /// The last failed connect, while no connect has succeeded since.
    private(set) var lastFailure: (at: Double, error: PGErrorInfo)?

    public init(limits: PoolLimits) {
        self.limits = limits
    }

    public var activeCount: Int { servers.count - idleCount }
    public var openCount: Int { servers.count }
    /// Seconds the longest-waiting client has waited.
    public func longestWait(now: Double) -> Double {
        oldestQueue().map { now - queues[$0].first!.since } ?? 0
    }

    private var capacity: Int { limits.poolSize == 0 ? Int.max : limits.poolSize }

    private func inRetryWindow(_ now: Double) -> Bool {
        guard let f = lastFailure else { return false }
        return now - f.at < limits.loginRetry
    }

    @_specialize(exported: true, where ServerID == Int, WaiterID == Int)
    public mutating func lease(_ waiter: WaiterID, affinity: Int, now: Double) -> Actions {
        if let server = takeIdle(affinity: affinity) {
            peaks.note(active: activeCount, waiting: 0, full: false)
            return Actions(.assign(server, to: waiter))
        }
        // The server just refused us: say so at once rather than hammer it (PgBouncer's server_login_retry).
        if servers.isEmpty && connecting == 0, inRetryWindow(now), let f = lastFailure {
            return Actions(.fail(waiter, f.error))
        }
        while queues.count <= affinity { queues.append(Queue()) }
        queues[affinity].items.append(Waiter(id: waiter, since: now, affinity: affinity, order: arrivals))
        arrivals += 1
        waitingCount += 1
        if servers.count + connecting < capacity {
            connecting += 1
            return Actions(.connect(affinity: affinity))
        }
        // Queued at a full pool: waiting for a release, not for a server being opened (a warm-up burst).
        peaks.note(active: activeCount, waiting: waitingCount, full: true)
        return Actions()
    }

    /// Starts a new stats period for the peaks.
    public mutating func rollPeaks() {
        peaks.roll(active: activeCount)
    }

    /// A client stopped waiting (it disconnected or was cancelled).
    @_specialize(exported: true, where ServerID == Int, WaiterID == Int)
    public mutating func cancelWait(_ waiter: WaiterID) -> Bool {
        for q in queues.indices {
            if let i = queues[q].items[queues[q].head...].firstIndex(where: { $0.id == waiter }) {
                queues[q].items.remove(at: i)
                waitingCount -= 1
                return true
            }
        }
        return false
    }

    @_specialize(exported: true, where ServerID == Int, WaiterID == Int)
    public mutating func connected(_ server: ServerID, affinity: Int, now: Double) -> Actions {
        precondition(connecting > 0, "connected without a pending connect")
        connecting -= 1
        lastFailure = nil
        servers[server] = Server(createdAt: now, idleSince: nil, affinity: affinity)
        if let w = popWaiter(preferring: affinity, now: now) {
            peaks.note(active: activeCount, waiting: 0, full: false)
            return Actions(.assign(server, to: w.id))
        }
        makeIdle(server, now: now)
        return Actions()
    }

    /// A connect attempt failed: the longest waiter hears why; if nothing else can serve the rest, they hear it too.
    @_specialize(exported: true, where ServerID == Int, WaiterID == Int)
    public mutating func connectFailed(_ error: PGErrorInfo, now: Double) -> Actions {
        precondition(connecting > 0, "connect failure without a pending connect")
        connecting -= 1
        lastFailure = (now, error)
        var actions = Actions()
        if let w = popOldest() { actions.append(.fail(w.id, error)) }
        if servers.isEmpty && connecting == 0 {
            while let w = popOldest() { actions.append(.fail(w.id, error)) }
        }
        return actions
    }

    /// A client is done with `server`; `reusable` says the server is idle and clean.
    @_specialize(exported: true, where ServerID == Int, WaiterID == Int)
    public mutating func release(_ server: ServerID, reusable: Bool, now: Double) -> Actions {
        guard let s = servers[server] else { return Actions() }
        // server_lifetime 0 means a server is used once (PgBouncer's meaning), so it expires at its first release.
        let expired = now - s.createdAt >= limits.serverLifetime
        if !reusable || expired {
            servers[server] = nil
            var actions = Actions(.close(server))
            if let head = oldestQueue(), servers.count + connecting < capacity {
                connecting += 1
                actions.append(.connect(affinity: queues[head].first!.affinity))
            }
            return actions
        }
        if let w = popWaiter(preferring: s.affinity, now: now) {
            return Actions(.assign(server, to: w.id))
        }
        makeIdle(server, now: now)
        return Actions()
    }

    /// The server's connection went away on its own; its place goes to a new connection if a client is waiting.
    @_specialize(exported: true, where ServerID == Int, WaiterID == Int)
    public mutating func closed(_ server: ServerID) -> Actions {
        guard let s = servers.removeValue(forKey: server) else { return Actions() }
        if s.idleSince != nil, s.affinity < idleByLoop.count, let i = idleByLoop[s.affinity].firstIndex(of: server) {
            idleByLoop[s.affinity].remove(at: i)
            idleCount -= 1
        }
        if let head = oldestQueue(), servers.count + connecting < capacity {
            connecting += 1
            return Actions(.connect(affinity: queues[head].first!.affinity))
        }
        return Actions()
    }

    /// A connect the machine asked for could not start (max_db_connections or max_user_connections reached);
    /// the waiters stay queued until `refill` finds room.
    public mutating func connectDeferred() {
        precondition(connecting > 0, "deferred connect without a pending connect")
        connecting -= 1
    }

    /// Starts connects for waiters no pending connect will serve, as room allows (after deferrals, closes, retry windows).
    @_specialize(exported: true, where ServerID == Int, WaiterID == Int)
    public mutating func refill(now: Double) -> Actions {
        var actions = Actions()
        guard !inRetryWindow(now), let head = oldestQueue() else { return actions }
        let affinity = queues[head].first!.affinity
        while waitingCount > connecting && servers.count + connecting < capacity {
            connecting += 1
            actions.append(.connect(affinity: affinity))
        }
        return actions
    }

    /// Closes every idle server at once (RECONNECT, shutdown); busy ones are closed as they come back.
    @_specialize(exported: true, where ServerID == Int, WaiterID == Int)
    public mutating func closeAllIdle() -> Actions {
        var actions = Actions()
        for loop in idleByLoop.indices {
            for id in idleByLoop[loop] {
                servers[id] = nil
                actions.append(.close(id))
            }
            idleByLoop[loop].removeAll()
        }
        idleCount = 0
        return actions
    }

    /// Closes the idle ones among `ids` (their host was drained, fenced or changed role); busy ones are closed as
    /// they come back, as their handlers say.
    public mutating func closeIdle(_ ids: Set<ServerID>) -> Actions {
        var actions = Actions()
        for loop in idleByLoop.indices {
            idleByLoop[loop].removeAll { id in
                guard ids.contains(id) else { return false }
                servers[id] = nil
                idleCount -= 1
                actions.append(.close(id))
                return true
            }
        }
        return actions
    }

    /// Periodic housekeeping: wait timeouts, reserve pool, idle and lifetime closes, min_pool_size.
    @_specialize(exported: true, where ServerID == Int, WaiterID == Int)
    public mutating func tick(now: Double, affinity: Int = 0) -> Actions {
        var actions = Actions()
        if limits.queryWaitTimeout > 0 {
            while let q = oldestQueue(), now - queues[q].first!.since >= limits.queryWaitTimeout {
                let w = popOldest()!
                peaks.noteWaitTimeout()
                actions.append(.fail(w.id, .queryWaitTimeout))
            }
        }
        if let head = oldestQueue(), limits.reservePoolSize > 0 && longestWait(now: now) >= limits.reservePoolTimeout
            && connecting == 0 && servers.count - limits.reservePoolSize < capacity  // capacity may be Int.max
        {
            connecting += 1
            actions.append(.connect(affinity: queues[head].first!.affinity))
        }
        for loop in idleByLoop.indices {
            var keep: [ServerID] = []
            for id in idleByLoop[loop] {
                let s = servers[id]!
                let idleTooLong = limits.serverIdleTimeout > 0 && now - (s.idleSince ?? now) >= limits.serverIdleTimeout
                    && servers.count > limits.minPoolSize
                let tooOld = limits.serverLifetime > 0 && now - s.createdAt >= limits.serverLifetime
                if idleTooLong || tooOld {
                    servers[id] = nil
                    idleCount -= 1
                    actions.append(.close(id))
                } else {
                    keep.append(id)
                }
            }
            idleByLoop[loop] = keep
        }
        if !inRetryWindow(now) {
            while servers.count + connecting < min(limits.minPoolSize, capacity) {
                connecting += 1
                actions.append(.connect(affinity: affinity))
            }
        }
        actions.append(contentsOf: refill(now: now))
        return actions
    }

    private mutating func makeIdle(_ server: ServerID, now: Double) {
        let loop = servers[server]!.affinity
        servers[server]!.idleSince = now
        servers[server]!.released = releases
        releases += 1
        while idleByLoop.count <= loop { idleByLoop.append([]) }
        idleByLoop[loop].append(server)
        idleCount += 1
    }

    /// The most recently released idle server on the client's loop, else the most recently released anywhere.
    private mutating func takeIdle(affinity: Int) -> ServerID? {
        guard idleCount > 0 else { return nil }
        var loop = affinity
        if loop >= idleByLoop.count || idleByLoop[loop].isEmpty {
            var best = -1
            for l in idleByLoop.indices {
                guard let last = idleByLoop[l].last else { continue }
                let order = servers[last]!.released
                if best < 0 || order > servers[idleByLoop[best].last!]!.released { best = l }
            }
            loop = best
        }
        let id = idleByLoop[loop].removeLast()
        servers[id]!.idleSince = nil
        idleCount -= 1
        return id
    }

    /// The queue whose first waiter arrived first, if anyone waits.
    private func oldestQueue() -> Int? {
        guard waitingCount > 0 else { return nil }
        var best: Int?
        for q in queues.indices {
            guard let w = queues[q].first else { continue }
            if best == nil || w.order < queues[best!].first!.order { best = q }
        }
        return best
    }

    private mutating func popOldest() -> Waiter? {
        guard let q = oldestQueue() else { return nil }
        waitingCount -= 1
        return queues[q].pop()
    }

    /// A server on loop `affinity` goes to that loop's longest waiter, so the client and the server share a thread,
    /// unless a client on another loop has waited longer than `limits.affinityGrace`: each loop is served first come,
    /// first served, and no loop's clients wait much longer than another's.
    private mutating func popWaiter(preferring affinity: Int, now: Double) -> Waiter? {
        guard let oldest = oldestQueue() else { return nil }
        if oldest != affinity, affinity < queues.count, queues[affinity].first != nil,
           now - queues[oldest].first!.since < limits.affinityGrace {
            waitingCount -= 1
            return queues[affinity].pop()
        }
        waitingCount -= 1
        return queues[oldest].pop()
    }
}

/// An error as the pool reports it; the proxy turns it into an ErrorResponse.
public struct PGErrorInfo: Equatable, Sendable {
    public var sqlState: String
    public var message: String
    /// The client waited longer than query_wait_timeout (counted as a timeout, not as a failure of the server).
    public var timedOut: Bool

    public init(sqlState: String, message: String, timedOut: Bool = false) {
        self.sqlState = sqlState
        self.message = message
        self.timedOut = timedOut
    }

    /// A client gave up waiting for a server (PgBouncer's words).
    public static let queryWaitTimeout = PGErrorInfo(sqlState: SQLState.protocolViolation, message: "query_wait_timeout", timedOut: true)
}
