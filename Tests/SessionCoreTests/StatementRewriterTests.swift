// StatementRewriter as step tables over real frames: what passes, what is dropped, the frames sent in its place
// (decoded back into FrontendMessage) and the replies the server will owe, for one or two clients sharing servers.
import NIOCore
import PGWire
import SessionCore
import Testing

@Suite("StatementRewriter")
struct StatementRewriterTests {
    /// Numbers statement texts as the proxy's catalog does: 1, 2, ... in order of first sight.
    final class Interner {
        private var ids: [ByteBuffer: Int] = [:]

        func id(_ tail: ByteBuffer) -> Int {
            if let id = ids[tail] { return id }
            let id = ids.count + 1
            ids[tail] = id
            return id
        }
    }

    enum Op: Sendable, CustomStringConvertible {
        /// Client 0 or 1 sends this message to the server it is linked to.
        case send(Int, FrontendMessage)
        /// Both clients are now linked to server `n` (each server has its own cache).
        case link(Int)
        /// The server reports a Parse it did not carry out, to this client.
        case parseFailed(Int, FailedParse)
        /// Everything this client sent so far has been answered.
        case settled(Int)

        var description: String {
            switch self {
            case .send(let c, let m): "client \(c) sends \(m)"
            case .link(let n): "link to server \(n)"
            case .parseFailed(let c, let f): "client \(c): parse failed \(f)"
            case .settled(let c): "client \(c): replies settled"
            }
        }
    }

    struct Step: Sendable {
        var op: Op
        var verdict: Rewritten = .pass
        /// The frames the rewriter put in the dropped frame's place.
        var out: [FrontendMessage] = []
        var replies: [PendingReply] = []
        /// Checked when set: the client's statement names (sorted), the current server's statements, and so on.
        var names: [String]?
        var held: Set<Int>?
        var generation: Int?
    }

    struct Scenario: Sendable, CustomTestStringConvertible {
        var name: String
        var capacity = 10
        var steps: [Step]
        var testDescription: String { name }
    }

    // MARK: table helpers

    static let q1 = "SELECT 1", q2 = "SELECT $1::int4", q3 = "SELECT 3"

    static func parse(_ name: String, _ query: String, _ types: [UInt32] = []) -> FrontendMessage {
        .parse(name: name, query: query, parameterTypes: types)
    }

    /// A Bind with parameters and formats, which the rewritten Bind must carry unchanged.
    static func bind(_ statement: String, portal: String = "") -> FrontendMessage {
        .bind(portal: portal, statement: statement, parameterFormats: [0, 1], parameters: [ByteBuffer(string: "42"), nil], resultFormats: [1])
    }

    static func shared(_ id: Int, generation: Int = 0) -> String { generation == 0 ? "pgswift_\(id)" : "pgswift_\(id)_\(generation)" }

    /// The throwaway statement a DEALLOCATE by unnamed Parse drops has a random name: expected frames spell it so.
    static let standIn = "pgswift_dealloc_?"

    /// The frames that have the server raise an error PostgreSQL would have raised; `message` as it appears in
    /// the SQL (quotes doubled, $pgswift$ defused).
    static func raise(_ sqlState: String, _ message: String) -> [FrontendMessage] {
        [
            parse("", "DO $pgswift$BEGIN RAISE EXCEPTION USING ERRCODE = '\(sqlState)', MESSAGE = '\(message)'; END$pgswift$"),
            .bind(portal: "", statement: "", parameterFormats: [], parameters: [], resultFormats: []),
            .execute(portal: "", maxRows: 0),
        ]
    }

    /// What those frames owe: ParseComplete and BindComplete (both hidden), then the Execute's error.
    static let raised: [PendingReply] = [.parse(statement: nil, injected: true), .injectedBind, .raise]

    /// A Bind or Describe of a statement the client does not have: dropped, and the server raises 26000.
    static func unknown(_ m: FrontendMessage, _ name: String, client: Int = 0, names: [String]? = nil, held: Set<Int>? = nil) -> Step {
        send(m, client: client, .drop, out: raise("26000", "prepared statement \"\(name)\" does not exist"), replies: raised, names: names, held: held)
    }

