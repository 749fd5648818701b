// One pool's live side: runs PoolStateMachine under a lock and carries out its actions (connect, assign, close).
import Config
import Logging
import NIOConcurrencyHelpers
import NIOCore
import PGWire
import PoolCore

/// What a waiting client is told when the pool has decided.
protocol PoolWaiter: AnyObject, Sendable {
    var waiterID: Int { get }
    var eventLoop: EventLoop { get }
    /// The index of `eventLoop` among the runtime's loops (the pool's affinity).
    var loopIndex: Int { get }
    /// `now`: the time of the event that freed the server (a waiter on another loop reads its own).
    func serverAssigned(_ server: ServerConnection, now: NIODeadline)
    func poolFailed(_ failure: PGErrorInfo)
    /// The router no longer sends work to this pool's host: ask again (another host may take the work).
    func reroute()
}

extension PoolWaiter {
    func reroute() {}
}

final class ServerPool: Sendable {
    let key: PoolKey
    private let state: NIOLockedValueBox<State>
    private let runtime: ProxyRuntime
    /// For an entry with several hosts: its per-host pools and the choice between them (the entry's own pool and
    /// each host's pool share one).
    let routes: NodeRoutes?
    /// A host's pool: which host of the entry's list (nil for the entry's own pool).
    let node: Int?

    struct State: Sendable {
        var machine: PoolStateMachine<Int, Int>
        var waiters: [Int: any PoolWaiter] = [:]
        var servers: [Int: ServerConnection] = [:]
        var target: ServerTarget
        var budgetLimits: (database: Int, user: Int)
        var welcome: [String: String]?
        var hosts: HostRotation
        /// Replaced by a reload that changed the entry's hosts: servers close as they come back.
        var retired = false
    }

    init(key: PoolKey, target: ServerTarget, limits: PoolLimits, budget: (database: Int, user: Int), runtime: ProxyRuntime,
         routes: NodeRoutes? = nil, node: Int? = nil) {
        self.key = key
        self.runtime = runtime
        self.routes = routes
        self.node = node
        self.state = NIOLockedValueBox(State(machine: PoolStateMachine(limits: limits), target: target, budgetLimits: budget,
                                             hosts: Self.rotation(target, limits)))
    }

    private static func rotation(_ target: ServerTarget, _ limits: PoolLimits) -> HostRotation {
        HostRotation(weights: target.weights.count == target.addresses.count ? target.weights : target.addresses.map { _ in 1 },
                     roundRobin: target.roundRobin, downFor: limits.loginRetry)
    }

    /// The hosts one new connection to `target` tries, best first (indexes into its addresses). A reload may have
    /// changed the list since `target` was taken: its hosts are then tried in the order written.
    func hostOrder(for target: ServerTarget) -> [Int] {
        let now = runtime.now()
        let order = state.withLockedValue { s in
            s.target.addresses == target.addresses ? s.hosts.order(now: now) : Array(target.addresses.indices)
        }
        let addresses = target.addresses
        // Drained (DRAIN NODE) and fenced hosts get nothing new at all; an empty order fails the connect, naming why.
        let open = order.filter { !runtime.nodes.isClosed(database: key.database, address: addresses[$0]) }
        guard open.count > 1 else { return open }
        // Hosts the health checks found down, or whose circuit is open, go last (still tried if all else fails).
        let shunned = open.map { runtime.nodes.shunned(addresses[$0], now: now) }
        return zip(open, shunned).filter { !$0.1 }.map(\.0) + zip(open, shunned).filter { $0.1 }.map(\.0)
    }

    /// A connection to host `index` of `target` was made, or could not be; a reload may have changed the list since.
    func hostConnected(_ index: Int, of target: ServerTarget) {
        state.withLockedValue { if $0.target.addresses == target.addresses { $0.hosts.connected(index) } }
    }

    func hostFailed(_ index: Int, of target: ServerTarget) {
        let now = runtime.now()
        state.withLockedValue { if $0.target.addresses == target.addresses { $0.hosts.failed(index, now: now) } }
    }

    var target: ServerTarget { state.withLockedValue { $0.target } }

    /// The entry's own pool: where a client of a host's pool goes back to between units of work.
    var home: ServerPool { routes?.home ?? self }

    var activeCount: Int { state.withLockedValue { $0.machine.activeCount } }

    /// No longer leased from: idle servers close now, busy ones when they come back.
    func retire() {
        state.withLockedValue { $0.retired = true }
        closeIdle()
    }

    /// Applies a reloaded config to new connections; connections already open keep their settings.
    func update(target: ServerTarget, limits: PoolLimits, budget: (database: Int, user: Int)? = nil) {
        state.withLockedValue {
            if $0.target.addresses != target.addresses || $0.target.weights != target.weights || $0.target.roundRobin != target.roundRobin
                || $0.machine.limits.loginRetry != limits.loginRetry {
                $0.hosts = Self.rotation(target, limits)
            }
            $0.target = target
            $0.machine.limits = limits
            if let budget { $0.budgetLimits = budget }
        }
    }

