// NodeSelector as a table: where each kind of unit of work goes, given the nodes' state, the client's wishes and the
// policy; then the balancing strategies.
@testable import Routing
import SQLAnalysis
import Testing

@Suite("Node selection")
struct NodeSelectorTests {
    static let primary = NodeView(id: 0, name: "p:5432", role: .primary, replayed: 100)
    static let r1 = NodeView(id: 1, name: "r1:5433", role: .replica, replayed: 100, lagBytes: 0, lagSeconds: 0)
    static let r2 = NodeView(id: 2, name: "r2:5434", role: .replica, replayed: 80, lagBytes: 20, lagSeconds: 0.2)
    static let cluster = [primary, r1, r2]

    static func profile(_ sql: String) -> StatementProfile { StatementProfiler.profile(sql) }
    static let read = profile("SELECT * FROM t WHERE id = 1")
    static let write = profile("UPDATE t SET a = 1")

    struct Case: Sendable, CustomTestStringConvertible {
        var why: String
        var request: RouteRequest
        var nodes: [NodeView] = NodeSelectorTests.cluster
        var policy = RoutePolicy(balancing: .leastActiveConnections)
        var want: RouteDecision
        var testDescription: String { why }
    }

    static func req(_ unit: RouteRequest.Unit = .statement, _ p: StatementProfile = read, hints: [String] = [],
                    role: RouteRequest.RoleOverride = .any, lastWrite: (lsn: UInt64?, at: Double)? = nil, now: Double = 100) -> RouteRequest {
        RouteRequest(unit: unit, profile: p, hints: hints, roleOverride: role, lastWrite: lastWrite, now: now)
    }

    static func down(_ n: NodeView) -> NodeView { var n = n; n.available = false; return n }
    static func fenced(_ n: NodeView) -> NodeView { var n = n; n.fenced = true; return n }
    static func busy(_ n: NodeView, _ active: Int) -> NodeView { var n = n; n.activeConnections = active; return n }

    static let cases: [Case] = [
        Case(why: "a read outside a transaction goes to a replica", request: req(), want: .node(1, .read)),
        Case(why: "a write goes to the primary", request: req(.statement, write), want: .node(0, .write)),
        Case(why: "nextval in a SELECT is a write", request: req(.statement, profile("SELECT nextval('s')")), want: .node(0, .write)),
        Case(why: "a transaction that may write goes to the primary (conservative)", request: req(.transaction), want: .node(0, .readWriteTransaction)),
        Case(why: "aggressive: a transaction whose first statement reads goes to a replica", request: req(.transaction),
             policy: RoutePolicy(aggressive: true), want: .node(1, .read)),
        Case(why: "aggressive still sends a transaction that starts with a write to the primary", request: req(.transaction, write),
             policy: RoutePolicy(aggressive: true), want: .node(0, .write)),
        Case(why: "a READ ONLY transaction goes to a replica", request: req(.readOnlyTransaction), want: .node(1, .read)),
        Case(why: "the primary hint", request: req(hints: ["primary"]), want: .node(0, .hintPrimary)),
        Case(why: "the replica hint on a transaction", request: req(.transaction, hints: ["replica"]), want: .node(1, .read)),
        Case(why: "the replica hint does not send a write to a replica", request: req(.statement, write, hints: ["replica"]), want: .node(0, .write)),
        Case(why: "pgswift.role = primary", request: req(role: .primary), want: .node(0, .rolePrimary)),
        Case(why: "pgswift.role = replica on a transaction", request: req(.transaction, role: .replica), want: .node(1, .read)),
        Case(why: "fewest active connections first", request: req(), nodes: [primary, busy(r1, 3), busy(r2, 1)], want: .node(2, .read)),
        Case(why: "a replica over replica_max_lag (bytes) gets no reads", request: req(), nodes: [primary, busy(r1, 5), r2],
             policy: RoutePolicy(maxLagBytes: 10), want: .node(1, .read)),
        Case(why: "a replica over replica_max_lag (time) gets no reads", request: req(), nodes: [primary, r2],
             policy: RoutePolicy(maxLagSeconds: 0.1), want: .node(0, .primaryFallback)),
        Case(why: "a down replica is skipped", request: req(), nodes: [primary, down(r1), r2], want: .node(2, .read)),
        Case(why: "a fenced node gets nothing", request: req(), nodes: [primary, fenced(r1), r2], want: .node(2, .read)),
        Case(why: "every replica down: reads fall back to the primary", request: req(), nodes: [primary, down(r1), down(r2)],
             want: .node(0, .primaryFallback)),
        Case(why: "primary_reads = never: reads fail, naming why", request: req(), nodes: [primary, down(r1)],
             policy: RoutePolicy(primaryReads: .never), want: .fail("no replica may take reads (primary_reads = never): r1:5433 is unavailable")),
        Case(why: "primary_reads = always: the primary is a candidate too", request: req(), nodes: [busy(primary, 0), busy(r1, 4)],
             policy: RoutePolicy(primaryReads: .always), want: .node(0, .read)),
        Case(why: "read-your-writes (lsn): only nodes that replayed the write", request: req(lastWrite: (90, 99.9)), want: .node(1, .read)),
        Case(why: "read-your-writes (lsn): none has it yet, so the primary", request: req(lastWrite: (150, 99.9)), want: .node(0, .primaryFallback)),
        Case(why: "read-your-writes (window): the primary within the window", request: req(lastWrite: (nil, 99.5)),
             policy: RoutePolicy(readYourWrites: .window(1)), want: .node(0, .readYourWrites)),
        Case(why: "read-your-writes (window): replicas again after it", request: req(lastWrite: (nil, 98)),
             policy: RoutePolicy(readYourWrites: .window(1)), want: .node(1, .read)),
        Case(why: "max_staleness lets a query read a replica that has not replayed its session's write",
             request: req(hints: ["max_staleness=500ms"], lastWrite: (150, 99.9)), nodes: [primary, busy(r1, 9), r2], want: .node(2, .read)),
        Case(why: "max_staleness shorter than a replica's lag excludes it", request: req(hints: ["max_staleness=100ms"]),
             nodes: [primary, r2], want: .node(0, .primaryFallback)),
        Case(why: "no primary: a write fails at once", request: req(.statement, write), nodes: [down(primary), r1],
             want: .fail("the primary (p:5432) is unavailable; writes resume when it or a new primary answers")),
        Case(why: "no primary known at all", request: req(.statement, write), nodes: [r1, r2],
             want: .fail("no primary is known for this database now; writes resume when one is found")),
        Case(why: "read_write_split = off: any available node, writes included", request: req(.statement, write),
             nodes: [down(primary), r1], policy: RoutePolicy(split: false), want: .node(1, .noSplit)),
        Case(why: "a text the parser refused goes to the primary (it may be newer syntax that writes)", request: req(.statement, profile("SELEC 1")),
             want: .node(0, .write)),
    ]

