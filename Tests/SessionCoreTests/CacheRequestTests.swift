// ClientSession's side of the result cache: which held bytes are one request the cache may answer and what names its
// answer (identity), the session after an answer from the cache, and the statement texts kept for the cache's writes.
import NIOCore
import PGWire
import SessionCore
import Testing

@Suite("ClientSession cache requests")
struct CacheRequestTests {
    static let t0 = ClientSessionTests.t0
    static func bytes(_ m: [FrontendMessage]) -> ByteBuffer { ClientSessionTests.bytes(m) }

    static let select = "SELECT * FROM t WHERE id = $1"
    static let preparedText = "SELECT name FROM products WHERE id = $1"

    static func parse(_ sql: String = select, name: String = "", types: [UInt32] = []) -> FrontendMessage {
        .parse(name: name, query: sql, parameterTypes: types)
    }

    static func bind(_ statement: String = "", portal: String = "", formats: [Int16] = [], _ parameters: [ByteBuffer?] = [ByteBuffer(string: "7")],
                     results: [Int16] = []) -> FrontendMessage {
        .bind(portal: portal, statement: statement, parameterFormats: formats, parameters: parameters, resultFormats: results)
    }

    static let describePortal = FrontendMessage.describe(.portal, name: "")
    static let execute = FrontendMessage.execute(portal: "", maxRows: 0)
    static func execute(rows: Int32) -> FrontendMessage { .execute(portal: "", maxRows: rows) }

    /// A client waiting for a server with `reads` held, each one read of the client's.
    static func waiting(_ reads: [ByteBuffer], session: ClientSession = ClientSessionTests.session()) -> ClientSession {
        var s = session
        s.awaitServer(now: t0)
        for r in reads { _ = s.hold(r) }
        return s
    }

    static func waiting(_ messages: [FrontendMessage], session: ClientSession = ClientSessionTests.session()) -> ClientSession {
        waiting([bytes(messages)], session: session)
    }

    /// A client that prepared `name` on an earlier link (Parse and Sync through a server), now between transactions.
    static func prepared(_ name: String = "s1", watching: Bool = false) -> (ClientSession, TestCatalog) {
        var s = ClientSessionTests.session()
        s.watchesWrites = watching
        let catalog = TestCatalog()
        _ = s.read(bytes([parse(preparedText, name: name), .sync]), searchPath: "", catalog: catalog, now: t0)
        _ = s.linked(statements: ServerStatementCache(capacity: 10), catalog: catalog)
        _ = s.answered(1, status: .idle, atBoundary: true, failed: [], madeUp: [], settingReported: false, catalog: catalog, now: t0)
        return (s, catalog)
    }

    /// The same client with `messages` held for its next transaction.
    static func preparedThenHeld(_ messages: [FrontendMessage]) -> ClientSession {
        var (s, catalog) = prepared()
        _ = s.read(bytes(messages), searchPath: "", catalog: catalog, now: t0)
        return s
    }

    // MARK: what is one request

    @Test func aSimpleQuery() throws {
        let s = Self.waiting([.query("SELECT * FROM t WHERE id = 7")])
        let request = try #require(s.cacheRequest())
        #expect(String(buffer: request.text) == "SELECT * FROM t WHERE id = 7")
        #expect(request.id == nil)
    }

    @Test(arguments: [
        [parse(), bind(), describePortal, execute, .sync],
        [parse(), bind(), execute, .sync],
        [parse(types: [23]), bind(formats: [1], [ByteBuffer(bytes: [0, 0, 0, 7])], results: [1]), describePortal, execute, .sync],
        // A row limit (asyncpg's fetchrow): the answer is whole for that limit, or stops at a PortalSuspended never kept.
        [parse(), bind(), describePortal, execute(rows: 1), .sync],
    ])
    func anUnnamedExtendedRequest(_ messages: [FrontendMessage]) throws {
        let request = try #require(Self.waiting(messages).cacheRequest())
        #expect(String(buffer: request.text) == Self.select)
        #expect(request.id == nil)
    }