    /// What this pool's servers last reported (ParameterStatus), for welcoming clients without a server.
    var welcomeParameters: [String: String]? { state.withLockedValue { $0.welcome } }

    /// A standby's report (in_hot_standby on, PostgreSQL 14+) does not replace a writable server's: a client welcomed
    /// without a server must not be told its session is read-only when its writes go to the primary.
    func noteWelcomeParameters(_ parameters: [String: String]) {
        state.withLockedValue {
            if parameters["in_hot_standby"] == "on", let known = $0.welcome, known["in_hot_standby"] != "on" { return }
            $0.welcome = parameters
        }
    }

    /// Room may have appeared (a server of this database or user closed): serve waiters that were deferred.
    func refill() {
        perform(state.withLockedValue { Self.resolve($0.machine.refill(now: runtime.now()), &$0) })
    }

    /// The peaks so far, and a new period begun (called every stats_period).
    func rollPeaks() {
        state.withLockedValue { $0.machine.rollPeaks() }
    }

    var peaks: PoolPeaks { state.withLockedValue { $0.machine.peaks } }

    struct Counts: Sendable {
        var active = 0, idle = 0, connecting = 0, waiting = 0, maxWait = 0.0, size = 0
    }

    /// This pool's, with its hosts' pools added for the entry's own (one row per database and user, as PgBouncer's).
    func counts(now: Double) -> Counts {
        var c = state.withLockedValue {
            Counts(active: $0.machine.activeCount, idle: $0.machine.idleCount, connecting: $0.machine.connecting,
                   waiting: $0.machine.waitingCount, maxWait: $0.machine.longestWait(now: now), size: $0.machine.limits.poolSize)
        }
        guard node == nil, let routes else { return c }
        for pool in routes.nodePools {
            let n = pool.counts(now: now)
            c.active += n.active
            c.idle += n.idle
            c.connecting += n.connecting
            c.waiting += n.waiting
            c.maxWait = max(c.maxWait, n.maxWait)
        }
        return c
    }

    func lease(for waiter: any PoolWaiter, now: NIODeadline = .now()) {
        let affinity = waiter.loopIndex
        let steps = state.withLockedValue { s -> SmallList<Step> in
            let actions = s.machine.lease(waiter.waiterID, affinity: affinity, now: ProxyRuntime.seconds(now))
            // An idle server at once (the usual case): no need to file the waiter.
            if actions.count == 1, case .assign(let id, _) = actions[0], let server = s.servers[id] {
                return SmallList(.assign(server, waiter))
            }
            s.waiters[waiter.waiterID] = waiter
            return Self.resolve(actions, &s)
        }
        perform(steps, now: now)
    }

    /// The router no longer sends work to this host (down, fenced, drained, another role): the clients queued here
    /// are routed again rather than left waiting for a server it may never give.
    func rerouteWaiters() {
        let moved = state.withLockedValue { s -> [any PoolWaiter] in
            let all = Array(s.waiters.values)
            for w in all { _ = s.machine.cancelWait(w.waiterID) }
            s.waiters.removeAll()
            return all
        }
        for w in moved { w.reroute() }
    }

    func cancelWait(_ waiter: any PoolWaiter) {
        state.withLockedValue { s in
            _ = s.machine.cancelWait(waiter.waiterID)
            s.waiters[waiter.waiterID] = nil
        }
    }

    /// Carries out what `ServerConnection.giveBack` decided (ServerReturn: RECONNECT's flag included).
    func release(_ server: ServerConnection, reusable: Bool, now: NIODeadline = .now()) {
        let steps = state.withLockedValue {
            Self.resolve($0.machine.release(server.id, reusable: reusable && !$0.retired, now: ProxyRuntime.seconds(now)), &$0)
        }
        perform(steps, now: now)
    }

    func serverClosed(_ server: ServerConnection) {
        perform(state.withLockedValue { s in
            s.servers[server.id] = nil
            return Self.resolve(s.machine.closed(server.id), &s)
        })
    }

    func tick() {
        perform(state.withLockedValue { Self.resolve($0.machine.tick(now: runtime.now()), &$0) })
    }

    /// Closes every idle server (RECONNECT, shutdown); busy ones close when released.
    func closeIdle() {
        perform(state.withLockedValue { Self.resolve($0.machine.closeAllIdle(), &$0) })
    }