    @Test(arguments: cases)
    func decision(_ c: Case) {
        var selector = NodeSelector()
        var rng = SystemRandomNumberGenerator()
        #expect(selector.choose(c.request, nodes: c.nodes, policy: c.policy, random: &rng) == c.want)
    }

    @Test func roundRobinGoesRoundByWeight() {
        var selector = NodeSelector()
        var rng = SystemRandomNumberGenerator()
        var heavy = Self.r1
        heavy.weight = 2
        let ids = (0..<6).map { _ in
            selector.choose(Self.req(), nodes: [Self.primary, heavy, Self.r2], policy: RoutePolicy(balancing: .roundRobin), random: &rng)
        }
        #expect(ids == [.node(1, .read), .node(1, .read), .node(2, .read), .node(1, .read), .node(1, .read), .node(2, .read)])
    }

    /// A fixed sequence, so the random strategy's draws can be checked.
    struct Counter: RandomNumberGenerator {
        var state: UInt64 = 0
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            return state
        }
    }

    @Test func randomSpreadsReadsByWeight() {
        var selector = NodeSelector()
        var rng = Counter()
        var heavy = Self.r1
        heavy.weight = 3
        var counts: [Int: Int] = [:]
        for _ in 0..<4000 {
            if case .node(let id, _) = selector.choose(Self.req(), nodes: [Self.primary, heavy, Self.r2],
                                                       policy: RoutePolicy(balancing: .random), random: &rng) {
                counts[id, default: 0] += 1
            }
        }
        #expect(counts[0] == nil)
        let share = Double(counts[1] ?? 0) / 4000
        #expect(share > 0.7 && share < 0.8, "r1 took \(share) of reads, weight 3 of 4")
    }

    @Test func hintsAreReadAsWords() {
        #expect(NodeSelector.hint("Primary", is: "primary"))
        #expect(NodeSelector.hint("replica max_staleness=1s", is: "replica"))
        #expect(!NodeSelector.hint("primary_key", is: "primary"))
        #expect(NodeSelector.maxStaleness("max_staleness=500ms") == 0.5)
        #expect(NodeSelector.maxStaleness("replica, max_staleness=2s") == 2)
        #expect(NodeSelector.maxStaleness("max_staleness=x") == nil)
    }

    @Test func idleReplicasShareReadsUnderLeastActive() {
        var selector = NodeSelector()
        var random = SystemRandomNumberGenerator()
        let picks = (0..<4).map { _ in selector.choose(Self.req(), nodes: Self.cluster, policy: RoutePolicy(), random: &random) }
        #expect(picks == [.node(1, .read), .node(2, .read), .node(1, .read), .node(2, .read)])
    }

    @Test func twoPrimariesTheNewerTimelineWrites() {
        var selector = NodeSelector()
        var random = SystemRandomNumberGenerator()
        var old = Self.primary, promoted = Self.r2
        old.timeline = 1
        promoted.role = .primary
        promoted.timeline = 2
        #expect(selector.choose(Self.req(.statement, Self.write), nodes: [old, Self.r1, promoted], policy: RoutePolicy(), random: &random) == .node(2, .write))
    }
}
