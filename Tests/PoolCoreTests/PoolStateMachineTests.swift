// PoolStateMachine as step tables: each event at an explicit time, with the exact actions it must produce.
import Testing

@testable import PoolCore

typealias Pool = PoolStateMachine<String, String>

/// One input to the pool. Servers are "s1", "s2", ...; waiting clients are "a", "b", ...
enum PoolEvent: Sendable, CustomStringConvertible {
    case lease(String, affinity: Int = 0)
    case connected(String, affinity: Int = 0)
    case connectFailed(PGErrorInfo)
    /// The connect could not start (max_db_connections / max_user_connections).
    case deferred
    case refill
    case release(String, reusable: Bool = true)
    case closed(String)
    case tick(affinity: Int = 0)
    /// cancelWait must return `returns`.
    case cancelWait(String, returns: Bool)
    case setLimits(PoolLimits)

    var description: String {
        switch self {
        case .lease(let w, let a): "lease(\(w), affinity: \(a))"
        case .connected(let s, let a): "connected(\(s), affinity: \(a))"
        case .connectFailed(let e): "connectFailed(\(e.sqlState))"
        case .deferred: "deferred"
        case .refill: "refill"
        case .release(let s, let r): "release(\(s), reusable: \(r))"
        case .closed(let s): "closed(\(s))"
        case .tick(let a): "tick(affinity: \(a))"
        case .cancelWait(let w, let r): "cancelWait(\(w)) == \(r)"
        case .setLimits(let l): "limits = \(l)"
        }
    }
}

/// The pool's counters after a step.
struct PoolCounts: Equatable, Sendable, CustomStringConvertible {
    var open = 0, idle = 0, active = 0, connecting = 0, waiting = 0

    init(open: Int = 0, idle: Int = 0, active: Int = 0, connecting: Int = 0, waiting: Int = 0) {
        self.open = open
        self.idle = idle
        self.active = active
        self.connecting = connecting
        self.waiting = waiting
    }

    init(_ p: Pool) {
        self.init(open: p.openCount, idle: p.idleCount, active: p.activeCount, connecting: p.connecting, waiting: p.waitingCount)
    }

    var description: String { "open \(open), idle \(idle), active \(active), connecting \(connecting), waiting \(waiting)" }
}

struct PoolStep: Sendable {
    var now: Double
    var event: PoolEvent
    var expected: [Pool.Action]
    var counts: PoolCounts?
}

/// `at(t, event, [actions])`: at time t, event must produce exactly these actions (and, if given, these counts).
func at(_ now: Double, _ event: PoolEvent, _ expected: [Pool.Action] = [], _ counts: PoolCounts? = nil) -> PoolStep {
    PoolStep(now: now, event: event, expected: expected, counts: counts)
}

struct PoolScenario: Sendable, CustomTestStringConvertible {
    var name: String
    var limits: PoolLimits
    var steps: [PoolStep]
    var testDescription: String { name }
}

let boom = PGErrorInfo(sqlState: "08006", message: "could not connect to server")
let waitTimeout = PGErrorInfo(sqlState: "08P01", message: "query_wait_timeout", timedOut: true)

