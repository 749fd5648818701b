// ClientSession and ServerSession joined as the handlers join them, in front of a small stand-in for PostgreSQL that
// keeps its replies until Sync or Flush and fixes each statement's columns when it is prepared: a client that cached
// a statement's columns meets DDL on a server that never had the statement.
import NIOCore
import PGWire
@testable import SessionCore
import Testing

/// Just enough of PostgreSQL's extended protocol: named statements with the columns their text had when prepared,
/// "cached plan must not change result type" when those changed, skipping to Sync after an error, DO blocks that
/// raise, and output held until Sync or Flush.
struct StandInPostgres {
    /// The columns each query text returns now (DDL changes them).
    var columns: [String: [FieldDescription]]
    private var statements: [String: (text: String, columns: [FieldDescription])] = [:]
    private var portal: (text: String, columns: [FieldDescription])?
    private var skipping = false
    private var pending = ByteBuffer()
    /// What was sent to the client so far.
    var flushed: [ByteBuffer] = []

    init(columns: [String: [FieldDescription]]) {
        self.columns = columns
    }

    mutating func receive(_ buffers: [ByteBuffer]) throws {
        var all = ByteBuffer()
        for var b in buffers { all.writeBuffer(&b) }
        while let (type, body) = try WholeFrameReader.next(&all, maxLength: 1 << 20) {
            let message = try FrontendMessage.decode(type: type, body: body)
            if skipping, message != .sync, message != .flush { continue }
            try handle(message)
        }
    }

    private mutating func handle(_ message: FrontendMessage) throws {
        switch message {
        case .parse(let name, let query, _):
            if !name.isEmpty, statements[name] != nil { return fail("42P05", "prepared statement \"\(name)\" already exists") }
            statements[name] = (query, columns[query] ?? [])
            send(.parseComplete)
        case .bind(_, let name, _, _, _):
            guard let s = statements[name] else { return fail("26000", "prepared statement \"\(name)\" does not exist") }
            guard revalidated(s) else { return stale() }
            portal = s
            send(.bindComplete)
        case .describe(.statement, let name):
            guard let s = statements[name] else { return fail("26000", "prepared statement \"\(name)\" does not exist") }
            guard revalidated(s) else { return stale() }
            send(.parameterDescription([]))
            send(s.columns.isEmpty ? .noData : .rowDescription(s.columns))
        case .describe(.portal, _):
            send(portal.map { $0.columns.isEmpty ? .noData : .rowDescription($0.columns) } ?? .noData)
        case .execute:
            guard let p = portal else { return fail("34000", "portal \"\" does not exist") }
            if p.text.hasPrefix("DO ") {
                // RaisedError's block: ERRCODE = 'xxxxx', MESSAGE = '...'.
                let code = String(p.text.split(separator: "'")[1]), text = String(p.text.split(separator: "'")[3])
                return fail(code, text, context: true)
            }
            send(.dataRow(p.columns.map { _ -> ByteBuffer? in ByteBuffer(string: "1") }))
            send(.commandComplete(tag: "SELECT 1"))
        case .close(.statement, let name):
            statements[name] = nil
            send(.closeComplete)
        case .sync:
            skipping = false
            send(.readyForQuery(.idle))
            flush()
        case .flush:
            flush()
        default:
            Issue.record("the stand-in does not take \(message)")
        }
    }

    private func revalidated(_ s: (text: String, columns: [FieldDescription])) -> Bool {
        s.text.hasPrefix("DO ") || (columns[s.text] ?? []) == s.columns
    }

    private mutating func stale() {
        send(.errorResponse(ErrorFields([
            (UInt8(ascii: "S"), "ERROR"), (UInt8(ascii: "V"), "ERROR"), (UInt8(ascii: "C"), "0A000"),
            (UInt8(ascii: "M"), RaisedError.stalePlan), (UInt8(ascii: "F"), "plancache.c"), (UInt8(ascii: "L"), "722"),
            (UInt8(ascii: "R"), "RevalidateCachedQuery"),
        ])))
        skipping = true
    }

    private mutating func fail(_ code: String, _ message: String, context: Bool = false) {
        var fields: [(code: UInt8, value: String)] = [(UInt8(ascii: "S"), "ERROR"), (UInt8(ascii: "V"), "ERROR"), (UInt8(ascii: "C"), code),
                                                      (UInt8(ascii: "M"), message)]
        if context { fields += [(UInt8(ascii: "W"), "PL/pgSQL function inline_code_block line 1 at RAISE"), (UInt8(ascii: "R"), "exec_stmt_raise")] }
        send(.errorResponse(ErrorFields(fields)))
        skipping = true
    }

    private mutating func send(_ message: BackendMessage) {
        message.encode(into: &pending)
    }

    private mutating func flush() {
        guard pending.readableBytes > 0 else { return }
        flushed.append(pending)
        pending = ByteBuffer()
    }
}