    static func send(
        _ m: FrontendMessage, client: Int = 0, _ verdict: Rewritten, out: [FrontendMessage] = [], replies: [PendingReply] = [],
        names: [String]? = nil, held: Set<Int>? = nil, generation: Int? = nil
    ) -> Step {
        Step(op: .send(client, m), verdict: verdict, out: out, replies: replies, names: names, held: held, generation: generation)
    }

    static func link(_ n: Int, held: Set<Int>? = nil) -> Step { Step(op: .link(n), held: held) }

    static func failed(_ id: Int, injected: Bool, client: Int = 0, names: [String], held: Set<Int>) -> Step {
        Step(op: .parseFailed(client, FailedParse(statement: id, injected: injected)), names: names, held: held)
    }

    static func settled(client: Int = 0, names: [String]? = nil) -> Step { Step(op: .settled(client), names: names) }

    /// A Parse forwarded under its shared name, as the client sent it otherwise.
    static func forwarded(_ name: String, _ query: String, _ types: [UInt32] = [], id: Int, client: Int = 0, names: [String]? = nil) -> Step {
        send(
            parse(name, query, types), client: client, .drop, out: [parse(shared(id), query, types)], replies: [.parse(statement: id, injected: false)],
            names: names)
    }

    // MARK: scenarios