/// Runs a scenario's steps in order against a fresh pool.
func run(_ scenario: PoolScenario, sourceLocation: SourceLocation = #_sourceLocation) {
    var pool = Pool(limits: scenario.limits)
    for (i, step) in scenario.steps.enumerated() {
        let label = "step \(i + 1): t=\(step.now) \(step.event)"
        let actions: Pool.Actions
        switch step.event {
        case .lease(let w, let affinity): actions = pool.lease(w, affinity: affinity, now: step.now)
        case .connected(let s, let affinity): actions = pool.connected(s, affinity: affinity, now: step.now)
        case .connectFailed(let e): actions = pool.connectFailed(e, now: step.now)
        case .deferred:
            pool.connectDeferred()
            actions = Pool.Actions()
        case .refill: actions = pool.refill(now: step.now)
        case .release(let s, let reusable): actions = pool.release(s, reusable: reusable, now: step.now)
        case .closed(let s): actions = pool.closed(s)
        case .tick(let affinity): actions = pool.tick(now: step.now, affinity: affinity)
        case .cancelWait(let w, let returns):
            #expect(pool.cancelWait(w) == returns, "\(label)", sourceLocation: sourceLocation)
            actions = Pool.Actions()
        case .setLimits(let l):
            pool.limits = l
            actions = Pool.Actions()
        }
        #expect(Array(actions) == step.expected, "\(label)", sourceLocation: sourceLocation)
        if let counts = step.counts {
            #expect(PoolCounts(pool) == counts, "\(label)", sourceLocation: sourceLocation)
        }
    }
}

@Suite("PoolStateMachine")
struct PoolStateMachineTests {
    // MARK: Leasing

