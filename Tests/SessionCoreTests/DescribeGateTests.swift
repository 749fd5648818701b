// A client that described its statement binds it on a server that lacks it (or whose shape of it is unknown): steps of
// what goes to the server, what replies are owed, and when frames wait for the server's description.
import NIOCore
import PGWire
@testable import SessionCore
import Testing

@Suite("ClientSession holds a Bind until its statement's columns are known")
struct DescribeGateTests {
    static let old = StatementShapeTests.shape(columns: [StatementShapeTests.int4])
    static let new = StatementShapeTests.shape(columns: [FieldDescription(name: "b", typeOID: 25, typeSize: -1)])
    static let other = StatementShapeTests.shape(columns: [FieldDescription(name: "u", typeOID: 16, typeSize: 1)])

    /// The server the client is linked to after preparing: which of its statements (1: s1, 2: s2) it holds, and the
    /// shape it knows of each (nil: never described there).
    enum Server: Sendable { case lacks, has([Int: StatementShape?]) }

    enum Event: Sendable {
        case client([FrontendMessage])
        /// pgswift's own Describe of `statement` answered with `shape` (nil: failed); `parseFailed`: the injected Parse
        /// before it failed too, reported with the same delivery.
        case answer(statement: Int, shape: StatementShape?, parseFailed: Bool = false)
    }

    struct Step: Sendable {
        var event: Event
        /// What went to the server: type letter and, for Parse, Bind and Describe, the name (a raised error as "P 0A000").
        var sent: [String]
        var expected: [PendingReply]
        var waits: Bool
    }

    struct Scenario: Sendable, CustomTestStringConvertible {
        var why: String
        var server: Server
        var steps: [Step]
        var retired: Set<Int> = []
        var testDescription: String { why }
    }

    static func bind(_ name: String, portal: String = "") -> FrontendMessage {
        .bind(portal: portal, statement: name, parameterFormats: [], parameters: [], resultFormats: [])
    }
    static let execute = FrontendMessage.execute(portal: "", maxRows: 0)
    static let run1: [FrontendMessage] = [bind("s1"), execute, .sync]
    static let replies1: [PendingReply] = [.namedBind(statement: 1), .execute, .sync]
    static let prepare1: [PendingReply] = [.parse(statement: 1, injected: true), .describeStatement(statement: 1, token: nil)]
    static let raised: [PendingReply] = [.parse(statement: nil, injected: true), .injectedBind, .raise]