    @Test func theSameRequestInPiecesOverSeveralReads() throws {
        let whole = Self.bytes([Self.parse(), Self.bind(), Self.describePortal, Self.execute, .sync])
        let oneRead = try #require(Self.waiting([whole]).cacheRequest())
        // Every frame its own read, and then a cut in the middle of every frame.
        let framed = [Self.parse(), Self.bind(), Self.describePortal, Self.execute, FrontendMessage.sync].map { Self.bytes([$0]) }
        let perFrame = try #require(Self.waiting(framed).cacheRequest())
        var cut = whole
        var pieces: [ByteBuffer] = []
        while cut.readableBytes > 0 { pieces.append(cut.readSlice(length: min(3, cut.readableBytes))!) }
        let perThreeBytes = try #require(Self.waiting(pieces).cacheRequest())
        #expect(perFrame == oneRead && perThreeBytes == oneRead)
    }

    /// The extended requests are read across reads; a simple Query that came in two reads (a long text, a slow
    /// client) is not recognised, so it is never answered from the cache.
    @Test func aSimpleQueryOverTwoReads() throws {
        var q = Self.bytes([.query("SELECT * FROM t WHERE id = 7")])
        let first = q.readSlice(length: 10)!
        let request = Self.waiting([first, q]).cacheRequest()
        #expect(request.map { String(buffer: $0.text) } == "SELECT * FROM t WHERE id = 7")
    }

    @Test(arguments: [
        [bind("s1"), execute, .sync],
        [bind("s1"), describePortal, execute, .sync],
    ])
    func aStatementPreparedEarlier(_ messages: [FrontendMessage]) throws {
        let (prepared, _) = Self.prepared()
        let id = try #require(prepared.rewriter.statements["s1"]?.id)
        let s = Self.preparedThenHeld(messages)
        #expect(s.phase == .waiting)
        let request = try #require(s.cacheRequest())
        #expect(String(buffer: request.text) == Self.preparedText)
        #expect(request.id == id)
    }

    struct NotOne: Sendable, CustomTestStringConvertible {
        var name: String
        var messages: [FrontendMessage]
        var testDescription: String { name }
    }

    static let notOne: [NotOne] = [
        NotOne(name: "a named Parse", messages: [parse(name: "s2"), bind("s2"), execute, .sync]),
        NotOne(name: "a named Parse alone", messages: [parse(name: "s2"), .sync]),
        NotOne(name: "Describe of the statement", messages: [parse(), .describe(.statement, name: ""), bind(), execute, .sync]),
        NotOne(name: "Describe of a named portal", messages: [parse(), bind(portal: "p"), .describe(.portal, name: "p"), execute, .sync]),
        NotOne(name: "a named portal", messages: [parse(), bind(portal: "p"), .execute(portal: "p", maxRows: 0), .sync]),
        NotOne(name: "Close", messages: [parse(), bind(), execute, .close(.statement, name: ""), .sync]),
        NotOne(name: "Close alone", messages: [.close(.statement, name: "s1"), .sync]),
        NotOne(name: "Flush", messages: [parse(), bind(), execute, .flush, .sync]),
        NotOne(name: "Flush instead of Sync", messages: [parse(), bind(), execute, .flush]),
        NotOne(name: "two Syncs", messages: [parse(), bind(), execute, .sync, .sync]),
        NotOne(name: "two requests", messages: [parse(), bind(), execute, .sync, bind(), execute, .sync]),
        NotOne(name: "two Executes", messages: [parse(), bind(), execute, execute, .sync]),
        NotOne(name: "two Binds", messages: [parse(), bind(), bind(), execute, .sync]),
        NotOne(name: "two Parses", messages: [parse(), parse(), bind(), execute, .sync]),
        NotOne(name: "Parse after Bind", messages: [bind(), parse(), execute, .sync]),
        NotOne(name: "Describe after Execute", messages: [parse(), bind(), execute, describePortal, .sync]),
        NotOne(name: "two Queries", messages: [.query("SELECT 1"), .query("SELECT 2")]),
        NotOne(name: "a Query behind an extended request", messages: [parse(), bind(), execute, .sync, .query("SELECT 1")]),
        NotOne(name: "no Sync yet", messages: [parse(), bind(), execute]),
        NotOne(name: "no Execute", messages: [parse(), bind(), .sync]),
        NotOne(name: "no Bind", messages: [parse(), .sync]),
        NotOne(name: "Sync alone", messages: [.sync]),
        NotOne(name: "the unnamed statement of an earlier request", messages: [bind(), execute, .sync]),
        NotOne(name: "a statement the client never prepared", messages: [bind("nope"), execute, .sync]),
        NotOne(name: "a function call", messages: [.functionCall(oid: 1, argumentFormats: [], arguments: [], resultFormat: 0), .sync]),
    ]