    static let leasing: [PoolScenario] = [
        PoolScenario(name: "idle servers are reused most recently released first", limits: PoolLimits(poolSize: 3), steps: [
            at(0, .lease("a"), [.connect(affinity: 0)], PoolCounts(connecting: 1, waiting: 1)),
            at(0, .lease("b"), [.connect(affinity: 0)]),
            at(1, .connected("s1"), [.assign("s1", to: "a")]),
            at(1, .connected("s2"), [.assign("s2", to: "b")], PoolCounts(open: 2, active: 2)),
            at(2, .release("s1"), [], PoolCounts(open: 2, idle: 1, active: 1)),
            at(3, .release("s2"), [], PoolCounts(open: 2, idle: 2)),
            at(4, .lease("c"), [.assign("s2", to: "c")]),
            at(5, .lease("d"), [.assign("s1", to: "d")], PoolCounts(open: 2, active: 2)),
            at(6, .release("s2")),
            at(7, .lease("e"), [.assign("s2", to: "e")]),
        ]),
        PoolScenario(name: "an idle server on the client's event loop is preferred over a more recent one", limits: PoolLimits(poolSize: 4), steps: [
            at(0, .lease("a", affinity: 0), [.connect(affinity: 0)]),
            at(0, .lease("b", affinity: 1), [.connect(affinity: 1)]),
            at(0, .lease("c", affinity: 0), [.connect(affinity: 0)]),
            at(1, .connected("s1", affinity: 0), [.assign("s1", to: "a")]),
            at(1, .connected("s2", affinity: 1), [.assign("s2", to: "b")]),
            at(1, .connected("s3", affinity: 0), [.assign("s3", to: "c")]),
            at(2, .release("s1")),
            at(3, .release("s3")),
            at(4, .release("s2"), [], PoolCounts(open: 3, idle: 3)),
            // Loop 0: the most recent of its own servers (s3), not s2.
            at(5, .lease("d", affinity: 0), [.assign("s3", to: "d")]),
            // Loop 2 has none: the most recently released (s2).
            at(6, .lease("e", affinity: 2), [.assign("s2", to: "e")]),
            // Loop 1's only server is taken: whatever is left.
            at(7, .lease("f", affinity: 1), [.assign("s1", to: "f")], PoolCounts(open: 3, active: 3)),
        ]),
        PoolScenario(name: "beyond pool_size clients queue and get released servers first come, first served", limits: PoolLimits(poolSize: 2), steps: [
            at(0, .lease("a"), [.connect(affinity: 0)]),
            at(0, .lease("b"), [.connect(affinity: 0)]),
            at(1, .lease("c", affinity: 1), [], PoolCounts(connecting: 2, waiting: 3)),
            at(2, .lease("d"), [], PoolCounts(connecting: 2, waiting: 4)),
            at(3, .connected("s1"), [.assign("s1", to: "a")]),
            at(3, .connected("s2"), [.assign("s2", to: "b")], PoolCounts(open: 2, active: 2, waiting: 2)),
            at(4, .release("s2"), [.assign("s2", to: "c")]),
            at(5, .release("s1"), [.assign("s1", to: "d")], PoolCounts(open: 2, active: 2)),
            at(6, .release("s1")),
            at(6, .release("s2"), [], PoolCounts(open: 2, idle: 2)),
        ]),
        PoolScenario(name: "a released server goes to a waiter on its own loop unless another loop's waiter is past the grace",
                     limits: PoolLimits(poolSize: 2, affinityGrace: 0.003), steps: [
            at(0, .lease("a", affinity: 0), [.connect(affinity: 0)]),
            at(0, .lease("b", affinity: 1), [.connect(affinity: 1)]),
            at(1, .connected("s1", affinity: 0), [.assign("s1", to: "a")]),
            at(1, .connected("s2", affinity: 1), [.assign("s2", to: "b")]),
            at(2.000, .lease("c", affinity: 1)),
            at(2.001, .lease("d", affinity: 0), [], PoolCounts(open: 2, active: 2, waiting: 2)),
            // c came first but has waited 2 ms: s1 stays on loop 0 with d.
            at(2.002, .release("s1"), [.assign("s1", to: "d")], PoolCounts(open: 2, active: 2, waiting: 1)),
            at(2.010, .lease("e", affinity: 0)),
            // c has now waited 20 ms: it gets s1 although e waits on s1's loop.
            at(2.020, .release("s1"), [.assign("s1", to: "c")]),
            // Nobody left on loop 1: s2 crosses to e.
            at(2.021, .release("s2"), [.assign("s2", to: "e")], PoolCounts(open: 2, active: 2)),
        ]),
        PoolScenario(name: "a new server goes to a waiter on its own loop first", limits: PoolLimits(poolSize: 2), steps: [
            at(0, .lease("a", affinity: 0), [.connect(affinity: 0)]),
            at(0, .lease("b", affinity: 1), [.connect(affinity: 1)]),
            at(0.001, .connected("s2", affinity: 1), [.assign("s2", to: "b")], PoolCounts(open: 1, active: 1, connecting: 1, waiting: 1)),
            at(0.002, .connected("s1", affinity: 0), [.assign("s1", to: "a")]),
        ]),
        PoolScenario(name: "waiters on several loops keep first come, first served past the grace", limits: PoolLimits(poolSize: 1), steps: [
            at(0, .lease("a", affinity: 0), [.connect(affinity: 0)]),
            at(1, .connected("s1", affinity: 0), [.assign("s1", to: "a")]),
            at(2, .lease("b", affinity: 1)),
            at(3, .lease("c", affinity: 2)),
            at(4, .lease("d", affinity: 0)),
            at(5, .release("s1"), [.assign("s1", to: "b")]),
            at(6, .release("s1"), [.assign("s1", to: "c")]),
            at(7, .cancelWait("d", returns: true)),
            at(8, .release("s1"), [], PoolCounts(open: 1, idle: 1)),
        ]),
        PoolScenario(name: "pool_size 0 puts no cap on connections", limits: PoolLimits(poolSize: 0), steps: [
            at(0, .lease("a"), [.connect(affinity: 0)]),
            at(0, .lease("b", affinity: 1), [.connect(affinity: 1)]),
            at(0, .lease("c"), [.connect(affinity: 0)], PoolCounts(connecting: 3, waiting: 3)),
        ]),
    ]

    @Test("leasing", arguments: leasing)
    func leasingScenarios(_ s: PoolScenario) { run(s) }

    // MARK: Failed connects

