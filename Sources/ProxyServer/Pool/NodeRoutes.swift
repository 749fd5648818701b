// A (database, user) of an entry with several hosts: a pool per host beside the entry's own, and, with
// read_write_split on, the choice of host for each unit of work (NodeSelector's, fed what the checks found).
import Config
import NIOConcurrencyHelpers
import PoolCore
import Routing
import SQLAnalysis

final class NodeRoutes: Sendable {
    /// Where a unit of work goes.
    enum Choice {
        /// read_write_split is off, or no host's role is known yet: the entry's own pool, its hosts tried in turn.
        case home
        case node(ServerPool, RouteReason)
        case fail(String)
    }

    /// A client's last committed write, until every replica has replayed it or its window has passed.
    struct RecentWrite: Sendable {
        var lsn: UInt64?
        var at: Double
    }

    private struct State: Sendable {
        var pools: [ServerPool] = []
        var addresses: [ServerAddress] = []
        var weights: [Int] = []
        var policy: RoutePolicy
        var selector = NodeSelector()
        var random = SystemRandomNumberGenerator()
        var recentWrites: [Int: RecentWrite] = [:]
        var routed: [ServerAddress: Int] = [:]
    }

    /// How long a write whose WAL position could not be learned keeps its client's reads on the primary.
    static let unknownPositionHold = 5.0

    let key: PoolKey
    private let state: NIOLockedValueBox<State>
    private let runtime: ProxyRuntime
    /// The entry's own pool; set once, before any client sees this object.
    nonisolated(unsafe) private(set) var home: ServerPool!

    init(key: PoolKey, policy: RoutePolicy, runtime: ProxyRuntime) {
        self.key = key
        self.runtime = runtime
        state = NIOLockedValueBox(State(policy: policy))
    }

    func install(home: ServerPool) {
        self.home = home
    }

    var splits: Bool { state.withLockedValue { $0.policy.split } }
    var policy: RoutePolicy { state.withLockedValue { $0.policy } }
    var nodePools: [ServerPool] { state.withLockedValue { $0.pools } }

    /// The entry's hosts as the home pool's target lists them: a pool per host, made again when the list changes
    /// (the old ones close their servers as they come back).
    func update(target: ServerTarget, limits: PoolLimits, budget: (database: Int, user: Int), policy: RoutePolicy) {
        var nodeLimits = limits
        // min_pool_size fills the pools that take the work: the home pool's when the split is off.
        if !policy.split { nodeLimits.minPoolSize = 0 }
        let retired = state.withLockedValue { s -> [ServerPool] in
            s.policy = policy
            s.weights = target.weights
            if s.addresses == target.addresses {
                for (i, pool) in s.pools.enumerated() {
                    pool.update(target: Self.narrowed(target, to: i), limits: nodeLimits, budget: budget)
                }
                return []
            }
            let old = s.pools
            s.addresses = target.addresses
            s.pools = target.addresses.indices.map { i in
                ServerPool(key: key, target: Self.narrowed(target, to: i), limits: nodeLimits, budget: budget, runtime: runtime, routes: self, node: i)
            }
            return old
        }
        for pool in retired { pool.retire() }
    }

    private static func narrowed(_ target: ServerTarget, to index: Int) -> ServerTarget {
        var t = target
        t.addresses = [target.addresses[index]]
        t.weights = []
        return t
    }

    /// The node for a unit of work of client `client`.
    func choose(_ request: RouteRequest, client: Int, strictReplica: Bool = false) -> Choice {
        let now = request.now
        let records = runtime.nodes.snapshot
        return state.withLockedValue { s -> Choice in
            guard s.policy.split else { return .home }
            let observations = s.addresses.map { records[$0]?.current }
            // Before any check has answered, roles are unknown: the host list serves as PgBouncer's would.
            guard observations.contains(where: { $0 != nil }) else { return .home }
            let primaryLSN = observations.first { $0?.role == .primary }??.lsn
            var views: [NodeView] = []
            for (i, address) in s.addresses.enumerated() {
                let record = records[address]
                let observation = observations[i]
                var available = record?.health.isUp ?? true
                if let health = record?.health, case .open = health.circuit(at: now) { available = false }
                var view = NodeView(id: i, name: address.description, role: observation?.role ?? .unknown, available: available,
                                    fenced: runtime.nodes.isClosed(database: key.database, address: address),
                                    weight: s.weights.count == s.addresses.count ? s.weights[i] : 1,
                                    activeConnections: s.pools[i].activeCount)
                if let observation, observation.role == .replica {
                    view.replayed = observation.lsn
                    view.lagSeconds = observation.replayDelay
                    if let primaryLSN { view.lagBytes = NodeCheck.lagBytes(primary: primaryLSN, replica: observation.lsn) }
                }
                views.append(view)
            }
            var request = request
            if let write = s.recentWrites[client] {
                // A position not learned yet (or that could not be) is one no replica is known to have.
                let lsn = write.lsn ?? .max
                let stillNeeded: Bool
                switch s.policy.readYourWrites {
                case .off: stillNeeded = false
                case .window(let seconds): stillNeeded = now - write.at < seconds
                case .lsn: stillNeeded = write.lsn == nil ? now - write.at < Self.unknownPositionHold
                    : views.contains { $0.role == .replica && ($0.replayed ?? 0) < lsn }
                }
                if stillNeeded { request.lastWrite = (lsn, write.at) } else { s.recentWrites[client] = nil }
            }
            var policy = s.policy
            if strictReplica { policy.primaryReads = .never }
            switch s.selector.choose(request, nodes: views, policy: policy, random: &s.random) {
            case .node(let i, let reason):
                s.routed[s.addresses[i], default: 0] += 1
                return .node(s.pools[i], reason)
            case .fail(let why):
                return .fail(why)
            }
        }
    }

    /// A unit that may have written ended on the primary: the client's reads wait for `lsn` (nil: not learned).
    func wrote(client: Int, lsn: UInt64?, now: Double) {
        state.withLockedValue { $0.recentWrites[client] = RecentWrite(lsn: lsn, at: now) }
    }

    func clientLeft(_ client: Int) {
        state.withLockedValue { _ = $0.recentWrites.removeValue(forKey: client) }
    }

    /// Units sent to each host so far (SHOW NODES' queries routed).
    var routedCounts: [ServerAddress: Int] { state.withLockedValue { $0.routed } }
}

extension RoutePolicy {
    /// The routing settings as `entry` overrides them.
    init(_ c: ProxyConfig, entry: DatabaseEntry) {
        func text(_ key: String) -> String {
            if case .string(let v) = c.routing(key, for: entry) { return v }
            return ""
        }
        var split = false
        if case .boolean(let on) = c.routing("read_write_split", for: entry) { split = on }
        var lag: (bytes: Int?, seconds: Double?) = (nil, nil)
        if case .lag(let b, let s) = c.routing("replica_max_lag", for: entry) { lag = (b, s) }
        let ryw: ReadYourWrites
        switch text("read_your_writes") {
        case "off": ryw = .off
        case "window": ryw = .window(c.seconds("read_your_writes_window"))
        default: ryw = .lsn
        }
        self.init(split: split, aggressive: text("read_write_strategy") == "aggressive",
                  primaryReads: PrimaryReads(rawValue: text("primary_reads")) ?? .fallback,
                  balancing: Balancing(rawValue: text("load_balancing_strategy")) ?? .leastActiveConnections,
                  maxLagBytes: lag.bytes.map { UInt64($0) }, maxLagSeconds: lag.seconds, readYourWrites: ryw)
    }
}