    static let scenarios: [Scenario] = [
        Scenario(
            name: "first Parse of a name: forwarded under its shared name",
            steps: [
                send(parse("a", q1), .drop, out: [parse("pgswift_1", q1)], replies: [.parse(statement: 1, injected: false)], names: ["a"], held: [1]),
                send(bind("a", portal: "p"), .drop, out: [bind("pgswift_1", portal: "p")], replies: [.namedBind(statement: 1)]),
                send(.describe(.portal, name: "p"), .pass, replies: [.describe]),
                send(.execute(portal: "p", maxRows: 0), .pass, replies: [.execute]),
                send(.sync, .pass, replies: [.sync]),
                send(.flush, .pass),
                send(
                    parse("b", q2, [23]), .drop, out: [parse("pgswift_2", q2, [23])], replies: [.parse(statement: 2, injected: false)],
                    names: ["a", "b"], held: [1, 2]),
            ]),
        Scenario(
            name: "same text from a second client on the same server: synthetic ParseComplete",
            steps: [
                forwarded("a", q1, id: 1),
                send(parse("b", q1), client: 1, .drop, replies: [.synthetic(.parseComplete)], names: ["b"], held: [1]),
                send(bind("b"), client: 1, .drop, out: [bind("pgswift_1")], replies: [.namedBind(statement: 1)]),
                send(.describe(.statement, name: "b"), client: 1, .drop, out: [.describe(.statement, name: "pgswift_1")], replies: [.describeStatement(statement: 1, token: 1)]),
                forwarded("c", q2, [23], id: 2, client: 1, names: ["b", "c"]),
                send(bind("a"), .drop, out: [bind("pgswift_1")], replies: [.namedBind(statement: 1)], names: ["a"]),
            ]),
        Scenario(
            name: "Bind or Describe on a server without the statement: injected Parse first",
            steps: [
                forwarded("a", q2, [23], id: 1),
                link(1, held: []),
                send(
                    bind("a"), .drop, out: [parse("pgswift_1", q2, [23]), bind("pgswift_1")], replies: [.parse(statement: 1, injected: true), .namedBind(statement: 1)],
                    held: [1]),
                send(bind("a"), .drop, out: [bind("pgswift_1")], replies: [.namedBind(statement: 1)]),
                link(2, held: []),
                send(
                    .describe(.statement, name: "a"), .drop, out: [parse("pgswift_1", q2, [23]), .describe(.statement, name: "pgswift_1")],
                    replies: [.parse(statement: 1, injected: true), .describeStatement(statement: 1, token: 1)], held: [1]),
                // The first server still holds it.
                link(0, held: [1]),
                send(bind("a"), .drop, out: [bind("pgswift_1")], replies: [.namedBind(statement: 1)]),
            ]),
        Scenario(
            name: "eviction at capacity: Close of the least recently used first",
            capacity: 2,
            steps: [
                forwarded("a", q1, id: 1),
                forwarded("b", q2, [23], id: 2),
                // Using a makes b the least recently used.
                send(bind("a"), .drop, out: [bind("pgswift_1")], replies: [.namedBind(statement: 1)], held: [1, 2]),
                send(
                    parse("c", q3), .drop, out: [.close(.statement, name: "pgswift_2"), parse("pgswift_3", q3)],
                    replies: [.close(injected: true), .parse(statement: 3, injected: false)], held: [1, 3]),
                send(
                    bind("b"), .drop, out: [.close(.statement, name: "pgswift_1"), parse("pgswift_2", q2, [23]), bind("pgswift_2")],
                    replies: [.close(injected: true), .parse(statement: 2, injected: true), .namedBind(statement: 2)], held: [2, 3]),
                // Another client's synthetic ParseComplete counts as a use too.
                send(parse("d", q3), client: 1, .drop, replies: [.synthetic(.parseComplete)], held: [2, 3]),
                send(
                    .describe(.statement, name: "a"), .drop,
                    out: [.close(.statement, name: "pgswift_2"), parse("pgswift_1", q1), .describe(.statement, name: "pgswift_1")],
                    replies: [.close(injected: true), .parse(statement: 1, injected: true), .describeStatement(statement: 1, token: 1)], held: [1, 3]),
            ]),
        Scenario(
            name: "Close of a statement: synthetic CloseComplete, the name forgotten, the server's copy kept",
            steps: [
                forwarded("a", q1, id: 1),
                send(.close(.statement, name: "a"), .drop, replies: [.synthetic(.closeComplete)], names: [], held: [1]),
                unknown(bind("a"), "a", names: [], held: [1]),
                send(.sync, .pass, replies: [.sync]),
                send(parse("a", q1), .drop, replies: [.synthetic(.parseComplete)], names: ["a"], held: [1]),
                // PostgreSQL closes a statement that does not exist without complaint.
                send(.close(.statement, name: "never"), .drop, replies: [.synthetic(.closeComplete)], names: ["a"]),
                send(.close(.statement, name: ""), .pass, replies: [.close(injected: false)]),
                send(.close(.portal, name: "p"), .pass, replies: [.close(injected: false)], names: ["a"]),
            ]),
        Scenario(
            name: "unknown name in Bind: the server raises 26000; what follows up to Sync is rewritten as usual, for the server to skip",
            steps: [
                unknown(bind("nope"), "nope", names: [], held: []),
                send(.execute(portal: "", maxRows: 0), .pass, replies: [.execute]),
                // Recorded and forwarded: the server skips it and reports it failed (below).
                forwarded("a", q1, id: 1, names: ["a"]),
                send(.describe(.statement, name: "a"), .drop, out: [.describe(.statement, name: "pgswift_1")], replies: [.describeStatement(statement: 1, token: 1)], held: [1]),
                send(.flush, .pass),
                send(.query("SELECT 1"), .pass, replies: [.query]),
                send(.sync, .pass, replies: [.sync]),
                failed(1, injected: false, names: [], held: []),
                send(.execute(portal: "", maxRows: 0), .pass, replies: [.execute]),
                unknown(bind("a"), "a"),
            ]),
        Scenario(
            name: "unknown name in Describe: 26000; unnamed statements and portals pass",
            steps: [
                unknown(.describe(.statement, name: "nope"), "nope"),
                send(bind(""), .pass, replies: [.bind]),
                send(.sync, .pass, replies: [.sync]),
                send(.describe(.portal, name: ""), .pass, replies: [.describe]),
                send(.describe(.statement, name: ""), .pass, replies: [.describe]),
                send(bind(""), .pass, replies: [.bind]),
                send(parse("", q1), .pass, replies: [.parse(statement: nil, injected: false)], names: []),
            ]),
        Scenario(
            name: "duplicate Parse: 42P05, the first statement stays",
            steps: [
                forwarded("a", q1, id: 1),
                send(
                    parse("a", q2, [23]), .drop, out: raise("42P05", "prepared statement \"a\" already exists"), replies: raised,
                    names: ["a"], held: [1]),
                // Rewritten as usual; the server skips it.
                send(bind("a"), .drop, out: [bind("pgswift_1")], replies: [.namedBind(statement: 1)]),
                send(.sync, .pass, replies: [.sync]),
                send(bind("a"), .drop, out: [bind("pgswift_1")], replies: [.namedBind(statement: 1)], names: ["a"], held: [1]),
                // The same text under the same name is a duplicate too.
                send(parse("a", q1), .drop, out: raise("42P05", "prepared statement \"a\" already exists"), replies: raised, names: ["a"]),
            ]),
        Scenario(
            name: "raised error text: single quotes doubled, $pgswift$ defused",
            steps: [
                send(
                    bind("it's"), .drop,
                    out: [
                        parse("", "DO $pgswift$BEGIN RAISE EXCEPTION USING ERRCODE = '26000', MESSAGE = 'prepared statement \"it''s\" does not exist'; END$pgswift$"),
                        .bind(portal: "", statement: "", parameterFormats: [], parameters: [], resultFormats: []),
                        .execute(portal: "", maxRows: 0),
                    ],
                    replies: [.parse(statement: nil, injected: true), .injectedBind, .raise]),
                unknown(.describe(.statement, name: "x$pgswift$; DROP TABLE t; --"), "x$pgswift $; DROP TABLE t; --"),
                unknown(bind("$pgswift$pgswift$'"), "$pgswift $pgswift $''"),
                unknown(bind("''$pgswift$"), "''''$pgswift $"),
                forwarded("q'$pgswift$", q1, id: 1),
                send(
                    parse("q'$pgswift$", q1), .drop, out: raise("42P05", "prepared statement \"q''$pgswift $\" already exists"), replies: raised,
                    names: ["q'$pgswift$"]),
            ]),
        Scenario(
            name: "DEALLOCATE by Query, the server holds it: synthetic DEALLOCATE, the shared statement kept",
            steps: [
                forwarded("a", q1, id: 1),
                forwarded("b", q2, [23], id: 2),
                send(.query("DEALLOCATE a"), .drop, replies: [.synthetic(.deallocated)], names: ["b"], held: [1, 2]),
                send(.query("deallocate prepare B;"), .drop, replies: [.synthetic(.deallocated)], names: [], held: [1, 2]),
                unknown(bind("a"), "a"),
                // Still on the server: a new Parse of the text needs none.
                send(parse("c", q1), .drop, replies: [.synthetic(.parseComplete)], names: ["c"], held: [1, 2]),
            ]),
        Scenario(
            name: "DEALLOCATE by Query, the server lacks it: synthetic DEALLOCATE",
            steps: [
                forwarded("a", q1, id: 1),
                link(1),
                send(.query("DEALLOCATE a"), .drop, replies: [.synthetic(.deallocated)], names: [], held: []),
                link(0, held: [1]),
                unknown(bind("a"), "a"),
            ]),
        Scenario(
            name: "DEALLOCATE of a name the client lacks, and other queries, pass",
            steps: [
                forwarded("a", q1, id: 1),
                send(.query("DEALLOCATE zzz"), .pass, replies: [.query], names: ["a"], held: [1]),
                send(.query("DEALLOCATE a; SELECT 1"), .pass, replies: [.query], names: ["a"], held: [1]),
                send(.query("SELECT 1"), .pass, replies: [.query]),
                send(.functionCall(oid: 1598, argumentFormats: [], arguments: [], resultFormat: 0), .pass, replies: [.query]),
            ]),
        Scenario(
            name: "DEALLOCATE ALL: both maps cleared, shared names change generation",
            steps: [
                forwarded("a", q1, id: 1),
                forwarded("b", q2, [23], id: 2, client: 1),
                send(.query("DEALLOCATE ALL"), .pass, replies: [.query], names: [], held: [], generation: 1),
                send(parse("a", q1), .drop, out: [parse("pgswift_1_1", q1)], replies: [.parse(statement: 1, injected: false)], names: ["a"], held: [1]),
                // The other client keeps its names; its statement is prepared again under the new name.
                send(
                    bind("b"), client: 1, .drop, out: [parse("pgswift_2_1", q2, [23]), bind("pgswift_2_1")],
                    replies: [.parse(statement: 2, injected: true), .namedBind(statement: 2)], names: ["b"], held: [1, 2]),
            ]),
        Scenario(
            name: "DISCARD ALL: both maps cleared, shared names change generation",
            steps: [
                forwarded("a", q1, id: 1),
                send(.query(" discard all; "), .pass, replies: [.query], names: [], held: [], generation: 1),
                forwarded("a", q1, id: 1, names: ["a"]).replacingOut([parse("pgswift_1_1", q1)]),
                send(.query("DISCARD ALL"), .pass, replies: [.query], names: [], held: [], generation: 2),
                send(parse("b", q1), .drop, out: [parse("pgswift_1_2", q1)], replies: [.parse(statement: 1, injected: false)], names: ["b"]),
            ]),
        Scenario(
            name: "unnamed Parse of DEALLOCATE x, the server lacks x: a throwaway statement injected and deallocated instead",
            steps: [
                forwarded("a", q1, id: 1),
                link(1),
                send(
                    parse("", "DEALLOCATE a"), .drop, out: [parse(standIn, "SELECT 1"), parse("", "DEALLOCATE \(standIn)")],
                    replies: [.parse(statement: nil, injected: true), .parse(statement: nil, injected: false)], names: [], held: []),
                link(0, held: [1]),
                unknown(bind("a"), "a"),
            ]),
        Scenario(
            name: "unnamed Parse of DEALLOCATE x, the server holds x: it keeps x, a throwaway is deallocated, parameter types kept",
            steps: [
                forwarded("a", q1, id: 1),
                send(
                    parse("", "DEALLOCATE PREPARE a;", [25]), .drop, out: [parse(standIn, "SELECT 1"), parse("", "DEALLOCATE \(standIn)", [25])],
                    replies: [.parse(statement: nil, injected: true), .parse(statement: nil, injected: false)], names: [], held: [1]),
                send(parse("b", q1), .drop, replies: [.synthetic(.parseComplete)], names: ["b"], held: [1]),
                send(parse("", "DEALLOCATE a"), .pass, replies: [.parse(statement: nil, injected: false)]),
                send(parse("", "SELECT 1"), .pass, replies: [.parse(statement: nil, injected: false)]),
            ]),
        Scenario(
            name: "unnamed Parse of DEALLOCATE ALL or DISCARD ALL clears both maps",
            steps: [
                forwarded("a", q1, id: 1),
                send(parse("", "DEALLOCATE ALL"), .pass, replies: [.parse(statement: nil, injected: false)], names: [], held: [], generation: 1),
                send(parse("a", q1), .drop, out: [parse("pgswift_1_1", q1)], replies: [.parse(statement: 1, injected: false)], names: ["a"]),
                send(parse("", "DISCARD ALL"), .pass, replies: [.parse(statement: nil, injected: false)], names: [], held: [], generation: 2),
            ]),
        Scenario(
            name: "parseFailed(injected: false) forgets the client's name",
            steps: [
                forwarded("a", q1, id: 1),
                forwarded("b", q2, [23], id: 2, names: ["a", "b"]),
                failed(1, injected: false, names: ["b"], held: [2]),
                unknown(bind("a"), "a"),
                send(.sync, .pass, replies: [.sync]),
                // The text can be prepared again, under the same shared name.
                forwarded("a", q1, id: 1, names: ["a", "b"]),
                // Reported again (no repliesSettled in between): its own Parse failed again.
                failed(1, injected: false, names: ["b"], held: [2]),
            ]),
        Scenario(
            name: "parseFailed(injected: false) forgets only the names whose own Parse is unanswered",
            steps: [
                forwarded("a", q1, id: 1),
                forwarded("b", q2, [23], id: 2),
                // The server answered both.
                settled(names: ["a", "b"]),
                link(1, held: []),
                // The same text under another name, on a server without it: forwarded, and it fails.
                forwarded("c", q1, id: 1, names: ["a", "b", "c"]),
                failed(1, injected: false, names: ["a", "b"], held: []),
                // Unanswered Parses of two texts: only those of the failed statement go.
                forwarded("d", q1, id: 1),
                forwarded("e", q2, [23], id: 2, names: ["a", "b", "d", "e"]),
                failed(2, injected: false, names: ["a", "b", "d"], held: [1]),
                settled(),
                // Answered since: a later failure of the statement leaves it.
                failed(1, injected: false, names: ["a", "b", "d"], held: []),
            ]),
        Scenario(
            name: "parseFailed(injected: true) keeps the client's name",
            steps: [
                forwarded("a", q1, id: 1),
                link(1),
                send(bind("a"), .drop, out: [parse("pgswift_1", q1), bind("pgswift_1")], replies: [.parse(statement: 1, injected: true), .namedBind(statement: 1)]),
                failed(1, injected: true, names: ["a"], held: []),
                send(bind("a"), .drop, out: [parse("pgswift_1", q1), bind("pgswift_1")], replies: [.parse(statement: 1, injected: true), .namedBind(statement: 1)], held: [1]),
            ]),
    ]