    static let connectFailures: [PoolScenario] = [
        PoolScenario(name: "a failed connect fails the longest waiter; the others wait for the open server", limits: PoolLimits(poolSize: 2), steps: [
            at(0, .lease("a"), [.connect(affinity: 0)]),
            at(1, .connected("s1"), [.assign("s1", to: "a")]),
            at(2, .lease("b"), [.connect(affinity: 0)]),
            at(3, .lease("c")),
            at(4, .lease("d")),
            at(5, .connectFailed(boom), [.fail("b", boom)], PoolCounts(open: 1, active: 1, waiting: 2)),
            at(6, .release("s1"), [.assign("s1", to: "c")]),
            at(7, .release("s1"), [.assign("s1", to: "d")], PoolCounts(open: 1, active: 1)),
        ]),
        PoolScenario(name: "a failed connect with nothing open or connecting fails every waiter", limits: PoolLimits(poolSize: 1), steps: [
            at(0, .lease("a"), [.connect(affinity: 0)]),
            at(1, .lease("b")),
            at(2, .lease("c"), [], PoolCounts(connecting: 1, waiting: 3)),
            at(3, .connectFailed(boom), [.fail("a", boom), .fail("b", boom), .fail("c", boom)], PoolCounts()),
            // Within server_login_retry (15 s) a new client hears the failure at once, with no new attempt...
            at(4, .lease("d"), [.fail("d", boom)], PoolCounts()),
            at(10, .tick(), [], PoolCounts()),
            // ...after it, the pool tries again.
            at(18.5, .lease("e"), [.connect(affinity: 0)]),
            at(19, .connected("s1"), [.assign("s1", to: "e")]),
            // A success clears the failure: a later failure starts a new window only then.
            at(20, .lease("f"), [], PoolCounts(open: 1, active: 1, waiting: 1)),
        ]),
        PoolScenario(name: "server_login_retry 0 retries at once", limits: PoolLimits(poolSize: 1, loginRetry: 0), steps: [
            at(0, .lease("a"), [.connect(affinity: 0)]),
            at(1, .connectFailed(boom), [.fail("a", boom)]),
            at(1, .lease("b"), [.connect(affinity: 0)]),
        ]),
        PoolScenario(name: "a failed connect with another still pending fails only the first waiter", limits: PoolLimits(poolSize: 2), steps: [
            at(0, .lease("a"), [.connect(affinity: 0)]),
            at(0, .lease("b"), [.connect(affinity: 0)]),
            at(0, .lease("c")),
            at(1, .connectFailed(boom), [.fail("a", boom)], PoolCounts(connecting: 1, waiting: 2)),
            at(2, .connectFailed(boom), [.fail("b", boom), .fail("c", boom)], PoolCounts()),
        ]),
    ]

    static let budgets: [PoolScenario] = [
        PoolScenario(name: "a deferred connect keeps its waiters queued until refill finds room", limits: PoolLimits(poolSize: 3), steps: [
            at(0, .lease("a"), [.connect(affinity: 0)]),
            at(0, .deferred, [], PoolCounts(waiting: 1)),
            at(0, .lease("b", affinity: 1), [.connect(affinity: 1)]),
            at(0, .deferred, [], PoolCounts(waiting: 2)),
            // Room again (a server of the same database closed elsewhere): one connect per waiter.
            at(1, .refill, [.connect(affinity: 0), .connect(affinity: 0)], PoolCounts(connecting: 2, waiting: 2)),
            at(2, .connected("s1"), [.assign("s1", to: "a")]),
            at(2, .connected("s2", affinity: 1), [.assign("s2", to: "b")], PoolCounts(open: 2, active: 2)),
            at(3, .refill, [], PoolCounts(open: 2, active: 2)),
        ]),
        PoolScenario(name: "refill respects pool_size and pending connects", limits: PoolLimits(poolSize: 1), steps: [
            at(0, .lease("a"), [.connect(affinity: 0)]),
            at(0, .lease("b")),
            at(1, .refill, [], PoolCounts(connecting: 1, waiting: 2)),
            at(2, .deferred),
            at(3, .refill, [.connect(affinity: 0)], PoolCounts(connecting: 1, waiting: 2)),
        ]),
    ]