    /// Closes this pool's idle servers on `address`, under the pool's lock, so none is leased as it closes.
    func closeIdle(on address: ServerAddress) {
        perform(state.withLockedValue { s in
            let ids = Set(s.servers.filter { $0.value.address == address }.map(\.key))
            return Self.resolve(s.machine.closeIdle(ids), &s)
        })
    }

    /// An action of the machine with the objects it names, looked up under the same lock that decided it.
    private enum Step {
        case connect(affinity: Int, target: ServerTarget, limits: (database: Int, user: Int))
        /// A nil server closed between the decision and now; a nil waiter left meanwhile.
        case assign(ServerConnection?, (any PoolWaiter)?)
        case fail(any PoolWaiter, PGErrorInfo)
        case close(ServerConnection)
    }

    private static func resolve(_ actions: PoolStateMachine<Int, Int>.Actions, _ s: inout State) -> SmallList<Step> {
        var steps = SmallList<Step>()
        for action in actions {
            switch action {
            case .connect(let affinity): steps.append(.connect(affinity: affinity, target: s.target, limits: s.budgetLimits))
            case .assign(let serverID, let waiterID): steps.append(.assign(s.servers[serverID], s.waiters.removeValue(forKey: waiterID)))
            case .fail(let waiterID, let info): if let w = s.waiters.removeValue(forKey: waiterID) { steps.append(.fail(w, info)) }
            case .close(let serverID): if let server = s.servers.removeValue(forKey: serverID) { steps.append(.close(server)) }
            }
        }
        return steps
    }

    private func perform(_ steps: SmallList<Step>, now: @autoclosure () -> NIODeadline = .now()) {
        for step in steps {
            switch step {
            case .connect(let affinity, let target, let limits):
                guard runtime.budget.acquire(database: key.database, user: key.user, maxDatabase: limits.database, maxUser: limits.user) else {
                    // At max_db_connections/max_user_connections: wait for a slot (refilled when any server closes).
                    state.withLockedValue { $0.machine.connectDeferred() }
                    continue
                }
                ServerConnection.connect(target: target, pool: self, runtime: runtime, on: runtime.eventLoop(at: affinity))
            case .assign(let server, let waiter):
                switch (server, waiter) {
                case (let server?, let waiter?): waiter.serverAssigned(server, now: now())
                // The waiter left between the decision and now: the server goes straight back, untouched.
                case (let server?, nil): server.eventLoop.execute { server.giveBack(.untouched) }
                // The server closed between the decision and now: the client asks again.
                case (nil, let waiter?): lease(for: waiter, now: now())
                case (nil, nil): break
                }
            case .fail(let waiter, let info):
                waiter.poolFailed(info)
            case .close(let server):
                server.close()
            }
        }
    }

    func connected(_ server: ServerConnection) {
        let affinity = runtime.loopIndex(of: server.eventLoop)
        perform(state.withLockedValue { s in
            s.servers[server.id] = server
            var steps = Self.resolve(s.machine.connected(server.id, affinity: affinity, now: runtime.now()), &s)
            // A connect begun before a reload replaced this pool: its server is not used.
            if s.retired { steps.append(contentsOf: Self.resolve(s.machine.closeAllIdle(), &s)) }
            return steps
        })
    }

    func connectFailed(_ error: PGError) {
        runtime.logger.warning("pool \(key): server connection failed: \(error.message)")
        let now = runtime.now()
        perform(state.withLockedValue { Self.resolve($0.machine.connectFailed(PGErrorInfo(sqlState: error.sqlState, message: error.message), now: now), &$0) })
    }
}

/// Where and as whom a pool's server connections log in.
/// One host of a database's list, with its port (a directory for a Unix socket).
struct ServerAddress: Sendable, Hashable, CustomStringConvertible {
    var host: String
    var port: Int
    var description: String { "\(host):\(port)" }
}

struct ServerTarget: Sendable {
    /// The database's hosts, in the order written; which one a new connection tries first is HostRotation's call.
    var addresses: [ServerAddress]
    /// Per host (empty: all 1).
    var weights: [Int]
    /// load_balance_hosts = round-robin (PgBouncer's default), else disable.
    var roundRobin: Bool
    var database: String
    var user: String
    var credential: ServerCredential
    var startupParameters: [String: String]
    var resetQuery: String
    /// server_reset_query_always: run the reset query in transaction mode too.
    var resetAlways: Bool
    var connectTimeout: Double
    /// server_check_query ("" = no checks; "<empty>" already turned into the empty query) and server_check_delay.
    var checkQuery: String?
    var checkDelay: Double

    /// The query to check a server with before lending it, if it has been idle longer than server_check_delay.
    func check(idleSince: NIODeadline, now: NIODeadline) -> String? {
        guard let checkQuery else { return nil }
        guard checkDelay == 0 || Double((now - idleSince).nanoseconds) / 1e9 > checkDelay else { return nil }
        return checkQuery
    }
}