    @Test(arguments: notOne)
    func notOneCacheableRequest(_ c: NotOne) {
        #expect(Self.waiting(c.messages).cacheRequest() == nil)
        // Nor with a statement prepared earlier (s1) in the client's hands.
        #expect(Self.preparedThenHeld(c.messages).cacheRequest() == nil)
    }

    @Test func aPartialFrameIsNoRequestYet() {
        for messages in [[FrontendMessage.query("SELECT 1")], [Self.parse(), Self.bind(), Self.execute, .sync]] {
            var all = Self.bytes(messages)
            for keep in [1, 4, 5, all.readableBytes - 1] {
                let part = all.getSlice(at: all.readerIndex, length: keep)!
                #expect(Self.waiting([part]).cacheRequest() == nil, "\(keep) of \(all.readableBytes) bytes")
            }
            // A whole request and the start of the next one.
            all.writeBytes([UInt8(ascii: "Q"), 0, 0])
            #expect(Self.waiting([all]).cacheRequest() == nil)
        }
    }

    @Test func onlyAWaitingClientsBytes() throws {
        // Between transactions nothing is held; linked, the bytes are the server's business.
        #expect(ClientSessionTests.session().cacheRequest() == nil)
        var (s, catalog) = Self.prepared()
        _ = s.read(Self.bytes([.query("SELECT 1")]), searchPath: "", catalog: catalog, now: Self.t0)
        #expect(s.cacheRequest() != nil)
        _ = s.linked(statements: ServerStatementCache(capacity: 10), catalog: catalog)
        #expect(s.phase == .linked)
        #expect(s.cacheRequest() == nil)
    }

    @Test func aNamedStatementNeedsItsStatementsCarried() {
        // Without max_prepared_statements the server holds the client's statements: their text is not pgswift's to know.
        let s = Self.waiting([Self.bind("s1"), Self.execute, .sync], session: ClientSessionTests.session(statements: false))
        #expect(s.cacheRequest() == nil)
        // An unnamed one carries its text with it.
        let unnamed = Self.waiting([Self.parse(), Self.bind(), Self.execute, .sync], session: ClientSessionTests.session(statements: false))
        #expect(unnamed.cacheRequest() != nil)
    }

    // MARK: identity

    struct Variant: Sendable, CustomTestStringConvertible {
        var name: String
        var messages: [FrontendMessage]
        var testDescription: String { name }
    }

    static let base: [FrontendMessage] = [parse(types: [23]), bind(formats: [0], [ByteBuffer(string: "7")], results: [0]), describePortal, execute, .sync]