    @Test("closeAllIdle closes only idle servers and leaves the rest to be closed on release")
    func closeAllIdle() {
        var pool = Pool(limits: PoolLimits(poolSize: 3))
        _ = pool.lease("a", affinity: 0, now: 0)
        _ = pool.lease("b", affinity: 0, now: 0)
        #expect(pool.connected("s1", affinity: 0, now: 1) == [.assign("s1", to: "a")])
        #expect(pool.connected("s2", affinity: 0, now: 1) == [.assign("s2", to: "b")])
        #expect(pool.release("s2", reusable: true, now: 2) == [])
        #expect(pool.closeAllIdle() == [.close("s2")])
        #expect(pool.openCount == 1)
        #expect(pool.closeAllIdle() == [])
        #expect(pool.release("s1", reusable: false, now: 3) == [.close("s1")])
        #expect(pool.openCount == 0)
    }

    @Test("max_db_connections / max_user_connections deferrals", arguments: budgets)
    func budgetScenarios(_ s: PoolScenario) { run(s) }

    @Test("failed connects", arguments: connectFailures)
    func connectFailureScenarios(_ s: PoolScenario) { run(s) }

    // MARK: Releases and closes

    static let releases: [PoolScenario] = [
        PoolScenario(name: "release(reusable: false) closes the server and connects for the next waiter", limits: PoolLimits(poolSize: 1), steps: [
            at(0, .lease("a"), [.connect(affinity: 0)]),
            at(1, .connected("s1"), [.assign("s1", to: "a")]),
            at(2, .lease("b", affinity: 3)),
            at(3, .release("s1", reusable: false), [.close("s1"), .connect(affinity: 3)], PoolCounts(connecting: 1, waiting: 1)),
            at(4, .connected("s2", affinity: 3), [.assign("s2", to: "b")]),
            // Nobody waiting: just the close.
            at(5, .release("s2", reusable: false), [.close("s2")], PoolCounts()),
            // A server the pool does not know is ignored.
            at(6, .release("s2")),
        ]),
        PoolScenario(name: "server_lifetime: a server that has lived long enough is closed when released", limits: PoolLimits(poolSize: 1, serverLifetime: 100), steps: [
            at(0, .lease("a"), [.connect(affinity: 0)]),
            at(0, .connected("s1"), [.assign("s1", to: "a")]),
            at(50, .release("s1")),
            at(60, .lease("b"), [.assign("s1", to: "b")]),
            at(90, .lease("c")),
            at(100, .release("s1"), [.close("s1"), .connect(affinity: 0)], PoolCounts(connecting: 1, waiting: 1)),
            at(101, .connected("s2"), [.assign("s2", to: "c")]),
            at(150, .release("s2"), [], PoolCounts(open: 1, idle: 1)),
        ]),
        PoolScenario(name: "server_lifetime 0: a server is used once, as in PgBouncer", limits: PoolLimits(poolSize: 1, serverLifetime: 0), steps: [
            at(0, .lease("a"), [.connect(affinity: 0)]),
            at(0, .connected("s1"), [.assign("s1", to: "a")]),
            at(1, .release("s1"), [.close("s1")], PoolCounts()),
            at(2, .lease("b"), [.connect(affinity: 0)]),
        ]),
        PoolScenario(name: "a busy server that goes away is replaced for a waiting client", limits: PoolLimits(poolSize: 1), steps: [
            at(0, .lease("a"), [.connect(affinity: 0)]),
            at(1, .connected("s1"), [.assign("s1", to: "a")]),
            at(2, .lease("b", affinity: 2)),
            at(3, .closed("s1"), [.connect(affinity: 2)], PoolCounts(connecting: 1, waiting: 1)),
            at(4, .connected("s2", affinity: 2), [.assign("s2", to: "b")]),
            at(5, .release("s2"), [], PoolCounts(open: 1, idle: 1)),
            // An idle server that goes away just leaves the pool.
            at(6, .closed("s2"), [], PoolCounts()),
            at(6, .closed("unknown")),
            at(7, .lease("c"), [.connect(affinity: 0)]),
        ]),
    ]