    // MARK: running

    /// A message as the splitter hands it over: type byte and body.
    static func split(_ m: FrontendMessage) -> (UInt8, ByteBuffer) {
        var frame = ByteBuffer()
        m.encode(into: &frame)
        let type = frame.readInteger(as: UInt8.self)!
        _ = frame.readInteger(as: Int32.self)
        return (type, frame)
    }

    /// One whole frame the rewriter produced, length checked, decoded back.
    static func decode(_ frame: ByteBuffer) throws -> FrontendMessage {
        var f = frame
        let header = (f.readInteger(as: UInt8.self), f.readInteger(as: Int32.self))
        let type = try #require(header.0)
        let length = try #require(header.1)
        #expect(Int(length) == f.readableBytes + 4, "length field of \(describeType(type))")
        return try FrontendMessage.decode(type: type, body: f)
    }

    /// `messages` with every pgswift_dealloc_<n> in Parse names and texts spelt `standIn`; all must have the same n.
    static func maskingStandIn(_ messages: [FrontendMessage], _ at: Comment) -> [FrontendMessage] {
        let prefix = "pgswift_dealloc_"
        var seen: Set<Substring> = []
        func mask(_ s: String) -> String {
            guard let r = s.firstRange(of: prefix) else { return s }
            let digits = s[r.upperBound...].prefix { $0.isASCII && $0.isNumber }
            #expect(!digits.isEmpty && UInt32(digits) != nil, "\(at.rawValue): throwaway name in \(s)")
            seen.insert(digits)
            return String(s[..<r.lowerBound]) + standIn + mask(String(s[digits.endIndex...]))
        }
        let masked = messages.map { m -> FrontendMessage in
            guard case .parse(let name, let query, let types) = m else { return m }
            return .parse(name: mask(name), query: mask(query), parameterTypes: types)
        }
        #expect(seen.count <= 1, "\(at.rawValue): one throwaway name, not \(seen)")
        return masked
    }