    /// Each changes the answer's bytes: the identity must change with it.
    static let variants: [Variant] = [
        Variant(name: "another parameter", messages: [parse(types: [23]), bind(formats: [0], [ByteBuffer(string: "8")], results: [0]), describePortal, execute, .sync]),
        Variant(name: "a NULL parameter", messages: [parse(types: [23]), bind(formats: [0], [nil], results: [0]), describePortal, execute, .sync]),
        Variant(name: "an empty parameter", messages: [parse(types: [23]), bind(formats: [0], [ByteBuffer()], results: [0]), describePortal, execute, .sync]),
        Variant(name: "a binary parameter", messages: [parse(types: [23]), bind(formats: [1], [ByteBuffer(string: "7")], results: [0]), describePortal, execute, .sync]),
        Variant(name: "binary results", messages: [parse(types: [23]), bind(formats: [0], [ByteBuffer(string: "7")], results: [1]), describePortal, execute, .sync]),
        Variant(name: "results in the default format, said otherwise", messages: [parse(types: [23]), bind(formats: [0], [ByteBuffer(string: "7")], results: []),
                                                                                  describePortal, execute, .sync]),
        Variant(name: "a row limit", messages: [parse(types: [23]), bind(formats: [0], [ByteBuffer(string: "7")], results: [0]), describePortal,
                                                execute(rows: 1), .sync]),
        Variant(name: "another row limit", messages: [parse(types: [23]), bind(formats: [0], [ByteBuffer(string: "7")], results: [0]), describePortal,
                                                      execute(rows: 2), .sync]),
        Variant(name: "no Describe", messages: [parse(types: [23]), bind(formats: [0], [ByteBuffer(string: "7")], results: [0]), execute, .sync]),
        Variant(name: "another parameter type", messages: [parse(types: [20]), bind(formats: [0], [ByteBuffer(string: "7")], results: [0]), describePortal, execute, .sync]),
        Variant(name: "another text", messages: [parse("SELECT * FROM t WHERE id = $1 ", types: [23]), bind(formats: [0], [ByteBuffer(string: "7")], results: [0]),
                                                 describePortal, execute, .sync]),
        Variant(name: "no Parse: the statement prepared earlier", messages: [bind("s1", formats: [0], [ByteBuffer(string: "7")], results: [0]), describePortal, execute, .sync]),
        Variant(name: "a simple Query of the same text", messages: [.query(select)]),
    ]

    static func identity(_ messages: [FrontendMessage]) -> [UInt8]? { preparedThenHeld(messages).cacheRequest()?.identity }

    @Test(arguments: variants)
    func aChangeInTheAnswerChangesTheIdentity(_ v: Variant) throws {
        let base = try #require(Self.identity(Self.base))
        let changed = try #require(Self.identity(v.messages))
        #expect(changed != base)
    }

    @Test func theIdentitiesOfTheVariantsAreAllDifferent() throws {
        let all = try ([Self.base] + Self.variants.map(\.messages)).map { try #require(Self.identity($0)) }
        #expect(Set(all).count == all.count)
    }

    @Test func equalRequestsHaveEqualIdentities() throws {
        let a = try #require(Self.identity(Self.base))
        let b = try #require(Self.waiting(Self.base).cacheRequest()?.identity)
        #expect(a == b)
        let q1 = try #require(Self.waiting([.query("SELECT 1")]).cacheRequest())
        let q2 = try #require(Self.waiting([.query("SELECT 1")]).cacheRequest())
        #expect(q1 == q2)
        let p1 = try #require(Self.preparedThenHeld([Self.bind("s1"), Self.execute, .sync]).cacheRequest())
        let p2 = try #require(Self.preparedThenHeld([Self.bind("s1"), Self.execute, .sync]).cacheRequest())
        #expect(p1 == p2)
    }

    /// Parameters' bytes are length-prefixed: ("ab", "c") and ("a", "bc") are different requests.
    @Test func parametersDoNotRunIntoEachOther() throws {
        func two(_ a: String, _ b: String) throws -> [UInt8] {
            try #require(Self.waiting([Self.parse("SELECT $1::text || $2::text"), Self.bind("", [ByteBuffer(string: a), ByteBuffer(string: b)]), Self.execute, .sync])
                .cacheRequest()?.identity)
        }
        let (abc, abc2) = (try two("ab", "c"), try two("a", "bc"))
        #expect(abc != abc2)
    }

    // MARK: answered from the cache

    @Test func anAnswerFromTheCacheLeavesTheClientBetweenTransactions() throws {
        var (s, catalog) = Self.prepared()
        #expect(s.read(Self.bytes([Self.bind("s1"), Self.execute, .sync]), searchPath: "", catalog: catalog, now: Self.t0) == .lease(stopReading: false))
        #expect(s.cacheRequest() != nil)
        let (resume, more) = s.answeredFromCache(bytes: s.heldBytes, now: Self.t0 + .milliseconds(3))
        #expect(!resume && !more)
        #expect(s.phase == .unlinked)
        #expect(s.held.isEmpty && s.heldBytes == 0)
        #expect(s.cacheRequest() == nil)
        // Its statements stay its own, and its next request asks for a server again.
        #expect(s.rewriter.statements["s1"] != nil)
        #expect(s.read(Self.bytes([.query("SELECT 2")]), searchPath: "", catalog: catalog, now: Self.t0) == .lease(stopReading: false))
        #expect(s.phase == .waiting)
        #expect(s.cacheRequest().map { String(buffer: $0.text) } == "SELECT 2")
    }