    @Test("releases and closes", arguments: releases)
    func releaseScenarios(_ s: PoolScenario) { run(s) }

    // MARK: Housekeeping

    static let housekeeping: [PoolScenario] = [
        PoolScenario(name: "query_wait_timeout fails clients that waited too long with 08P01", limits: PoolLimits(poolSize: 1, queryWaitTimeout: 10), steps: [
            at(0, .lease("a"), [.connect(affinity: 0)]),
            at(0, .connected("s1"), [.assign("s1", to: "a")]),
            at(1, .lease("b")),
            at(5, .lease("c")),
            at(10, .tick()),
            at(11, .tick(), [.fail("b", waitTimeout)], PoolCounts(open: 1, active: 1, waiting: 1)),
            at(14.9, .tick()),
            at(15, .tick(), [.fail("c", waitTimeout)], PoolCounts(open: 1, active: 1)),
            at(16, .release("s1"), [], PoolCounts(open: 1, idle: 1)),
        ]),
        PoolScenario(name: "query_wait_timeout 0 lets clients wait for ever", limits: PoolLimits(poolSize: 1, queryWaitTimeout: 0), steps: [
            at(0, .lease("a"), [.connect(affinity: 0)]),
            at(0, .connected("s1"), [.assign("s1", to: "a")]),
            at(1, .lease("b")),
            at(100_000, .tick(), [], PoolCounts(open: 1, active: 1, waiting: 1)),
        ]),
        PoolScenario(name: "the reserve pool opens one extra connection after reserve_pool_timeout",
                     limits: PoolLimits(poolSize: 1, reservePoolSize: 1, reservePoolTimeout: 5), steps: [
            at(0, .lease("a"), [.connect(affinity: 0)]),
            at(0, .connected("s1"), [.assign("s1", to: "a")]),
            at(1, .lease("b", affinity: 2)),
            at(5.5, .tick()),
            at(6, .tick(), [.connect(affinity: 2)], PoolCounts(open: 1, active: 1, connecting: 1, waiting: 1)),
            at(6.5, .tick()),
            at(7, .connected("s2", affinity: 2), [.assign("s2", to: "b")], PoolCounts(open: 2, active: 2)),
            at(8, .lease("c")),
            // pool_size + reserve_pool_size reached: no more.
            at(20, .tick(), [], PoolCounts(open: 2, active: 2, waiting: 1)),
            at(21, .release("s1"), [.assign("s1", to: "c")]),
        ]),
        PoolScenario(name: "reserve_pool_size 0 never opens extra connections", limits: PoolLimits(poolSize: 1, reservePoolSize: 0, reservePoolTimeout: 5), steps: [
            at(0, .lease("a"), [.connect(affinity: 0)]),
            at(0, .connected("s1"), [.assign("s1", to: "a")]),
            at(1, .lease("b")),
            at(100, .tick(), [], PoolCounts(open: 1, active: 1, waiting: 1)),
        ]),
        PoolScenario(name: "the reserve check survives pool_size becoming 0 (no cap) on reload",
                     limits: PoolLimits(poolSize: 1, reservePoolSize: 1, reservePoolTimeout: 5), steps: [
            at(0, .lease("a"), [.connect(affinity: 0)]),
            at(0, .connected("s1"), [.assign("s1", to: "a")]),
            at(1, .lease("b")),
            at(2, .lease("c")),
            at(6, .tick(), [.connect(affinity: 0)]),
            at(7, .connected("s2"), [.assign("s2", to: "b")], PoolCounts(open: 2, active: 2, waiting: 1)),
            at(8, .setLimits(PoolLimits(poolSize: 0, reservePoolSize: 1, reservePoolTimeout: 5))),
            at(9, .tick(), [.connect(affinity: 0)], PoolCounts(open: 2, active: 2, connecting: 1, waiting: 1)),
        ]),
        PoolScenario(name: "server_idle_timeout closes idle servers down to min_pool_size",
                     limits: PoolLimits(poolSize: 5, minPoolSize: 1, serverIdleTimeout: 10), steps: [
            at(0, .tick(), [.connect(affinity: 0)]),
            at(0, .lease("a"), [.connect(affinity: 0)]),
            at(0, .lease("b"), [.connect(affinity: 0)]),
            at(1, .connected("s1"), [.assign("s1", to: "a")]),
            at(1, .connected("s2"), [.assign("s2", to: "b")]),
            at(1, .connected("s3"), [], PoolCounts(open: 3, idle: 1, active: 2)),
            at(2, .release("s1")),
            at(3, .release("s2"), [], PoolCounts(open: 3, idle: 3)),
            at(10, .tick()),
            // s3 idle 11s, s1 idle 10s: closed; s2 idle 9s: kept.
            at(12, .tick(), [.close("s3"), .close("s1")], PoolCounts(open: 1, idle: 1)),
            // s2 is past the timeout too, but min_pool_size keeps it.
            at(30, .tick(), [], PoolCounts(open: 1, idle: 1)),
            at(31, .lease("c"), [.assign("s2", to: "c")]),
        ]),
        PoolScenario(name: "server_idle_timeout 0 keeps idle servers", limits: PoolLimits(poolSize: 2, serverIdleTimeout: 0), steps: [
            at(0, .lease("a"), [.connect(affinity: 0)]),
            at(0, .connected("s1"), [.assign("s1", to: "a")]),
            at(1, .release("s1")),
            at(3000, .tick(), [], PoolCounts(open: 1, idle: 1)),
        ]),
        PoolScenario(name: "server_lifetime closes idle servers that are too old at the next tick",
                     limits: PoolLimits(poolSize: 2, serverLifetime: 100, serverIdleTimeout: 0), steps: [
            at(0, .lease("a"), [.connect(affinity: 0)]),
            at(0, .connected("s1"), [.assign("s1", to: "a")]),
            at(10, .release("s1")),
            at(99, .tick()),
            at(100, .tick(), [.close("s1")], PoolCounts()),
        ]),
        PoolScenario(name: "min_pool_size opens connections, never beyond pool_size", limits: PoolLimits(poolSize: 2, minPoolSize: 5), steps: [
            at(0, .tick(affinity: 1), [.connect(affinity: 1), .connect(affinity: 1)], PoolCounts(connecting: 2)),
            at(1, .tick()),
            at(2, .connected("s1", affinity: 1)),
            at(2, .connected("s2", affinity: 1), [], PoolCounts(open: 2, idle: 2)),
            at(3, .tick()),
        ]),
        PoolScenario(name: "min_pool_size replaces a server that went away", limits: PoolLimits(poolSize: 3, minPoolSize: 2), steps: [
            at(0, .tick(), [.connect(affinity: 0), .connect(affinity: 0)]),
            at(1, .connected("s1")),
            at(1, .connected("s2")),
            at(2, .closed("s1"), [], PoolCounts(open: 1, idle: 1)),
            at(3, .tick(), [.connect(affinity: 0)]),
            at(4, .connected("s3"), [], PoolCounts(open: 2, idle: 2)),
            at(5, .tick()),
        ]),
    ]