    @Test(arguments: scenarios)
    func steps(_ sc: Scenario) throws {
        let interner = Interner()
        var clients = [StatementRewriter(), StatementRewriter()]
        var servers = (0..<3).map { _ in ServerStatementCache(capacity: sc.capacity) }
        var current = 0
        for (i, step) in sc.steps.enumerated() {
            let at = Comment(rawValue: "step \(i): \(step.op)")
            var who = 0
            switch step.op {
            case .send(let c, let m):
                who = c
                let (type, body) = Self.split(m)
                var out: [ByteBuffer] = []
                var replies: [PendingReply] = []
                let verdict = try clients[c].rewrite(
                    type: type, body: body, server: &servers[current], intern: interner.id, out: &out, replies: &replies)
                #expect(verdict == step.verdict, at)
                #expect(Self.maskingStandIn(try out.map(Self.decode), at) == step.out, at)
                #expect(replies == step.replies, at)
            case .link(let n):
                current = n
            case .parseFailed(let c, let f):
                who = c
                clients[c].parseFailed(f, server: &servers[current])
            case .settled(let c):
                who = c
                clients[c].repliesSettled()
            }
            if let names = step.names { #expect(clients[who].statements.keys.sorted() == names, at) }
            if let held = step.held { #expect(servers[current].statements == held, at) }
            if let generation = step.generation { #expect(servers[current].generation == generation, at) }
        }
    }

    // MARK: single cases

    @Test func rememberedStatementIsACopyOfTheParseTail() throws {
        var rewriter = StatementRewriter()
        var server = ServerStatementCache(capacity: 10)
        var out: [ByteBuffer] = []
        var replies: [PendingReply] = []
        let (type, body) = Self.split(Self.parse("a", Self.q2, [23]))
        _ = try rewriter.rewrite(type: type, body: body, server: &server, intern: { _ in 7 }, out: &out, replies: &replies)
        var tail = ByteBuffer(string: Self.q2)
        tail.writeInteger(UInt8(0))
        tail.writeInteger(Int16(1))
        tail.writeInteger(UInt32(23))
        let s = try #require(rewriter.statements["a"])
        #expect(s.id == 7)
        #expect(s.parseTail == tail)
        #expect(try out.map(Self.decode) == [Self.parse("pgswift_7", Self.q2, [23])])
    }

    @Test func malformedFramesThrow() {
        var rewriter = StatementRewriter()
        var server = ServerStatementCache(capacity: 10)
        var out: [ByteBuffer] = []
        var replies: [PendingReply] = []
        for (type, body) in [(FrontendMessage.Code.parse, "no terminator"), (FrontendMessage.Code.bind, ""), (FrontendMessage.Code.describe, "")] {
            #expect(throws: ProtocolViolation.self) {
                try rewriter.rewrite(type: type, body: ByteBuffer(string: body), server: &server, intern: { _ in 1 }, out: &out, replies: &replies)
            }
        }
        #expect(out.isEmpty && replies.isEmpty && rewriter.statements.isEmpty)
    }

    @Test func failedParseUnderOneNameKeepsAnotherNameForTheSameText() throws {
        // The client prepared the text as "a" on server A, moved to server B and prepared the same text as "b": forwarded
        // there (not injected), and it failed (say, inside an aborted transaction). PostgreSQL would still hold "a".
        let interner = Interner()
        var rewriter = StatementRewriter()
        var serverA = ServerStatementCache(capacity: 10), serverB = ServerStatementCache(capacity: 10)
        var out: [ByteBuffer] = []
        var replies: [PendingReply] = []
        var (type, body) = Self.split(Self.parse("a", Self.q1))
        _ = try rewriter.rewrite(type: type, body: body, server: &serverA, intern: interner.id, out: &out, replies: &replies)
        // Server A answered everything, "a" included.
        rewriter.repliesSettled()
        (type, body) = Self.split(Self.parse("b", Self.q1))
        replies = []
        _ = try rewriter.rewrite(type: type, body: body, server: &serverB, intern: interner.id, out: &out, replies: &replies)
        #expect(replies == [.parse(statement: 1, injected: false)])
        rewriter.parseFailed(FailedParse(statement: 1, injected: false), server: &serverB)
        let names = rewriter.statements.keys.sorted()
        #expect(names == ["a"])
    }
}

extension StatementRewriterTests.Step {
    func replacingOut(_ out: [FrontendMessage]) -> Self {
        var s = self
        s.out = out
        return s
    }
}