    @Test func anAnswerFromTheCacheResumesAClientHeldBack() throws {
        let text = "SELECT '" + String(repeating: "x", count: ClientSession.holdLimit) + "'"
        var s = ClientSessionTests.session()
        #expect(s.read(Self.bytes([.query(text)]), searchPath: "", catalog: TestCatalog(), now: Self.t0) == .lease(stopReading: true))
        #expect(s.cacheRequest() != nil)
        let (resume, more) = s.answeredFromCache(bytes: s.heldBytes, now: Self.t0)
        #expect(resume && !more)
        #expect(s.phase == .unlinked && s.heldBytes == 0)
    }

    @Test func whatArrivedWhileTheAnswerWasAwaitedStillWaitsForAServer() throws {
        var s = ClientSessionTests.session()
        #expect(s.read(Self.bytes([.query("SELECT 1")]), searchPath: "", catalog: TestCatalog(), now: Self.t0) == .lease(stopReading: false))
        let request = s.heldBytes
        // A pipelined second request, held behind the first while its answer is awaited.
        #expect(s.read(Self.bytes([.query("SELECT 2")]), searchPath: "", catalog: TestCatalog(), now: Self.t0) == .none)
        let (resume, more) = s.answeredFromCache(bytes: request, now: Self.t0)
        #expect(!resume && more)
        #expect(s.phase == .waiting)
        #expect(s.cacheRequest().map { String(buffer: $0.text) } == "SELECT 2")
    }

    // MARK: texts kept for the cache's writes

    @Test func theTextsSentWhileLinkedComeOutOnce() throws {
        var (s, catalog) = Self.prepared("s1", watching: true)
        // The earlier link's Parse of s1.
        let earlier = Self.seen(&s)
        #expect(earlier == [Self.preparedText])
        #expect(Self.seen(&s) == [])
        _ = s.read(Self.bytes([
            .query("UPDATE t SET a = 1"),
            Self.parse("SELECT * FROM u WHERE id = $1", name: "s2"), Self.bind("s2"), Self.execute,
            Self.parse("DELETE FROM v"), Self.bind("", []), Self.execute,
            Self.bind("s1"), Self.execute, .sync,
        ]), searchPath: "", catalog: catalog, now: Self.t0)
        // Held while waiting: nothing is seen until the bytes go to a server.
        #expect(Self.seen(&s) == [])
        _ = s.linked(statements: ServerStatementCache(capacity: 10), catalog: catalog)
        // A Query's text, each Parse's, and a named Bind's statement text (the unnamed Bind's Parse was seen already).
        let linked = Self.seen(&s)
        #expect(linked == ["UPDATE t SET a = 1", "SELECT * FROM u WHERE id = $1", "SELECT * FROM u WHERE id = $1", "DELETE FROM v", Self.preparedText])
        #expect(Self.seen(&s) == [])
        // Sent later on the same link: only the new ones.
        _ = s.read(Self.bytes([.query("INSERT INTO w VALUES (1)")]), searchPath: "", catalog: catalog, now: Self.t0)
        let later = Self.seen(&s)
        #expect(later == ["INSERT INTO w VALUES (1)"])
        #expect(Self.seen(&s) == [])
    }

    @Test func nothingIsKeptWhenTheCacheIsOff() throws {
        var (s, catalog) = Self.prepared("s1", watching: false)
        _ = s.read(Self.bytes([.query("UPDATE t SET a = 1"), Self.bind("s1"), Self.execute, .sync]), searchPath: "", catalog: catalog, now: Self.t0)
        _ = s.linked(statements: ServerStatementCache(capacity: 10), catalog: catalog)
        #expect(Self.seen(&s) == [])
    }

    static func seen(_ s: inout ClientSession) -> [String] {
        var out: [String] = []
        s.drainSeen { out.append(String(buffer: $0)) }
        return out
    }
}