    static let scenarios: [Scenario] = [
        Scenario(why: "a server that lacks it, same columns: one round trip, then the Bind goes", server: .lacks, steps: [
            Step(event: .client(run1), sent: ["P pgswift_1", "D S pgswift_1", "H"], expected: prepare1, waits: true),
            Step(event: .answer(statement: 1, shape: old), sent: ["B pgswift_1", "E", "S"], expected: replies1, waits: false),
            // Known there now: the next run goes at once.
            Step(event: .client(run1), sent: ["B pgswift_1", "E", "S"], expected: replies1, waits: false),
        ]),
        Scenario(why: "columns changed: 0A000 in place of the Bind, the rest skipped by the server, its Sync answered", server: .lacks, steps: [
            Step(event: .client(run1), sent: ["P pgswift_1", "D S pgswift_1", "H"], expected: prepare1, waits: true),
            Step(event: .answer(statement: 1, shape: new), sent: ["P 0A000", "B", "E", "E", "S"], expected: raised + [.execute, .sync], waits: false),
        ], retired: [1]),
        Scenario(why: "a type's OID changed under the client: the same failure", server: .lacks, steps: [
            Step(event: .client(run1), sent: ["P pgswift_1", "D S pgswift_1", "H"], expected: prepare1, waits: true),
            Step(event: .answer(statement: 1, shape: other), sent: ["P 0A000", "B", "E", "E", "S"], expected: raised + [.execute, .sync], waits: false),
        ], retired: [1]),
        Scenario(why: "the batch describes the portal before executing: it learns the new columns", server: .lacks, steps: [
            Step(event: .client([bind("s1"), .describe(.portal, name: ""), execute, .sync]), sent: ["P pgswift_1", "D S pgswift_1", "H"],
                 expected: prepare1, waits: true),
            Step(event: .answer(statement: 1, shape: new), sent: ["B pgswift_1", "D P", "E", "S"],
                 expected: [.namedBind(statement: 1), .describe, .execute, .sync], waits: false),
            Step(event: .client(run1), sent: ["B pgswift_1", "E", "S"], expected: replies1, waits: false),
        ]),
        Scenario(why: "the batch describes the statement before binding it: nothing waits", server: .lacks, steps: [
            Step(event: .client([.describe(.statement, name: "s1")] + run1), sent: ["P pgswift_1", "D S pgswift_1", "B pgswift_1", "E", "S"],
                 expected: [.parse(statement: 1, injected: true), .describeStatement(statement: 1, token: 3)] + replies1, waits: false),
        ]),
        Scenario(why: "pipelined runs wait behind one Describe and are checked by its answer", server: .lacks, steps: [
            Step(event: .client(run1 + run1 + [.query("SELECT 1")]), sent: ["P pgswift_1", "D S pgswift_1", "H"], expected: prepare1, waits: true),
            Step(event: .answer(statement: 1, shape: old), sent: ["B pgswift_1", "E", "S", "B pgswift_1", "E", "S", "Q"],
                 expected: replies1 + replies1 + [.query], waits: false),
        ]),
        Scenario(why: "what the client sends while the Bind waits is held behind it, in order", server: .lacks, steps: [
            Step(event: .client([bind("s1"), execute]), sent: ["P pgswift_1", "D S pgswift_1", "H"], expected: prepare1, waits: true),
            Step(event: .client([.sync, .query("SELECT 1")]), sent: [], expected: [], waits: true),
            Step(event: .answer(statement: 1, shape: old), sent: ["B pgswift_1", "E", "S", "Q"], expected: replies1 + [.query], waits: false),
        ]),
        Scenario(why: "frames before the waiting Bind go at once", server: .lacks, steps: [
            Step(event: .client([.query("SELECT 1")] + run1), sent: ["Q", "P pgswift_1", "D S pgswift_1", "H"], expected: [.query] + prepare1, waits: true),
            Step(event: .answer(statement: 1, shape: old), sent: ["B pgswift_1", "E", "S"], expected: replies1, waits: false),
        ]),
        Scenario(why: "two statements the server lacks: each Bind waits in turn", server: .lacks, steps: [
            Step(event: .client(run1 + [bind("s2"), execute, .sync]), sent: ["P pgswift_1", "D S pgswift_1", "H"], expected: prepare1, waits: true),
            Step(event: .answer(statement: 1, shape: old), sent: ["B pgswift_1", "E", "S", "P pgswift_2", "D S pgswift_2", "H"],
                 expected: replies1 + [.parse(statement: 2, injected: true), .describeStatement(statement: 2, token: nil)], waits: true),
            Step(event: .answer(statement: 2, shape: other), sent: ["B pgswift_2", "E", "S"],
                 expected: [.namedBind(statement: 2), .execute, .sync], waits: false),
        ]),
        Scenario(why: "already on the server with the same columns: nothing waits, nothing added", server: .has([1: old]), steps: [
            Step(event: .client(run1), sent: ["B pgswift_1", "E", "S"], expected: replies1, waits: false),
        ]),
        Scenario(why: "on the server with other columns: fails at once, no round trip", server: .has([1: new]), steps: [
            Step(event: .client(run1), sent: ["P 0A000", "B", "E", "E", "S"], expected: raised + [.execute, .sync], waits: false),
        ], retired: [1]),
        Scenario(why: "on the server, never described there: a Describe only", server: .has([1: nil]), steps: [
            Step(event: .client(run1), sent: ["D S pgswift_1", "H"], expected: [.describeStatement(statement: 1, token: nil)], waits: true),
            Step(event: .answer(statement: 1, shape: old), sent: ["B pgswift_1", "E", "S"], expected: replies1, waits: false),
        ]),
        Scenario(why: "the Parse failed (the client has the error): frames up to Sync are not sent, later ones prepare again", server: .lacks, steps: [
            Step(event: .client(run1 + run1), sent: ["P pgswift_1", "D S pgswift_1", "H"], expected: prepare1, waits: true),
            Step(event: .answer(statement: 1, shape: nil, parseFailed: true), sent: ["S", "P pgswift_1", "D S pgswift_1", "H"],
                 expected: [.sync] + prepare1, waits: true),
        ]),
    ]

