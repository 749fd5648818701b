// A (database, user) of an entry with several hosts: a pool per host beside the entry's own, and, with
// read_write_split on, the choice of host for each unit of work (NodeSelector's, fed what the checks found).
import Config
import NIOConcurrencyHelpers
import PoolCore
import Routing
import SQLAnalysis
import Synchronization

final class NodeRoutes: Sendable {
    /// Where a unit of work goes.
    enum Choice {
        /// read_write_split is off, or no host's role is known yet: the entry's own pool, its hosts tried in turn.
        case home
        case node(ServerPool, RouteReason)
        case fail(String)
        /// The client's last write's position is being learned now: ask again when it is (`afterPosition`).
        case wait
    }

    /// A client's last committed write, until every replica has replayed it or its window has passed.
    struct RecentWrite: Sendable {
        var lsn: UInt64?
        var at: Double
        /// A replica was asked whether it has the write and had not: the primary reads until the checks show one has.
        var confirmFailed = false
        /// The host asked to confirm it has replayed `lsn` before the client's read runs there.
        var confirming: Int?
        /// The primary is being asked for the position; leases that need it wait here (a round trip).
        var learning = false
        var waiting: [@Sendable () -> Void] = []
        /// Which write this is for the client: a position learned for an earlier one is not this one's.
        var sequence = 0
        /// The client read outside a transaction while this write still held its reads back: worth learning the
        /// position of its next write too. A client that only writes (or reads inside its transactions) is asked
        /// once, and its rare later read goes to the primary.
        var readAfter = false
    }

    private struct State: Sendable {
        var pools: [ServerPool] = []
        var addresses: [ServerAddress] = []
        var weights: [Int] = []
        var policy: RoutePolicy
        var selector = NodeSelector()
        var random = SystemRandomNumberGenerator()
        var recentWrites: [Int: RecentWrite] = [:]
        /// Units sent to each host, by its index in `addresses` (counted on every lease: no hashing of addresses).
        var routed: [Int] = []
        /// Replay positions replicas confirmed to a client's read, newer than their last check's.
        var confirmed: [ServerAddress: (lsn: UInt64, at: Double)] = [:]
        /// The hosts as the router sees them, built again only when the registry or a confirmed position moved, or
        /// an open circuit's time ran out: most leases reuse it.
        var views: [NodeView] = []
        var viewsGeneration = -1
        var viewsValidUntil = Double.infinity
        var rolesKnown = false
        /// Several nodes may take a read: least_active_connections needs their counts (else nobody reads them).
        var readers = 0
        /// The current primary's position and when the check that read it started: a bound for every write that
        /// committed before then.
        var primaryBound: (lsn: UInt64, since: Double)?
        var writeSequence = 0
    }

    let key: PoolKey
    private let state: NIOLockedValueBox<State>
    private let runtime: ProxyRuntime
    /// The entry's own pool; set once, before any client sees this object.
    nonisolated(unsafe) private(set) var home: ServerPool!

    init(key: PoolKey, policy: RoutePolicy, runtime: ProxyRuntime) {
        self.key = key
        self.runtime = runtime
        state = NIOLockedValueBox(State(policy: policy))
        splitting.store(policy.split, ordering: .relaxed)
        rywMode.store(Self.mode(policy), ordering: .relaxed)
    }

    func install(home: ServerPool) {
        self.home = home
    }

    /// read_write_split, read without a lock on every lease.
    private let splitting = Atomic<Bool>(false)
    var splits: Bool { splitting.load(ordering: .relaxed) }
    /// read_your_writes: 0 off, 1 window, 2 lsn; read when a unit that may write is routed and when it ends.
    private let rywMode = Atomic<Int>(0)
    var tracksWrites: Bool { rywMode.load(ordering: .relaxed) != 0 }
    var learnsPositions: Bool { rywMode.load(ordering: .relaxed) == 2 }