    @Test("housekeeping ticks", arguments: housekeeping)
    func housekeepingScenarios(_ s: PoolScenario) { run(s) }

    // MARK: Cancelled waits

    static let cancels: [PoolScenario] = [
        PoolScenario(name: "a client that stops waiting loses its place in the queue", limits: PoolLimits(poolSize: 1), steps: [
            at(0, .lease("a"), [.connect(affinity: 0)]),
            at(0, .connected("s1"), [.assign("s1", to: "a")]),
            at(1, .lease("b")),
            at(2, .lease("c")),
            at(3, .cancelWait("b", returns: true), [], PoolCounts(open: 1, active: 1, waiting: 1)),
            at(3, .cancelWait("b", returns: false)),
            at(3, .cancelWait("nobody", returns: false)),
            // Already served: nothing to cancel.
            at(3, .cancelWait("a", returns: false)),
            at(4, .release("s1"), [.assign("s1", to: "c")], PoolCounts(open: 1, active: 1)),
        ]),
        PoolScenario(name: "the connection opened for a cancelled client goes idle", limits: PoolLimits(poolSize: 1), steps: [
            at(0, .lease("a"), [.connect(affinity: 0)]),
            at(1, .cancelWait("a", returns: true), [], PoolCounts(connecting: 1)),
            at(2, .connected("s1"), [], PoolCounts(open: 1, idle: 1)),
            at(3, .lease("b"), [.assign("s1", to: "b")]),
        ]),
        PoolScenario(name: "a cancelled client is not failed by query_wait_timeout", limits: PoolLimits(poolSize: 1, queryWaitTimeout: 10), steps: [
            at(0, .lease("a"), [.connect(affinity: 0)]),
            at(0, .connected("s1"), [.assign("s1", to: "a")]),
            at(1, .lease("b")),
            at(2, .lease("c")),
            at(3, .cancelWait("b", returns: true)),
            at(11, .tick()),
            at(12, .tick(), [.fail("c", waitTimeout)]),
        ]),
    ]

