// Which node a unit of work (a transaction, or a statement outside one) goes to: the primary for writes, an eligible
// replica for reads, with the client's overrides, replica lag and read-your-writes taken into account.
import SQLAnalysis

/// One node as the router sees it when choosing.
public struct NodeView: Sendable, Equatable {
    public var id: Int
    public var name: String
    public var role: NodeRole
    /// Up, and its circuit admits work now.
    public var available: Bool
    /// Two nodes claim to be primary and this is the one on the older timeline, or a replica that follows neither
    /// the current primary nor its timeline: it gets no work at all.
    public var fenced: Bool
    public var weight: Int
    public var activeConnections: Int
    /// The WAL position it has replayed (a replica) as its last check saw; nil when unknown.
    public var replayed: UInt64?
    public var lagBytes: UInt64?
    public var lagSeconds: Double?

    public init(id: Int, name: String, role: NodeRole, available: Bool = true, fenced: Bool = false, weight: Int = 1,
                activeConnections: Int = 0, replayed: UInt64? = nil, lagBytes: UInt64? = nil, lagSeconds: Double? = nil) {
        self.id = id
        self.name = name
        self.role = role
        self.available = available
        self.fenced = fenced
        self.weight = weight
        self.activeConnections = activeConnections
        self.replayed = replayed
        self.lagBytes = lagBytes
        self.lagSeconds = lagSeconds
    }
}

/// What the router knows of the client when its next unit of work starts.
public struct RouteRequest: Sendable {
    /// A statement outside a transaction block, a transaction begun READ ONLY (or under a read-only session
    /// default), or one that may write.
    public enum Unit: Sendable, Equatable {
        case statement
        case readOnlyTransaction
        case transaction
    }

    /// pgswift.role, from the startup options or SET.
    public enum RoleOverride: String, Sendable, Equatable {
        case primary, replica, any
    }

    public var unit: Unit
    /// The first statement of the unit (for a transaction, the first after BEGIN, when it is known).
    public var profile: StatementProfile
    /// The text's `/* pgswift: ... */` hints.
    public var hints: [String]
    public var roleOverride: RoleOverride
    /// The client's last committed write: its commit's WAL position (when learned) and when it was.
    public var lastWrite: (lsn: UInt64?, at: Double)?
    public var now: Double

    public init(unit: Unit, profile: StatementProfile, hints: [String] = [], roleOverride: RoleOverride = .any,
                lastWrite: (lsn: UInt64?, at: Double)? = nil, now: Double) {
        self.unit = unit
        self.profile = profile
        self.hints = hints
        self.roleOverride = roleOverride
        self.lastWrite = lastWrite
        self.now = now
    }
}

/// Why a node was chosen (for SHOW NODES' counts and the log).
public enum RouteReason: String, Sendable, Equatable {
    case write, readWriteTransaction, hintPrimary, rolePrimary, readYourWrites, read, primaryFallback, noSplit
}

public enum RouteDecision: Sendable, Equatable {
    case node(Int, RouteReason)
    /// No node may take the work: the error for the client (08006, naming why).
    case fail(String)
}

/// Pure; keeps only the round-robin position. `random` draws for the random strategy (a seeded generator in tests).
public struct NodeSelector: Sendable {
    private var turn = 0

    public init() {}

    public mutating func choose<R: RandomNumberGenerator>(_ request: RouteRequest, nodes: [NodeView], policy: RoutePolicy,
                                                         random: inout R) -> RouteDecision {
        let usable = nodes.filter { $0.available && !$0.fenced }
        guard policy.split else {
            guard !usable.isEmpty else { return .fail(Self.nothingUp(nodes)) }
            return .node(balance(usable, policy.balancing, &random), .noSplit)
        }
        if let reason = primaryReason(request, policy) { return primary(usable, reason, nodes) }
        // A read: replicas that have what the client must see, within the lag limits. A query that accepts data
        // up to max_staleness old is held to that instead, and not to its session's last write.
        let staleness = request.hints.lazy.compactMap(Self.maxStaleness).first
        var why: [String] = []
        let replicas = usable.filter { node in
            guard node.role == .replica else { return false }
            if let staleness {
                guard let lag = node.lagSeconds, lag <= staleness else {
                    why.append("\(node.name) may be more than max_staleness (\(staleness)s) behind")
                    return false
                }
                return true
            }
            if let limit = policy.maxLagBytes, let lag = node.lagBytes, lag > limit {
                why.append("\(node.name) is \(lag) bytes behind (replica_max_lag \(limit))")
                return false
            }
            if let limit = policy.maxLagSeconds, let lag = node.lagSeconds, lag > limit {
                why.append("\(node.name) is \(lag)s behind (replica_max_lag \(limit)s)")
                return false
            }
            if case .lsn = policy.readYourWrites, let lsn = request.lastWrite?.lsn, (node.replayed ?? 0) < lsn {
                why.append("\(node.name) has not replayed this session's last write")
                return false
            }
            return true
        }
        if staleness == nil, case .window(let seconds) = policy.readYourWrites, let last = request.lastWrite, request.now - last.at < seconds {
            return primary(usable, .readYourWrites, nodes)
        }
        var candidates = replicas
        if policy.primaryReads == .always { candidates += usable.filter { $0.role == .primary } }
        if !candidates.isEmpty { return .node(balance(candidates, policy.balancing, &random), .read) }
        if policy.primaryReads == .never {
            let down = nodes.filter { $0.role == .replica && (!$0.available || $0.fenced) }.map { "\($0.name) is unavailable" }
            let reasons = (why + down).joined(separator: "; ")
            return .fail("no replica may take reads (primary_reads = never)" + (reasons.isEmpty ? "" : ": " + reasons))
        }
        return primary(usable, .primaryFallback, nodes)
    }