    private static func mode(_ p: RoutePolicy) -> Int {
        switch p.readYourWrites {
        case .off: 0
        case .window: 1
        case .lsn: 2
        }
    }
    var policy: RoutePolicy { state.withLockedValue { $0.policy } }
    var nodePools: [ServerPool] { state.withLockedValue { $0.pools } }
    var addresses: [ServerAddress] { state.withLockedValue { $0.addresses } }
    /// The hosts the router last saw as primaries (every host while no role is known).
    var primaryAddresses: [ServerAddress] {
        state.withLockedValue { s in
            let primaries = s.views.filter { $0.role == .primary }.compactMap { s.addresses.indices.contains($0.id) ? s.addresses[$0.id] : nil }
            return primaries.isEmpty ? s.addresses : primaries
        }
    }

    /// The entry's hosts as the home pool's target lists them: a pool per host, made again when the list changes
    /// (the old ones close their servers as they come back).
    func update(target: ServerTarget, limits: PoolLimits, budget: (database: Int, user: Int), policy: RoutePolicy) {
        var nodeLimits = limits
        // min_pool_size fills the pools that take the work: the home pool's when the split is off.
        if !policy.split { nodeLimits.minPoolSize = 0 }
        splitting.store(policy.split, ordering: .relaxed)
        rywMode.store(Self.mode(policy), ordering: .relaxed)
        let retired = state.withLockedValue { s -> [ServerPool] in
            s.policy = policy
            s.viewsGeneration = -1
            s.weights = target.weights
            if s.addresses == target.addresses {
                for (i, pool) in s.pools.enumerated() {
                    pool.update(target: Self.narrowed(target, to: i), limits: nodeLimits, budget: budget)
                }
                return []
            }
            let old = s.pools
            s.addresses = target.addresses
            s.routed = Array(repeating: 0, count: target.addresses.count)
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
        let generation = runtime.nodes.generation.load(ordering: .acquiring)
        var lost: [ServerPool] = []
        defer { for pool in lost { pool.rerouteWaiters() } }
        return state.withLockedValue { s -> Choice in
            guard s.policy.split else { return .home }
            if s.viewsGeneration != generation || now >= s.viewsValidUntil {
                let before = s.views
                buildViews(&s, generation: generation, now: now)
                // Hosts that stopped taking work: their queued clients are routed again.
                if before.count == s.views.count {
                    for i in s.views.indices where Self.usable(before[i]) && (!Self.usable(s.views[i]) || before[i].role != s.views[i].role) {
                        lost.append(s.pools[i])
                    }
                }
            }
            // Before any check has answered, roles are unknown: the host list serves as PgBouncer's would.
            guard s.rolesKnown else { return .home }
            if s.policy.balancing == .leastActiveConnections, s.readers > 1 {
                for i in s.views.indices { s.views[i].activeConnections = s.pools[i].activeCount }
            }
            var request = request
            var learning = false
            if var write = s.recentWrites[client] {
                // A write whose position was not asked for (or could not be told) gets the primary's position from
                // the first check that started after it: no replica is known to have it before then.
                if write.lsn == nil, !write.learning, let bound = s.primaryBound, bound.since > write.at {
                    write.lsn = bound.lsn
                    s.recentWrites[client]?.lsn = bound.lsn
                }
                let lsn = write.lsn ?? .max
                let stillNeeded: Bool
                switch s.policy.readYourWrites {
                case .off: stillNeeded = false
                case .window(let seconds): stillNeeded = now - write.at < seconds
                case .lsn: stillNeeded = write.lsn == nil || s.views.contains { $0.role == .replica && ($0.replayed ?? 0) < lsn }
                }
                if stillNeeded {
                    learning = write.learning
                    request.lastWrite = (lsn, write.at)
                    request.confirmReplay = !write.confirmFailed
                } else {
                    Self.drop(client, &s)
                }
            }
            var policy = s.policy
            if strictReplica { policy.primaryReads = .never }
            switch s.selector.choose(request, nodes: s.views, policy: policy, random: &s.random) {
            case .node(let i, let reason):
                // A read right after the client's write, while the primary tells that write's position: worth the
                // round trip's wait, as a replica may then take it. Work for the primary goes on at once.
                if learning, reason == .readYourWrites || reason == .primaryFallback { return .wait }
                if request.lastWrite != nil, reason.isRead { s.recentWrites[client]?.readAfter = true }
                // A replica asked to confirm a write counts when it has (`confirmed`): else the primary reads.
                if reason == .confirmReplay { s.recentWrites[client]?.confirming = i } else { s.routed[i] += 1 }
                return .node(s.pools[i], reason)
            case .fail(let why):
                // primary_reads = never while the position is being told: the answer may let a replica read.
                if learning, request.unit != .transaction { return .wait }
                return .fail(why)
            }
        }
    }

    /// Forgets the client's write; leases that waited for its position go on (and route anew).
    private static func drop(_ client: Int, _ s: inout State) {
        guard let write = s.recentWrites.removeValue(forKey: client) else { return }
        for go in write.waiting { go() }
    }

    /// The wait for the position of `client`'s write ends, `lsn` told or not (nil), if `sequence` is still its
    /// write; the leases that waited go on.
    private func endLearning(client: Int, sequence: Int?, lsn: UInt64?) {
        let waiting = state.withLockedValue { s -> [@Sendable () -> Void] in
            guard var write = s.recentWrites[client], write.learning, sequence == nil || write.sequence == sequence else { return [] }
            if let lsn { write.lsn = lsn }
            write.learning = false
            defer { write.waiting = []; s.recentWrites[client] = write }
            return write.waiting
        }
        for go in waiting { go() }
    }

    private static func usable(_ v: NodeView) -> Bool { v.available && !v.fenced }

    private func buildViews(_ s: inout State, generation: Int, now: Double) {
        let records = runtime.nodes.snapshot
        let observations = s.addresses.map { records[$0]?.current }
        let closed = s.addresses.map { runtime.nodes.isClosed(database: key.database, address: $0) }
        let primaryLSN = NodeCheck.primaryPosition(observations, closed: closed)
        // Roles once seen stay known while checks fail: the host list as PgBouncer's would send writes anywhere.
        s.rolesKnown = s.addresses.contains { records[$0]?.observation != nil }
        s.primaryBound = nil
        var newest: UInt32?
        for (i, o) in observations.enumerated() where o?.role == .primary && !closed[i] {
            guard let o, let since = records[s.addresses[i]]?.observationStarted else { continue }
            if s.primaryBound == nil || (o.timeline ?? 0) > (newest ?? 0) {
                s.primaryBound = (o.lsn, since)
                newest = o.timeline
            }
        }
        s.readers = observations.filter { $0?.role == .replica || (s.policy.primaryReads == .always && $0?.role == .primary) }.count
        s.viewsGeneration = generation
        s.viewsValidUntil = .infinity
        s.views = s.addresses.indices.map { i in
            let address = s.addresses[i]
            let record = records[address]
            let observation = observations[i]
            // Work goes only where the last check passed; a host whose check failed keeps its last role for the
            // reasons a refusal gives ("the primary ... is unavailable"), not for work.
            var available = observation != nil && (record?.health.isUp ?? true)
            if let health = record?.health, case .open(let until) = health.circuit(at: now) {
                available = false
                s.viewsValidUntil = min(s.viewsValidUntil, until)
            }
            var view = NodeView(id: i, name: address.description, role: observation?.role ?? record?.observation?.role ?? .unknown,
                                available: available, fenced: closed[i],
                                weight: s.weights.count == s.addresses.count ? s.weights[i] : 1, timeline: observation?.timeline)
            if let observation, observation.role == .replica {
                // A confirmation counts until a check newer than it (a replica rebuilt since must not keep it).
                if let c = s.confirmed[address], let since = record?.observationStarted, since > c.at {
                    s.confirmed[address] = nil
                }
                view.replayed = max(observation.lsn, s.confirmed[address]?.lsn ?? 0)
                view.lagSeconds = observation.replayDelay
                if let primaryLSN { view.lagBytes = NodeCheck.lagBytes(primary: primaryLSN, replica: observation.lsn) }
            }
            return view
        }
    }

    /// A unit that may have written ended on the primary. True when its position is to be asked for (lsn mode, and
    /// the client reads after its writes, or this is the first write seen); until then, or without it, the client's
    /// reads stay on the primary.
    func writeEnded(client: Int, now: Double) -> (learn: Bool, sequence: Int) {
        let lsn = learnsPositions
        let (result, waiting) = state.withLockedValue { s -> ((Bool, Int), [@Sendable () -> Void]) in
            let learn = lsn && (s.recentWrites[client]?.readAfter ?? true)
            // Leases waiting for the previous write's position go on: this write is newer, and they route anew.
            let waiting = s.recentWrites[client]?.waiting ?? []
            s.writeSequence &+= 1
            s.recentWrites[client] = RecentWrite(lsn: nil, at: now, learning: learn, sequence: s.writeSequence)
            return ((learn, s.writeSequence), waiting)
        }
        for go in waiting { go() }
        return result
    }

    /// The position of the client's last write (nil: the primary could not say): its reads wait for a node that has
    /// replayed it, and leases that waited for it go on.
    func learned(client: Int, sequence: Int, lsn: UInt64?) {
        endLearning(client: client, sequence: sequence, lsn: lsn)
    }

    /// The position is still not told after the wait's limit: the client's reads stay on the primary (as for a
    /// write whose position was never asked for), and the leases waiting go on.
    func giveUpPosition(client: Int) {
        endLearning(client: client, sequence: nil, lsn: nil)
    }

    /// Runs `go` once the client's write position is known; false (and `go` not kept) when it already is.
    func afterPosition(client: Int, _ go: @escaping @Sendable () -> Void) -> Bool {
        state.withLockedValue { s in
            guard s.recentWrites[client]?.learning == true else { return false }
            s.recentWrites[client]?.waiting.append(go)
            return true
        }
    }

    /// The position host `node` must confirm it has replayed before `client`'s read runs there (nil: none).
    func positionToConfirm(client: Int, node: Int) -> UInt64? {
        state.withLockedValue { s in
            guard let write = s.recentWrites[client], write.confirming == node else { return nil }
            return write.lsn
        }
    }

    /// What host `node` answered: `position` it has replayed (nil when it could not say). False when it is behind
    /// the client's write, which then reads from the primary.
    func confirmed(client: Int, node: Int, position: UInt64?) -> Bool {
        let now = runtime.now()
        return state.withLockedValue { s in
            let needed = s.recentWrites[client]?.lsn ?? .max
            s.recentWrites[client]?.confirming = nil
            // A reload may have changed the hosts since the lease: a node it no longer has says nothing.
            guard let position, node < s.addresses.count else {
                s.recentWrites[client]?.confirmFailed = true
                return false
            }
            let address = s.addresses[node]
            s.confirmed[address] = (max(s.confirmed[address]?.lsn ?? 0, position), now)
            s.viewsGeneration = -1
            guard position >= needed else {
                s.recentWrites[client]?.confirmFailed = true
                return false
            }
            s.routed[node] += 1
            return true
        }
    }

    func clientLeft(_ client: Int) {
        state.withLockedValue { _ = $0.recentWrites.removeValue(forKey: client) }
    }

    /// Units sent to each host so far (SHOW NODES' queries routed).
    var routedCounts: [ServerAddress: Int] {
        state.withLockedValue { s in Dictionary(zip(s.addresses, s.routed)) { a, b in a + b } }
    }
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