/// One client linked to one server through the two session machines, moved along as the handlers move them.
struct Pipe {
    var client: ClientSession
    var server = ServerSession(statementCapacity: 10)
    /// The server's statements as the client holds them while linked (lent by the server, as `ServerConnection.link` does).
    var statements = ServerStatementCache(capacity: 10)
    var postgres: StandInPostgres
    let catalog: TestCatalog
    /// What reached the client.
    var received = ByteBuffer()

    /// Sends the client's messages, then lets both sides talk until neither has anything left to say.
    mutating func send(_ messages: [FrontendMessage]) throws {
        _ = try client.relay(ClientSessionTests.bytes(messages), statements: &statements, catalog: catalog)
        try settle()
    }

    private mutating func settle() throws {
        for _ in 0..<20 {
            let frames = client.outgoing, replies = client.expected
            client.outgoing = []
            client.expected = []
            var deliverNow = false
            if !frames.isEmpty || !replies.isEmpty {
                deliverNow = server.clientWrote(replies)
                try postgres.receive(frames)
            }
            let answers = postgres.flushed
            postgres.flushed = []
            for a in answers { try server.read(a) { _ in } }
            guard deliverNow || !answers.isEmpty || !server.outgoing.isEmpty || server.hasDescribed else { return }
            for var b in server.outgoing { received.writeBuffer(&b) }
            server.outgoing = []
            let news = server.takeNews()
            _ = client.delivered(answered: server.readyCount, status: server.status, atBoundary: true, failed: news.failed, madeUp: news.madeUp,
                                 settingReported: false, statements: &statements, now: ClientSessionTests.t0)
            try client.described(news.described, statements: &statements, catalog: catalog)
        }
        Issue.record("client and server still talking after 20 rounds")
    }

    /// The messages the client received since the last call.
    mutating func answers() throws -> [BackendMessage] {
        var out: [BackendMessage] = []
        while let (type, body) = try WholeFrameReader.next(&received, maxLength: 1 << 20) {
            out.append(try BackendMessage.decode(type: type, body: body))
        }
        return out
    }
}

@Suite("A cached row description meets DDL on a server that never had the statement")
struct DescribeGatePipeTests {
    static let text = "SELECT * FROM t"
    static let a = FieldDescription(name: "a", tableOID: 1, columnAttribute: 1, typeOID: 23, typeSize: 4)
    static let intB = FieldDescription(name: "b", tableOID: 1, columnAttribute: 2, typeOID: 23, typeSize: 4)
    static let textB = FieldDescription(name: "b", tableOID: 1, columnAttribute: 2, typeOID: 25, typeSize: -1)
    static let run: [FrontendMessage] = [.bind(portal: "", statement: "s1", parameterFormats: [], parameters: [], resultFormats: []),
                                         .execute(portal: "", maxRows: 0), .sync]

    /// The client prepared s1 with a Describe (asyncpg's way) on a first server and ran it; the pipe is now to a second
    /// server, which never had it, after DDL set column b to `b`.
    static func landedElsewhere(b: FieldDescription) throws -> Pipe {
        let catalog = TestCatalog()
        var first = Pipe(client: ClientSessionTests.session(), postgres: StandInPostgres(columns: [text: [a, intB]]), catalog: catalog)
        first.client.linked()
        first.server.link()
        try first.send([.parse(name: "s1", query: text, parameterTypes: []), .describe(.statement, name: "s1"), .sync])
        #expect(try first.answers() == [.parseComplete, .parameterDescription([]), .rowDescription([a, intB]), .readyForQuery(.idle)])
        try first.send(run)
        #expect(try first.answers() == [.bindComplete, .dataRow([ByteBuffer(string: "1"), ByteBuffer(string: "1")]),
                                        .commandComplete(tag: "SELECT 1"), .readyForQuery(.idle)])
        var second = Pipe(client: first.client, postgres: StandInPostgres(columns: [text: [a, b]]), catalog: catalog)
        second.client.linked()
        second.server.link()
        return second
    }

    static let row = BackendMessage.dataRow([ByteBuffer(string: "1"), ByteBuffer(string: "1")])

    @Test func sameColumnsRunAfterOneRoundTrip() throws {
        var p = try Self.landedElsewhere(b: Self.intB)
        try p.send(Self.run + Self.run)
        #expect(try p.answers() == [.bindComplete, Self.row, .commandComplete(tag: "SELECT 1"), .readyForQuery(.idle),
                                    .bindComplete, Self.row, .commandComplete(tag: "SELECT 1"), .readyForQuery(.idle)])
        #expect(!p.client.waitsForDescription && p.server.quiet && p.server.readyCount == 2)
    }

    @Test func changedColumnsGetPostgreSQLsErrorAndTheSyncItsReady() throws {
        var p = try Self.landedElsewhere(b: Self.textB)
        try p.send(Self.run + Self.run)
        let answers = try p.answers()
        #expect(answers.map(\.typeCode) == [BackendMessage.Code.errorResponse, BackendMessage.Code.readyForQuery,
                                            BackendMessage.Code.errorResponse, BackendMessage.Code.readyForQuery])
        guard case .errorResponse(let fields) = answers.first else { return }
        #expect(fields["C"] == "0A000" && fields["M"] == RaisedError.stalePlan && fields["R"] == "RevalidateCachedQuery" && fields["W"] == nil)
        #expect(p.catalog.retired == [1] && p.server.quiet && p.server.readyCount == 2)
        // Prepared again under a new name (what asyncpg then does): a fresh statement with the new columns.
        try p.send([.parse(name: "s2", query: Self.text, parameterTypes: []), .describe(.statement, name: "s2"), .sync])
        #expect(try p.answers() == [.parseComplete, .parameterDescription([]), .rowDescription([Self.a, Self.textB]), .readyForQuery(.idle)])
        #expect(p.client.rewriter.statements["s2"]?.id == 2)
    }

    @Test func describingThePortalLearnsTheNewColumns() throws {
        var p = try Self.landedElsewhere(b: Self.textB)
        try p.send([Self.run[0], .describe(.portal, name: ""), Self.run[1], .sync])
        #expect(try p.answers() == [.bindComplete, .rowDescription([Self.a, Self.textB]), Self.row, .commandComplete(tag: "SELECT 1"),
                                    .readyForQuery(.idle)])
        #expect(p.catalog.retired.isEmpty)
    }
}

