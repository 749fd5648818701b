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
    func serverAssigned(_ server: ServerConnection)
    func poolFailed(_ error: PGError)
}

final class ServerPool: Sendable {
    let key: PoolKey
    private let state: NIOLockedValueBox<State>
    private let runtime: ProxyRuntime

    struct State: Sendable {
        var machine: PoolStateMachine<Int, Int>
        var waiters: [Int: any PoolWaiter] = [:]
        var servers: [Int: ServerConnection] = [:]
        var target: ServerTarget
        var budgetLimits: (database: Int, user: Int)
        var welcome: [String: String]?
    }

    init(key: PoolKey, target: ServerTarget, limits: PoolLimits, budget: (database: Int, user: Int), runtime: ProxyRuntime) {
        self.key = key
        self.runtime = runtime
        self.state = NIOLockedValueBox(State(machine: PoolStateMachine(limits: limits), target: target, budgetLimits: budget))
    }

    var target: ServerTarget { state.withLockedValue { $0.target } }

    /// Applies a reloaded config to new connections; connections already open keep their settings.
    func update(target: ServerTarget, limits: PoolLimits, budget: (database: Int, user: Int)? = nil) {
        state.withLockedValue {
            $0.target = target
            $0.machine.limits = limits
            if let budget { $0.budgetLimits = budget }
        }
    }

    /// What this pool's servers last reported (ParameterStatus), for welcoming clients without a server.
    var welcomeParameters: [String: String]? { state.withLockedValue { $0.welcome } }

    func noteWelcomeParameters(_ parameters: [String: String]) {
        state.withLockedValue { $0.welcome = parameters }
    }

    /// Room may have appeared (a server of this database or user closed): serve waiters that were deferred.
    func refill() {
        let actions = state.withLockedValue { $0.machine.refill(now: runtime.now()) }
        run(actions)
    }

    struct Counts: Sendable {
        var active = 0, idle = 0, connecting = 0, waiting = 0, maxWait = 0.0
    }

    func counts(now: Double) -> Counts {
        state.withLockedValue {
            Counts(active: $0.machine.activeCount, idle: $0.machine.idleCount, connecting: $0.machine.connecting,
                   waiting: $0.machine.waitingCount, maxWait: $0.machine.longestWait(now: now))
        }
    }

    func lease(for waiter: any PoolWaiter) {
        let affinity = runtime.loopIndex(of: waiter.eventLoop)
        let actions = state.withLockedValue { s -> [PoolStateMachine<Int, Int>.Action] in
            s.waiters[waiter.waiterID] = waiter
            return s.machine.lease(waiter.waiterID, affinity: affinity, now: runtime.now())
        }
        run(actions)
    }

    func cancelWait(_ waiter: any PoolWaiter) {
        state.withLockedValue { s in
            _ = s.machine.cancelWait(waiter.waiterID)
            s.waiters[waiter.waiterID] = nil
        }
    }

    /// A server marked by RECONNECT is never reused; its flag lives on its own loop, so the release is decided there.
    func release(_ server: ServerConnection, reusable: Bool) {
        guard server.eventLoop.inEventLoop else { return server.eventLoop.execute { self.release(server, reusable: reusable) } }
        let keep = reusable && !server.closeNeeded
        let actions = state.withLockedValue { $0.machine.release(server.id, reusable: keep, now: runtime.now()) }
        run(actions)
    }

    func serverClosed(_ server: ServerConnection) {
        let actions = state.withLockedValue { s -> [PoolStateMachine<Int, Int>.Action] in
            s.servers[server.id] = nil
            return s.machine.closed(server.id)
        }
        run(actions)
    }

    func tick() {
        let actions = state.withLockedValue { $0.machine.tick(now: runtime.now()) }
        run(actions)
    }

    /// Closes every idle server (RECONNECT, shutdown); busy ones close when released.
    func closeIdle() {
        let idle = state.withLockedValue { s -> [ServerConnection] in
            s.machine.closeAllIdle().compactMap { if case .close(let id) = $0 { return s.servers.removeValue(forKey: id) } else { return nil } }
        }
        for server in idle { server.close() }
    }

    private func run(_ actions: [PoolStateMachine<Int, Int>.Action]) {
        for action in actions {
            switch action {
            case .connect(let affinity):
                let (target, limits) = state.withLockedValue { ($0.target, $0.budgetLimits) }
                guard runtime.budget.acquire(database: key.database, user: key.user, maxDatabase: limits.database, maxUser: limits.user) else {
                    // At max_db_connections/max_user_connections: wait for a slot (refilled when any server closes).
                    state.withLockedValue { $0.machine.connectDeferred() }
                    continue
                }
                ServerConnection.connect(target: target, pool: self, runtime: runtime, on: runtime.eventLoop(at: affinity))
            case .assign(let serverID, let waiterID):
                let (server, waiter) = state.withLockedValue { s in (s.servers[serverID], s.waiters.removeValue(forKey: waiterID)) }
                guard let server else {
                    // The server closed between the decision and now: the client asks again.
                    if let waiter { lease(for: waiter) }
                    continue
                }
                if let waiter {
                    waiter.serverAssigned(server)
                } else {
                    // The waiter left between the decision and now: give the server straight back.
                    release(server, reusable: true)
                }
            case .fail(let waiterID, let info):
                let waiter = state.withLockedValue { $0.waiters.removeValue(forKey: waiterID) }
                waiter?.poolFailed(PGError(info.sqlState, info.message, severity: "FATAL"))
            case .close(let serverID):
                let server = state.withLockedValue { $0.servers.removeValue(forKey: serverID) }
                server?.close()
            }
        }
    }

    func connected(_ server: ServerConnection) {
        let actions = state.withLockedValue { s -> [PoolStateMachine<Int, Int>.Action] in
            s.servers[server.id] = server
            return s.machine.connected(server.id, affinity: runtime.loopIndex(of: server.eventLoop), now: runtime.now())
        }
        run(actions)
    }

    func connectFailed(_ error: PGError) {
        runtime.logger.warning("pool \(key): server connection failed: \(error.message)")
        let now = runtime.now()
        let actions = state.withLockedValue { $0.machine.connectFailed(PGErrorInfo(sqlState: error.sqlState, message: error.message), now: now) }
        run(actions)
    }
}

/// Where and as whom a pool's server connections log in.
struct ServerTarget: Sendable {
    var host: String
    var port: Int
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
    func check(idleSince: NIODeadline) -> String? {
        guard let checkQuery else { return nil }
        guard checkDelay == 0 || Double((NIODeadline.now() - idleSince).nanoseconds) / 1e9 > checkDelay else { return nil }
        return checkQuery
    }
}