    /// Why the unit must run on the primary, or nil for a read.
    private func primaryReason(_ r: RouteRequest, _ policy: RoutePolicy) -> RouteReason? {
        // What the text does wins over every wish: a write on a replica fails there anyway.
        if r.profile.primaryReason != nil && r.profile.primaryReason != .unparsed { return .write }
        if r.hints.contains(where: { Self.hint($0, is: "primary") }) { return .hintPrimary }
        if r.hints.contains(where: { Self.hint($0, is: "replica") }) { return nil }
        if r.roleOverride == .primary { return .rolePrimary }
        if r.roleOverride == .replica { return nil }
        switch r.unit {
        case .statement, .readOnlyTransaction:
            return nil
        case .transaction:
            // Conservative: the rest of the transaction may write, and a replica would refuse it midway.
            return policy.aggressive ? nil : .readWriteTransaction
        }
    }

    private func primary(_ usable: [NodeView], _ reason: RouteReason, _ all: [NodeView]) -> RouteDecision {
        if let p = usable.first(where: { $0.role == .primary }) { return .node(p.id, reason) }
        let known = all.filter { $0.role == .primary }
        if known.isEmpty { return .fail("no primary is known for this database now; writes resume when one is found") }
        return .fail("the primary (\(known.map(\.name).joined(separator: ", "))) is unavailable; writes resume when it or a new primary answers")
    }

    private mutating func balance<R: RandomNumberGenerator>(_ nodes: [NodeView], _ strategy: RoutePolicy.Balancing, _ random: inout R) -> Int {
        let weighted = nodes.filter { $0.weight > 0 }
        let pool = weighted.isEmpty ? nodes : weighted
        switch strategy {
        case .leastActiveConnections:
            // Fewest active connections per unit of weight; ties taken in turn, or an idle cluster would send every
            // read to the first replica listed.
            func load(_ n: NodeView) -> Double { Double(n.activeConnections) / Double(max(n.weight, 1)) }
            let least = pool.map(load).min()!
            let tied = pool.filter { load($0) == least }
            defer { turn &+= 1 }
            return tied[turn % tied.count].id
        case .roundRobin:
            let slots = pool.flatMap { node in Array(repeating: node.id, count: max(node.weight, 1)) }
            defer { turn &+= 1 }
            return slots[turn % slots.count]
        case .random:
            let total = pool.reduce(0) { $0 + max($1.weight, 1) }
            var draw = Int.random(in: 0..<total, using: &random)
            for node in pool {
                draw -= max(node.weight, 1)
                if draw < 0 { return node.id }
            }
            return pool[pool.count - 1].id
        }
    }

    private static func nothingUp(_ nodes: [NodeView]) -> String {
        "no server of this database is available (" + nodes.map(\.name).joined(separator: ", ") + ")"
    }

    /// `max_staleness=500ms` (or 2s, or plain seconds) in a hint, in seconds.
    static func maxStaleness(_ text: String) -> Double? {
        for word in text.split(whereSeparator: { $0 == " " || $0 == "," }) {
            let parts = word.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "max_staleness" else { continue }
            let value = parts[1].lowercased()
            if value.hasSuffix("ms"), let n = Double(value.dropLast(2)) { return n / 1000 }
            if value.hasSuffix("s"), let n = Double(value.dropLast()) { return n }
            if let n = Double(value) { return n }
        }
        return nil
    }

    /// A hint's first word, in any case: "primary", "replica", or a setting such as max_staleness=500ms after it.
    static func hint(_ text: String, is word: String) -> Bool {
        text.split(whereSeparator: { $0 == " " || $0 == "," }).contains { $0.lowercased() == word }
    }
}
