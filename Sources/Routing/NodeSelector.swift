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
    /// The timeline it writes (a primary) or receives (a replica), when its last check could tell.
    public var timeline: UInt32?

    public init(id: Int, name: String, role: NodeRole, available: Bool = true, fenced: Bool = false, weight: Int = 1,
                activeConnections: Int = 0, replayed: UInt64? = nil, lagBytes: UInt64? = nil, lagSeconds: Double? = nil,
                timeline: UInt32? = nil) {
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
        self.timeline = timeline
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
    /// A replica not known to have replayed `lastWrite` may be asked whether it has by now (else the primary reads).
    public var confirmReplay = false
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
    /// A read for a client whose last write no replica is known to have replayed, sent to a replica that may have
    /// by now: it must confirm it has (pg_last_wal_replay_lsn) before the read runs there, else the read goes to the
    /// primary.
    case confirmReplay

    /// The unit reads (wherever it was sent): what read-your-writes watches for after a write.
    public var isRead: Bool {
        switch self {
        case .read, .readYourWrites, .primaryFallback, .confirmReplay: true
        case .write, .readWriteTransaction, .hintPrimary, .rolePrimary, .noSplit: false
        }
    }
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

    /// Allocates nothing on the way to a node (it runs for every unit of work): the nodes are filtered by
    /// predicate, not into arrays; only a refusal builds its text.
    public mutating func choose<R: RandomNumberGenerator>(_ request: RouteRequest, nodes: [NodeView], policy: RoutePolicy,
                                                         random: inout R) -> RouteDecision {
        func usable(_ n: NodeView) -> Bool { n.available && !n.fenced }
        guard policy.split else {
            guard let id = balance(nodes, policy.balancing, &random, where: usable) else { return .fail(Self.nothingUp(nodes)) }
            return .node(id, .noSplit)
        }
        if let reason = primaryReason(request, policy) { return primary(nodes, reason) }
        // A read: replicas that have what the client must see, within the lag limits. A query that accepts data
        // up to max_staleness old is held to that instead, and not to its session's last write.
        let staleness = request.hints.isEmpty ? nil : request.hints.lazy.compactMap(Self.maxStaleness).first
        if staleness == nil, case .window(let seconds) = policy.readYourWrites, let last = request.lastWrite, request.now - last.at < seconds {
            return primary(nodes, .readYourWrites)
        }
        let always = policy.primaryReads == .always
        if let id = balance(nodes, policy.balancing, &random, where: { n in
            usable(n) && ((n.role == .replica && Self.exclusion(n, request, policy, staleness: staleness) == nil) || (always && n.role == .primary))
        }) {
            return .node(id, .read)
        }
        // Replicas held back only by the client's last write, as far as their last known position says: one may be
        // asked whether it has it by now.
        if request.confirmReplay, request.lastWrite?.lsn != .max, let id = balance(nodes, policy.balancing, &random, where: { n in
            usable(n) && n.role == .replica && Self.exclusion(n, request, policy, staleness: staleness) == .notReplayed
        }) {
            return .node(id, .confirmReplay)
        }
        if policy.primaryReads == .never {
            // Said only when it fails: the reasons are text, and most reads never need them.
            let why = nodes.filter { usable($0) && $0.role == .replica }.compactMap { node in
                Self.exclusion(node, request, policy, staleness: staleness).map { $0.text(node.name) }
            }
            let down = nodes.filter { $0.role == .replica && (!$0.available || $0.fenced) }.map { "\($0.name) is unavailable" }
            let reasons = (why + down).joined(separator: "; ")
            return .fail("no replica may take reads (primary_reads = never)" + (reasons.isEmpty ? "" : ": " + reasons))
        }
        return primary(nodes, .primaryFallback)
    }

    /// Why a replica may not take a read now.
    enum Exclusion: Equatable {
        case staleness(Double)
        case lagBytes(UInt64, limit: UInt64)
        case lagSeconds(Double, limit: Double)
        case notReplayed

        func text(_ name: String) -> String {
            switch self {
            case .staleness(let s): "\(name) may be more than max_staleness (\(s)s) behind"
            case .lagBytes(let lag, let limit): "\(name) is \(lag) bytes behind (replica_max_lag \(limit))"
            case .lagSeconds(let lag, let limit): "\(name) is \(lag)s behind (replica_max_lag \(limit)s)"
            case .notReplayed: "\(name) has not replayed this session's last write"
            }
        }
    }

    /// A query that accepts data up to max_staleness old is held to that instead of the lag limits and its
    /// session's last write.
    static func exclusion(_ node: NodeView, _ request: RouteRequest, _ policy: RoutePolicy, staleness: Double?) -> Exclusion? {
        if let staleness {
            guard let lag = node.lagSeconds, lag <= staleness else { return .staleness(staleness) }
            return nil
        }
        if let limit = policy.maxLagBytes, let lag = node.lagBytes, lag > limit { return .lagBytes(lag, limit: limit) }
        if let limit = policy.maxLagSeconds, let lag = node.lagSeconds, lag > limit { return .lagSeconds(lag, limit: limit) }
        if case .lsn = policy.readYourWrites, let lsn = request.lastWrite?.lsn, (node.replayed ?? 0) < lsn { return .notReplayed }
        return nil
    }

    /// Why the unit must run on the primary, or nil for a read.
    private func primaryReason(_ r: RouteRequest, _ policy: RoutePolicy) -> RouteReason? {
        // What the text does wins over every wish: a write on a replica fails there anyway.
        // A text PostgreSQL's parser (libpg_query's version of it) refused may be newer syntax that writes: the
        // primary runs it, or reports the error as any node would.
        if r.profile.primaryReason != nil { return .write }
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

    private func primary(_ nodes: [NodeView], _ reason: RouteReason) -> RouteDecision {
        // Two primaries (an old one back before fencing caught it): the newer timeline's takes the writes.
        var best: NodeView?
        for n in nodes where n.role == .primary && n.available && !n.fenced {
            if best == nil || (n.timeline ?? 0) > (best?.timeline ?? 0) { best = n }
        }
        if let best { return .node(best.id, reason) }
        let known = nodes.filter { $0.role == .primary }
        if known.isEmpty { return .fail("no primary is known for this database now; writes resume when one is found") }
        return .fail("the primary (\(known.map(\.name).joined(separator: ", "))) is unavailable; writes resume when it or a new primary answers")
    }

    /// The node `strategy` picks among those `eligible` admits (nil: none), by weight: nodes of weight 0 only when
    /// no eligible node has a weight above 0.
    private mutating func balance<R: RandomNumberGenerator>(_ nodes: [NodeView], _ strategy: RoutePolicy.Balancing, _ random: inout R,
                                                           where eligible: (NodeView) -> Bool) -> Int? {
        var count = 0, weighted = false
        for n in nodes where eligible(n) {
            count += 1
            if n.weight > 0 { weighted = true }
        }
        guard count > 0 else { return nil }
        func counts(_ n: NodeView) -> Bool { eligible(n) && (!weighted || n.weight > 0) }
        func weight(_ n: NodeView) -> Int { max(n.weight, 1) }
        switch strategy {
        case .leastActiveConnections:
            // Fewest active connections per unit of weight; ties taken in turn, or an idle cluster would send every
            // read to the first replica listed.
            func load(_ n: NodeView) -> Double { Double(n.activeConnections) / Double(weight(n)) }
            var least = Double.infinity, tied = 0
            for n in nodes where counts(n) {
                let l = load(n)
                if l < least { least = l; tied = 1 } else if l == least { tied += 1 }
            }
            var pick = turn % tied
            turn &+= 1
            for n in nodes where counts(n) && load(n) == least {
                if pick == 0 { return n.id }
                pick -= 1
            }
        case .roundRobin, .random:
            var total = 0
            for n in nodes where counts(n) { total += weight(n) }
            var slot: Int
            if strategy == .roundRobin {
                slot = turn % total
                turn &+= 1
            } else {
                slot = Int.random(in: 0..<total, using: &random)
            }
            for n in nodes where counts(n) {
                slot -= weight(n)
                if slot < 0 { return n.id }
            }
        }
        return nil
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