    @Test(arguments: scenarios)
    func steps(_ scenario: Scenario) throws {
        var (s, catalog) = try Self.describedOnAnotherServer()
        var server = ServerStatementCache(capacity: 10)
        if case .has(let held) = scenario.server {
            for (id, shape) in held {
                _ = server.insert(id)
                if let shape { server.setShape(shape, of: id) }
            }
        }
        s.linked()
        for (n, step) in scenario.steps.enumerated() {
            switch step.event {
            case .client(let messages):
                _ = try s.relay(ClientSessionTests.bytes(messages), statements: &server, catalog: catalog)
            case .answer(let statement, let shape, let parseFailed):
                let failed = parseFailed ? [FailedParse(statement: statement, injected: true)] : []
                _ = s.delivered(answered: 0, status: .idle, atBoundary: true, failed: failed, madeUp: [], settingReported: false,
                                statements: &server, now: ClientSessionTests.t0)
                try s.described([DescribedStatement(statement: statement, token: nil, shape: shape)], statements: &server, catalog: catalog)
            }
            #expect(Self.sent(&s) == step.sent, "step \(n)")
            #expect(s.expected == step.expected, "step \(n)")
            s.expected.removeAll()
            #expect(s.waitsForDescription == step.waits, "step \(n)")
        }
        #expect(catalog.retired == scenario.retired)
    }