    @Test("cancelled waits", arguments: cancels)
    func cancelScenarios(_ s: PoolScenario) { run(s) }

    // MARK: Longer runs

    @Test("a long queue is served strictly in order, with cancellations, across queue compaction")
    func longQueue() {
        var pool = Pool(limits: PoolLimits(poolSize: 1, queryWaitTimeout: 0))
        #expect(pool.lease("w0", affinity: 0, now: 0) == [.connect(affinity: 0)])
        #expect(pool.connected("s1", affinity: 0, now: 0) == [.assign("s1", to: "w0")])
        for i in 1...200 {
            #expect(pool.lease("w\(i)", affinity: 0, now: Double(i)) == [])
        }
        #expect(pool.waitingCount == 200)
        #expect(pool.longestWait(now: 300) == 299)
        var served: [String] = []
        var t = 300.0
        while pool.waitingCount > 0 {
            t += 1
            if served.count == 100 {
                // Half-way, after the queue has compacted: cancel some that are still waiting.
                let cancelled = [pool.cancelWait("w150"), pool.cancelWait("w199"), pool.cancelWait("w50")]
                #expect(cancelled == [true, true, false])
            }
            let actions = pool.release("s1", reusable: true, now: t)
            guard actions.count == 1, case .assign("s1", to: let w) = actions[0] else {
                Issue.record("unexpected actions \(actions)")
                return
            }
            served.append(w)
        }
        let expected = (1...200).filter { $0 != 150 && $0 != 199 }.map { "w\($0)" }
        #expect(served == expected)
        #expect(pool.longestWait(now: t) == 0)
    }
}

@Suite("Closing some idle servers")
struct PoolCloseSomeIdleTests {
    @Test func onlyTheNamedIdleServersCloseAndTheCountsFollow() {
        var m = PoolStateMachine<Int, Int>(limits: PoolLimits(poolSize: 4, minPoolSize: 3))
        // min_pool_size opens three servers, which stay idle.
        #expect(m.tick(now: 0).count == 3)
        for id in 1...3 {
            _ = m.connected(id, affinity: 0, now: 0)
        }
        #expect(m.idleCount == 3)
        let actions = m.closeIdle([2, 3, 9])
        #expect(Array(actions) == [.close(2), .close(3)])
        #expect(m.idleCount == 1 && m.openCount == 1)
        // The one left is still leased.
        #expect(Array(m.lease(7, affinity: 0, now: 1)) == [.assign(1, to: 7)])
    }
}