extension Pipe {
    /// One round trip as the handlers make it: what the client prepared goes to PostgreSQL, the answer comes back
    /// through the server session, and the client's event for it says what to do next.
    mutating func roundTrip() throws -> ClientAction {
        statements = client.lentStatements
        _ = server.clientWrote(client.expected)
        try postgres.receive(client.outgoing)
        client.outgoing = []
        client.expected = []
        for a in postgres.flushed { try server.read(a) { _ in } }
        postgres.flushed = []
        let news = server.takeNews()
        return client.answered(server.readyCount, status: server.status, atBoundary: true, failed: news.failed, madeUp: news.madeUp,
                               settingReported: false, described: news.described, catalog: catalog, now: ClientSessionTests.t0)
    }
}

@Suite("Frames held behind a Bind that waits for a description")
struct DescribeGateLimitTests {
    /// Bind/Execute/Sync of s1 with a 400 KB parameter: the third such batch behind a waiting Bind passes 1 MiB.
    static let batch = ClientSessionTests.bytes([
        .bind(portal: "", statement: "s1", parameterFormats: [], parameters: [ByteBuffer(repeating: UInt8(ascii: "x"), count: 400_000)],
              resultFormats: []),
        .execute(portal: "", maxRows: 0), .sync,
    ])

    @Test("past the hold limit the client is read no more, and is read again when the description lets them go")
    func heldBackThenResumed() throws {
        var p = try DescribeGatePipeTests.landedElsewhere(b: DescribeGatePipeTests.intB)
        p.client.lent = p.statements
        let actions = (0..<4).map { _ in p.client.read(Self.batch, searchPath: "", catalog: p.catalog, now: ClientSessionTests.t0) }
        // The first Bind waits for s1's description; the frames behind it are held, past 1 MiB from the third read.
        #expect(p.client.waitsForDescription)
        #expect(actions == [.none, .none, .stopReading(.gate), .stopReading(.gate)])
        // The server describes s1 with the columns the client saw: the held frames go on, and reading resumes.
        #expect(try p.roundTrip() == .resumeReading(.gate))
        #expect(!p.client.waitsForDescription)
        #expect(p.client.outgoing.reduce(0) { $0 + $1.readableBytes } > 1_600_000)
        _ = try p.roundTrip()
        #expect(p.server.readyCount == 4)
    }

    @Test("bytes held while waiting for a server fill the gate on the link: all of them go behind it, none is lost")
    func heldBytesReplayedIntoAFullGate() throws {
        var p = try DescribeGatePipeTests.landedElsewhere(b: DescribeGatePipeTests.intB)
        // Waiting for a server: four reads are held, and reading stops past 1 MiB.
        p.client.awaitServer(now: ClientSessionTests.t0)
        let actions = (0..<4).map { _ in p.client.read(Self.batch, searchPath: "", catalog: p.catalog, now: ClientSessionTests.t0) }
        #expect(actions == [.none, .none, .stopReading(.held), .stopReading(.held)])
        // Linked to a server that never described s1: the first Bind closes the gate, which fills at the third batch.
        let (action, resume) = p.client.linked(statements: p.statements, catalog: p.catalog)
        #expect(action == .stopReading(.gate) && resume)
        #expect(p.client.waitsForDescription)
        // The description comes: every one of the four batches goes on and runs.
        #expect(try p.roundTrip() == .resumeReading(.gate))
        _ = try p.roundTrip()
        #expect(p.server.readyCount == 4)
    }
}