    /// A client that prepared s1 (SELECT * FROM t) and s2 (SELECT * FROM u) and described both on a first server, as
    /// asyncpg does (Parse, Describe of the statement, Sync), which answered `old` and `other`.
    static func describedOnAnotherServer() throws -> (ClientSession, TestCatalog) {
        var s = ClientSessionTests.session()
        let catalog = TestCatalog()
        var first = ServerStatementCache(capacity: 10)
        s.linked()
        _ = try s.relay(ClientSessionTests.bytes([
            .parse(name: "s1", query: "SELECT * FROM t", parameterTypes: []), .describe(.statement, name: "s1"),
            .parse(name: "s2", query: "SELECT * FROM u", parameterTypes: []), .describe(.statement, name: "s2"), .sync,
        ]), statements: &first, catalog: catalog)
        #expect(s.expected == [.parse(statement: 1, injected: false), .describeStatement(statement: 1, token: 1),
                               .parse(statement: 2, injected: false), .describeStatement(statement: 2, token: 2), .sync])
        // As the handler does: the delivery that carries the answers (and the Sync's ReadyForQuery) first, then them.
        _ = ClientSessionTests.deliver(&s, answered: 1, cache: &first)
        try s.described([DescribedStatement(statement: 1, token: 1, shape: old), DescribedStatement(statement: 2, token: 2, shape: other)],
                        statements: &first, catalog: catalog)
        #expect(s.rewriter.statements["s1"]?.shape == old && s.rewriter.statements["s2"]?.shape == other)
        #expect(first.shape(of: 1) == old)
        s.outgoing.removeAll()
        s.expected.removeAll()
        return (s, catalog)
    }

    /// What the session left for the server, one string per frame.
    static func sent(_ s: inout ClientSession) -> [String] {
        var all = ByteBuffer()
        for var b in s.outgoing { all.writeBuffer(&b) }
        s.outgoing.removeAll()
        var frames: [String] = []
        while let (type, body) = try? WholeFrameReader.next(&all, maxLength: 1 << 20) {
            let letter = String(UnicodeScalar(type))
            switch try? FrontendMessage.decode(type: type, body: body) {
            case .parse(let name, let query, _)?:
                frames.append(query.contains("0A000") && query.contains(RaisedError.stalePlan) ? "P 0A000" : "P \(name)")
            case .bind(_, let statement, _, _, _)? where !statement.isEmpty:
                frames.append("B \(statement)")
            case .describe(let kind, let name)?:
                frames.append(["D", kind == .statement ? "S" : "P", name].filter { !$0.isEmpty }.joined(separator: " "))
            default:
                frames.append(letter)
            }
        }
        return frames
    }

    @Test func ownDescribeTeachesOnlyTheNameItDescribed() throws {
        var (s, catalog) = try Self.describedOnAnotherServer()
        var server = ServerStatementCache(capacity: 10)
        s.linked()
        // A second name for s1's text (the same shared statement), described after the table changed.
        _ = try s.relay(ClientSessionTests.bytes([.parse(name: "s1b", query: "SELECT * FROM t", parameterTypes: []),
                                                  .describe(.statement, name: "s1b"), .sync]), statements: &server, catalog: catalog)
        #expect(s.expected == [.parse(statement: 1, injected: false), .describeStatement(statement: 1, token: 3), .sync])
        _ = ClientSessionTests.deliver(&s, answered: 1, cache: &server)
        try s.described([DescribedStatement(statement: 1, token: 3, shape: Self.new)], statements: &server, catalog: catalog)
        #expect(s.rewriter.statements["s1b"]?.shape == Self.new && s.rewriter.statements["s1"]?.shape == Self.old)
        #expect(server.shape(of: 1) == Self.new)
        s.outgoing.removeAll()
        s.expected.removeAll()
        // s1b binds at once; s1, which the client still decodes by the old columns, hears PostgreSQL's failure.
        _ = try s.relay(ClientSessionTests.bytes([Self.bind("s1b"), Self.execute, .sync, Self.bind("s1"), Self.execute, .sync]),
                        statements: &server, catalog: catalog)
        #expect(Self.sent(&s) == ["B pgswift_1", "E", "S", "P 0A000", "B", "E", "E", "S"])
        #expect(catalog.retired == [1])
    }

    @Test func aRetiredStatementFailsAtOnceWithoutARoundTrip() throws {
        var (s, catalog) = try Self.describedOnAnotherServer()
        // Another client's Bind found s1's columns changed: the catalog retired it.
        catalog.retire(1)
        var server = ServerStatementCache(capacity: 10)
        s.linked()
        _ = try s.relay(ClientSessionTests.bytes(Self.run1), statements: &server, catalog: catalog)
        // No Parse of the old text and no Describe: PostgreSQL's failure at once, the rest skipped to the Sync.
        #expect(Self.sent(&s) == ["P 0A000", "B", "E", "E", "S"])
        #expect(s.expected == Self.raised + [.execute, .sync])
        #expect(!s.waitsForDescription && server.count == 0)
    }

    @Test func aFailedDescribeTeachesNothing() throws {
        var (s, catalog) = try Self.describedOnAnotherServer()
        var server = ServerStatementCache(capacity: 10)
        s.linked()
        _ = try s.relay(ClientSessionTests.bytes([.describe(.statement, name: "s1"), .sync]), statements: &server, catalog: catalog)
        try s.described([DescribedStatement(statement: 1, token: 3, shape: nil)], statements: &server, catalog: catalog)
        #expect(s.rewriter.statements["s1"]?.shape == Self.old && server.shape(of: 1) == nil)
    }

    @Test func aClientThatNeverDescribedIsNotHeld() throws {
        // libpq's way: PQprepare (Parse, Sync), then Bind, Describe of the portal, Execute, Sync.
        var s = ClientSessionTests.session()
        let catalog = TestCatalog()
        var first = ServerStatementCache(capacity: 10)
        s.linked()
        _ = try s.relay(ClientSessionTests.bytes([.parse(name: "s1", query: "SELECT * FROM t", parameterTypes: []), .sync]),
                        statements: &first, catalog: catalog)
        _ = ClientSessionTests.deliver(&s, answered: 1, cache: &first)
        var server = ServerStatementCache(capacity: 10)
        s.linked()
        s.outgoing.removeAll()
        _ = try s.relay(ClientSessionTests.bytes(Self.run1), statements: &server, catalog: catalog)
        #expect(Self.sent(&s) == ["P pgswift_1", "B pgswift_1", "E", "S"])
        #expect(!s.waitsForDescription)
    }

    @Test func stalePlanRetryDoesNotWait() throws {
        // The retry after PostgreSQL's own failure describes its portal: the client learns the columns, nothing waits.
        var (s, catalog) = try Self.describedOnAnotherServer()
        var server = ServerStatementCache(capacity: 10)
        _ = server.insert(1)
        server.setShape(Self.old, of: 1)
        s.linked()
        _ = try s.relay(ClientSessionTests.bytes([Self.bind("s1"), .describe(.portal, name: ""), Self.execute, .sync]), statements: &server, catalog: catalog)
        #expect(Self.sent(&s) == ["B pgswift_1", "D P", "E", "S"])
        catalog.retire(1)
        let (frames, replies) = try #require(s.batchForRetry(answered: 0, statements: &server, catalog: catalog))
        #expect(frames.count == 5 && replies.first == .parse(statement: 3, injected: true))
        #expect(!s.waitsForDescription && s.rewriter.statements["s1"]?.shape == nil)
    }
}
