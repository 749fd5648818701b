// ClientSession as steps: a client's frames in, what goes to the server and what the link does when it answers.
import NIOCore
import PGWire
import SessionCore
import Testing

/// A statement catalog without locks for the tests: texts numbered in order, the schema epoch a counter.
final class TestCatalog: StatementInterning, @unchecked Sendable {
    var ids: [ByteBuffer: Int] = [:]
    var next = 0
    var schemaEpoch = 0
    var retired: Set<Int> = []
    func retire(_ id: Int) {
        retired.insert(id)
        if let text = ids.first(where: { $0.value == id })?.key { ids[text] = nil }
    }
    func isRetired(_ id: Int) -> Bool { retired.contains(id) }
    func id(for parseTail: ByteBuffer) -> Int {
        if let id = ids[parseTail] { return id }
        next += 1
        ids[parseTail] = next
        return next
    }
    func schemaChanged() { schemaEpoch += 1 }
    var acceptedAt: [Int: (epoch: Int, searchPath: String)] = [:]
    func accept(_ tail: ByteBuffer, searchPath: String = "") { acceptedAt[id(for: tail)] = (schemaEpoch, searchPath) }
    func acceptedID(for parseTail: ByteBuffer, searchPath: String) -> Int? {
        guard let id = ids[parseTail], let a = acceptedAt[id], a.epoch == schemaEpoch, a.searchPath == searchPath else { return nil }
        return id
    }
}

@Suite("ClientSession")
struct ClientSessionTests {
    static let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

    static func session(_ mode: PoolMode = .transaction, statements: Bool = true, refuse: Bool = false) -> ClientSession {
        ClientSession(mode: mode, carriesStatements: statements, refusesPins: refuse, maxFrameLength: 1 << 20, now: t0)
    }

    static func bytes(_ messages: [FrontendMessage]) -> ByteBuffer {
        var b = ByteBuffer()
        for m in messages { m.encode(into: &b) }
        return b
    }

    /// The frame types of what the session left for the server, in order.
    static func sentTypes(_ s: inout ClientSession) -> [Character] {
        var all = ByteBuffer()
        for var b in s.outgoing { all.writeBuffer(&b) }
        s.outgoing.removeAll()
        var types: [Character] = []
        while let (type, _) = try? WholeFrameReader.next(&all, maxLength: 1 << 20) { types.append(Character(UnicodeScalar(type))) }
        return types
    }

    static func deliver(_ s: inout ClientSession, answered: Int, _ status: TransactionStatus = .idle,
                        cache: inout ServerStatementCache) -> LinkDecision {
        s.delivered(answered: answered, status: status, atBoundary: true, failed: [], madeUp: [], settingReported: false, statements: &cache,
                    now: t0 + .milliseconds(5))
    }

    @Test func simpleQueryInTransactionModeReleasesOnItsAnswer() throws {
        var s = Self.session()
        var cache = ServerStatementCache(capacity: 10)
        s.linked()
        #expect(try s.relay(Self.bytes([.query("SELECT 1")]), statements: &cache, catalog: TestCatalog()) == .more)
        #expect(Self.sentTypes(&s) == ["Q"])
        #expect(s.expected == [.query])
        #expect(Self.deliver(&s, answered: 0, cache: &cache) == .keep)
        #expect(Self.deliver(&s, answered: 1, cache: &cache) == .release)
        #expect(!s.probeAfter)
    }

    @Test func pipelinedExtendedBatchKeepsTheServerUntilEverySyncIsAnswered() throws {
        var s = Self.session()
        var cache = ServerStatementCache(capacity: 10)
        let catalog = TestCatalog()
        s.linked()
        let batch = Self.bytes([
            .parse(name: "s1", query: "SELECT $1", parameterTypes: []), .bind(portal: "", statement: "s1", parameterFormats: [], parameters: [nil], resultFormats: []),
            .execute(portal: "", maxRows: 0), .sync,
            .bind(portal: "", statement: "s1", parameterFormats: [], parameters: [nil], resultFormats: []), .execute(portal: "", maxRows: 0), .sync,
        ])
        _ = try s.relay(batch, statements: &cache, catalog: catalog)
        // The client's statement s1 goes to the server under its shared name, prepared once.
        #expect(Self.sentTypes(&s) == ["P", "B", "E", "S", "B", "E", "S"])
        #expect(cache.count == 1)
        #expect(s.tracker.sent == 2)
        #expect(Self.deliver(&s, answered: 1, cache: &cache) == .keep)
        #expect(Self.deliver(&s, answered: 2, cache: &cache) == .release)
        // Linked to another server that lacks it: the Parse is injected before the Bind, its reply hidden.
        var other = ServerStatementCache(capacity: 10)
        s.linked()
        s.expected.removeAll()
        _ = try s.relay(Self.bytes([.bind(portal: "", statement: "s1", parameterFormats: [], parameters: [nil], resultFormats: []),
                                    .execute(portal: "", maxRows: 0), .sync]), statements: &other, catalog: catalog)
        #expect(Self.sentTypes(&s) == ["P", "B", "E", "S"])
        #expect(s.expected.first == .parse(statement: 1, injected: true))
    }

    @Test func terminateEndsTheRelayAfterWhatCameBeforeIt() throws {
        var s = Self.session()
        var cache = ServerStatementCache(capacity: 10)
        s.linked()
        #expect(try s.relay(Self.bytes([.query("SELECT 1"), .terminate]), statements: &cache, catalog: TestCatalog()) == .terminate)
        #expect(Self.sentTypes(&s) == ["Q"])
    }

    @Test func clientVanishingMidTransactionGetsItsServerCancelledAndClosed() throws {
        var s = Self.session()
        var cache = ServerStatementCache(capacity: 10)
        s.linked()
        _ = try s.relay(Self.bytes([.query("BEGIN")]), statements: &cache, catalog: TestCatalog())
        #expect(Self.deliver(&s, answered: 1, .inTransaction, cache: &cache) == .keep)
        _ = try s.relay(Self.bytes([.query("UPDATE t SET a = 1")]), statements: &cache, catalog: TestCatalog())
        #expect(s.leaving == .clientLeft(sent: 2, halfSent: false, keepsSession: false, pinned: false))
        let server = ServerCondition(answered: 1, status: .inTransaction, quiet: true, open: true, closeRequested: false, hasResetQuery: true, resetAlways: false)
        #expect(ServerReturn.decide(s.leaving, server) == .cancelThenClose)
    }

    @Test func halfSentFrameCountsAsOutstanding() throws {
        var s = Self.session()
        var cache = ServerStatementCache(capacity: 10)
        s.linked()
        var q = Self.bytes([.query("SELECT 1")])
        _ = try s.relay(q.readSlice(length: 6)!, statements: &cache, catalog: TestCatalog())
        #expect(!s.atFrameBoundary)
        guard case .clientLeft(_, let halfSent, _, _) = s.leaving else { Issue.record("not a client leaving"); return }
        #expect(halfSent)
    }

    @Test func statementModeRefusesATransaction() throws {
        var s = Self.session(.statement)
        var cache = ServerStatementCache(capacity: 10)
        s.linked()
        _ = try s.relay(Self.bytes([.query("BEGIN")]), statements: &cache, catalog: TestCatalog())
        #expect(Self.deliver(&s, answered: 1, .inTransaction, cache: &cache) == .refuseTransaction)
    }

    @Test func sessionModeKeepsTheServerAndObservesNothing() throws {
        var s = Self.session(.session)
        var cache = ServerStatementCache(capacity: 10)
        s.linked()
        _ = try s.relay(Self.bytes([.query("SET search_path = x")]), statements: &cache, catalog: TestCatalog())
        #expect(s.expected.isEmpty && !s.probeAfter && !s.carriesStatements)
        #expect(Self.deliver(&s, answered: 1, cache: &cache) == .keep)
        #expect(s.leaving == .clientLeft(sent: 1, halfSent: false, keepsSession: true, pinned: false))
    }

    @Test func setAsksForTheProbeAndCustomSettingsAreNamed() throws {
        var s = Self.session()
        var cache = ServerStatementCache(capacity: 10)
        s.linked()
        _ = try s.relay(Self.bytes([.query("SET myapp.tenant = '7'")]), statements: &cache, catalog: TestCatalog())
        #expect(s.probeAfter)
        #expect(s.customSettingNames == ["myapp.tenant"])
        // The handler runs the probe on `.release` when probeAfter is set; the probe's answer decides the pins.
        #expect(Self.deliver(&s, answered: 1, cache: &cache) == .release)
    }

    @Test func aSettingReportedByTheServerAsksForTheProbeToo() throws {
        var s = Self.session()
        var cache = ServerStatementCache(capacity: 10)
        s.linked()
        _ = try s.relay(Self.bytes([.query("SELECT f()")]), statements: &cache, catalog: TestCatalog())
        #expect(!s.probeAfter)
        _ = s.delivered(answered: 1, status: .idle, atBoundary: true, failed: [], madeUp: [], settingReported: true, statements: &cache, now: Self.t0)
        #expect(s.probeAfter)
    }

    @Test(arguments: ["LISTEN ipc", "SELECT pg_advisory_lock(1)", "CREATE TEMP TABLE t (a int)", "PREPARE p AS SELECT 1",
                      "DECLARE c CURSOR WITH HOLD FOR SELECT 1"])
    func eachPinReasonAsksForTheProbe(_ sql: String) throws {
        var s = Self.session()
        var cache = ServerStatementCache(capacity: 10)
        s.linked()
        _ = try s.relay(Self.bytes([.query(sql)]), statements: &cache, catalog: TestCatalog())
        #expect(s.probeAfter)
        // Pinned by what the probe finds: the client then keeps its server, whatever it sends, and a reset clears it.
        s.pinReasons = ["from the probe"]
        #expect(s.leaving == .clientLeft(sent: 1, halfSent: false, keepsSession: true, pinned: true))
    }

    @Test(arguments: ["LISTEN ipc", "SELECT pg_advisory_lock(1)", "CREATE TEMP TABLE t (a int)", "PREPARE p AS SELECT 1"])
    func refusedPinBecomesTheServersOwnError(_ sql: String) throws {
        var s = Self.session(refuse: true)
        var cache = ServerStatementCache(capacity: 10)
        s.linked()
        _ = try s.relay(Self.bytes([.query(sql)]), statements: &cache, catalog: TestCatalog())
        var all = ByteBuffer()
        for var b in s.outgoing { all.writeBuffer(&b) }
        let (type, body) = try #require(try WholeFrameReader.next(&all, maxLength: 1 << 20))
        #expect(type == FrontendMessage.Code.query)
        let text = body.getString(at: body.readerIndex, length: body.readableBytes) ?? ""
        #expect(text.contains("0A000") && text.contains("session_pinning = refuse") && !text.contains(sql))
        #expect(s.expected == [.query] && s.tracker.sent == 1)
    }

    @Test func ddlBumpsTheSchemaEpochButLeavesPlansToPostgreSQL() throws {
        var s = Self.session()
        var cache = ServerStatementCache(capacity: 10)
        let catalog = TestCatalog()
        s.linked()
        _ = try s.relay(Self.bytes([.parse(name: "s1", query: "SELECT * FROM t", parameterTypes: []), .sync]), statements: &cache, catalog: catalog)
        _ = Self.deliver(&s, answered: 1, cache: &cache)
        _ = try s.relay(Self.bytes([.query("ALTER TABLE t ALTER COLUMN b TYPE text")]), statements: &cache, catalog: catalog)
        #expect(catalog.schemaEpoch == 1 && catalog.retired.isEmpty)
        _ = Self.deliver(&s, answered: 2, cache: &cache)
        s.outgoing.removeAll()
        // The statement the server has is bound as it is: PostgreSQL revalidates it, and raises "cached plan must not
        // change result type" only if its columns changed, which a client without a Describe must hear.
        _ = try s.relay(Self.bytes([.bind(portal: "", statement: "s1", parameterFormats: [], parameters: [], resultFormats: []),
                                    .execute(portal: "", maxRows: 0), .sync]), statements: &cache, catalog: catalog)
        #expect(Self.sentTypes(&s) == ["B", "E", "S"])
        // Once a server said its columns changed: on a server that lacks it, the client hears what PostgreSQL would say
        // (raised by the server in place of the Bind), rather than rows of a shape it does not expect...
        catalog.retire(1)
        _ = Self.deliver(&s, answered: 3, cache: &cache)
        var other = ServerStatementCache(capacity: 10)
        s.expected.removeAll()
        _ = try s.relay(Self.bytes([.bind(portal: "", statement: "s1", parameterFormats: [], parameters: [], resultFormats: []),
                                    .execute(portal: "", maxRows: 0), .sync]), statements: &other, catalog: catalog)
        #expect(Self.sentTypes(&s) == ["P", "B", "E", "E", "S"])
        #expect(s.expected == [.parse(statement: nil, injected: true), .injectedBind, .raise, .execute, .sync])
        // ...and preparing the text again (what the driver then does) gets a fresh statement, under a new id.
        _ = Self.deliver(&s, answered: 4, cache: &other)
        s.outgoing.removeAll()
        _ = try s.relay(Self.bytes([.parse(name: "s2", query: "SELECT * FROM t", parameterTypes: []), .sync]), statements: &other, catalog: catalog)
        #expect(s.rewriter.statements["s2"]?.id == 2)
        #expect(Self.sentTypes(&s) == ["P", "S"])
    }

    @Test func copyFromStdinByExecuteRecordsTheCopysEnd() throws {
        var s = Self.session(statements: false)
        var cache = ServerStatementCache(capacity: 10)
        s.linked()
        _ = try s.relay(Self.bytes([.parse(name: "", query: "COPY t FROM STDIN", parameterTypes: []),
                                    .bind(portal: "", statement: "", parameterFormats: [], parameters: [], resultFormats: []),
                                    .describe(.portal, name: ""), .execute(portal: "", maxRows: 0), .sync]), statements: &cache, catalog: TestCatalog())
        _ = try s.relay(Self.bytes([.copyData(ByteBuffer(string: "1\n")), .copyDone, .sync]), statements: &cache, catalog: TestCatalog())
        #expect(s.expected == [.execute, .sync, .copyEnd, .sync])
        #expect(s.tracker.sent == 2)
        // The server's one ReadyForQuery answers both Syncs (ServerSession counts the ignored one): the link ends.
        #expect(Self.deliver(&s, answered: 2, cache: &cache) == .release)
    }

    /// A client that prepared "s1" and then runs it the way libpq does (Bind, Describe of the portal, Execute, Sync),
    /// followed by `after`; the batch is unanswered.
    static func runningPrepared(then after: [FrontendMessage] = []) throws -> (ClientSession, ServerStatementCache, TestCatalog) {
        var s = session()
        var cache = ServerStatementCache(capacity: 10)
        let catalog = TestCatalog()
        s.linked()
        _ = try s.relay(bytes([.parse(name: "s1", query: "SELECT * FROM t", parameterTypes: []), .sync]), statements: &cache, catalog: catalog)
        _ = deliver(&s, answered: 1, cache: &cache)
        _ = try s.relay(bytes([.bind(portal: "", statement: "s1", parameterFormats: [], parameters: [], resultFormats: []),
                               .describe(.portal, name: ""), .execute(portal: "", maxRows: 0), .sync] + after), statements: &cache, catalog: catalog)
        s.outgoing.removeAll()
        return (s, cache, catalog)
    }

    @Test func stalePlanRetryResendsTheBatchOnceWithTheStatementPreparedAnew() throws {
        var (s, cache, catalog) = try Self.runningPrepared()
        // The server's note of the failure, before the client is asked.
        catalog.retire(1)
        let (frames, replies) = try #require(s.batchForRetry(answered: 1, statements: &cache, catalog: catalog))
        var all = ByteBuffer()
        for var f in frames { all.writeBuffer(&f) }
        var types: [Character] = []
        while let (type, _) = try WholeFrameReader.next(&all, maxLength: 1 << 20) { types.append(Character(UnicodeScalar(type))) }
        // The retired statement's text is prepared afresh under its new id (hidden), then the client's batch as it was.
        #expect(types == ["P", "B", "D", "E", "S"])
        #expect(replies.first == .parse(statement: 2, injected: true))
        #expect(s.rewriter.statements["s1"]?.id == 2)
        // Once only.
        #expect(s.batchForRetry(answered: 1, statements: &cache, catalog: catalog) == nil)
    }

    @Test func retryIsDeclinedWhenMoreWasSentBehindTheBatch() throws {
        var (s, cache, catalog) = try Self.runningPrepared(then: [.query("SELECT 2")])
        #expect(s.batchForRetry(answered: 1, statements: &cache, catalog: catalog) == nil)
    }

    @Test func queuedClientsHeldRequestsAreCountedForACancel() {
        var s = Self.session()
        #expect(s.hold(Self.bytes([.query("SELECT 1"), .query("SELECT 2")])) == false)
        #expect(s.heldRequests() == 2)
        // Extended messages without their Sync are no request yet: nothing to cancel.
        var t = Self.session()
        _ = t.hold(Self.bytes([.parse(name: "", query: "SELECT 1", parameterTypes: [])]))
        #expect(t.heldRequests() == nil)
        // Half a frame: nothing to cancel either.
        var u = Self.session()
        var q = Self.bytes([.query("SELECT 1")])
        _ = u.hold(q.readSlice(length: 4)!)
        #expect(u.heldRequests() == nil)
        let (bytes, resume) = s.takeHeld()
        #expect(bytes.count == 1 && !resume && s.held.isEmpty)
    }

    @Test func holdingMoreThanTheLimitStopsReadingUntilTaken() {
        var s = Self.session()
        let big = ByteBuffer(repeating: 0, count: ClientSession.holdLimit + 1)
        let stop = s.hold(big)
        let resume = s.takeHeld().resume
        #expect(stop && resume)
    }
}

@Suite("ClientSession answers a known Parse without a server")
struct LocalParseTests {
    static func tail(_ sql: String) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeNullTerminatedString(sql)
        b.writeInteger(Int16(0))
        return b
    }

    static func replyTypes(_ reply: ByteBuffer?) -> [Character]? {
        guard var r = reply else { return nil }
        var types: [Character] = []
        while let (type, _) = try? WholeFrameReader.next(&r, maxLength: 1 << 20) { types.append(Character(UnicodeScalar(type))) }
        return types
    }

    @Test func acceptedTextIsAnsweredAndTheFirstBindPreparesIt() throws {
        var s = ClientSessionTests.session()
        let catalog = TestCatalog()
        catalog.accept(Self.tail("SELECT abalance FROM pgbench_accounts WHERE aid = $1"))
        let prepare = ClientSessionTests.bytes([.parse(name: "P0_1", query: "SELECT abalance FROM pgbench_accounts WHERE aid = $1", parameterTypes: []), .sync])
        #expect(Self.replyTypes(s.answerLocally(prepare, searchPath: "", catalog: catalog)) == ["1", "Z"])
        #expect(s.rewriter.statements["P0_1"]?.id == 1)
        // On a server without it, the Bind brings its Parse along (hidden).
        var cache = ServerStatementCache(capacity: 10)
        s.linked()
        _ = try s.relay(ClientSessionTests.bytes([.bind(portal: "", statement: "P0_1", parameterFormats: [], parameters: [ByteBuffer(string: "1")], resultFormats: []),
                                                  .execute(portal: "", maxRows: 0), .sync]), statements: &cache, catalog: catalog)
        #expect(ClientSessionTests.sentTypes(&s) == ["P", "B", "E", "S"])
        #expect(s.expected.first == .parse(statement: 1, injected: true))
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var why: String
        var messages: [FrontendMessage]
        var testDescription: String { why }
    }

    static let known = "SELECT 1"
    static let cases: [Case] = [
        Case(why: "a text PostgreSQL never accepted", messages: [.parse(name: "a", query: "SELECT 2", parameterTypes: []), .sync]),
        Case(why: "the unnamed statement", messages: [.parse(name: "", query: known, parameterTypes: []), .sync]),
        Case(why: "other parameter types", messages: [.parse(name: "a", query: known, parameterTypes: [23]), .sync]),
        Case(why: "no Sync yet", messages: [.parse(name: "a", query: known, parameterTypes: [])]),
        Case(why: "a Describe with it", messages: [.parse(name: "a", query: known, parameterTypes: []), .describe(.statement, name: "a"), .sync]),
        Case(why: "a name used twice", messages: [.parse(name: "a", query: known, parameterTypes: []), .parse(name: "a", query: known, parameterTypes: []), .sync]),
        Case(why: "a query", messages: [.query("SELECT 1")]),
    ]

    @Test(arguments: cases)
    func needsAServer(_ c: Case) {
        var s = ClientSessionTests.session()
        let catalog = TestCatalog()
        catalog.accept(Self.tail(Self.known))
        #expect(s.answerLocally(ClientSessionTests.bytes(c.messages), searchPath: "", catalog: catalog) == nil)
        #expect(s.rewriter.statements.isEmpty)
    }

    @Test func notAfterASchemaChangeNorInSessionModeNorForSessionChangingSQL() {
        let catalog = TestCatalog()
        catalog.accept(Self.tail("SELECT 1"))
        catalog.accept(Self.tail("SET search_path = x"))
        var s = ClientSessionTests.session()
        #expect(s.answerLocally(ClientSessionTests.bytes([.parse(name: "s", query: "SET search_path = x", parameterTypes: []), .sync]), searchPath: "", catalog: catalog) == nil)
        var session = ClientSessionTests.session(.session)
        #expect(session.answerLocally(ClientSessionTests.bytes([.parse(name: "a", query: "SELECT 1", parameterTypes: []), .sync]), searchPath: "", catalog: catalog) == nil)
        catalog.schemaChanged()
        #expect(s.answerLocally(ClientSessionTests.bytes([.parse(name: "a", query: "SELECT 1", parameterTypes: []), .sync]), searchPath: "", catalog: catalog) == nil)
        // An existing name: PostgreSQL's 42P05 must come from a server.
        catalog.accept(Self.tail("SELECT 1"))
        #expect(s.answerLocally(ClientSessionTests.bytes([.parse(name: "a", query: "SELECT 1", parameterTypes: []), .sync]), searchPath: "", catalog: catalog) != nil)
        #expect(s.answerLocally(ClientSessionTests.bytes([.parse(name: "a", query: "SELECT 1", parameterTypes: []), .sync]), searchPath: "", catalog: catalog) == nil)
    }

    @Test func onlyUnderTheSearchPathItWasAcceptedWith() {
        let catalog = TestCatalog()
        catalog.accept(Self.tail("SELECT * FROM t"), searchPath: "tenant_a")
        let prepare = ClientSessionTests.bytes([.parse(name: "a", query: "SELECT * FROM t", parameterTypes: []), .sync])
        var other = ClientSessionTests.session()
        #expect(other.answerLocally(prepare, searchPath: "tenant_b", catalog: catalog) == nil)
        #expect(other.answerLocally(prepare, searchPath: "", catalog: catalog) == nil)
        var same = ClientSessionTests.session()
        #expect(same.answerLocally(prepare, searchPath: "tenant_a", catalog: catalog) != nil)
    }
}

@Suite("ClientClock timeouts")
struct ClientTimeoutTests {
    static let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)
    static func at(_ seconds: Double) -> NIODeadline { t0 + .milliseconds(Int64(seconds * 1000)) }

    struct Step: Sendable, CustomTestStringConvertible {
        var why: String
        var phase: ClientPhase
        var sent = 0
        var answered = 0
        var status = TransactionStatus.idle
        var lastRequest = 0.0
        var lastDelivered = 0.0
        var transactionStarted: Double?
        var now: Double
        var limits: ClientTimeoutLimits
        var expired: ClientTimeout?
        var testDescription: String { why }
    }

    static let steps: [Step] = [
        Step(why: "query running past query_timeout", phase: .linked, sent: 1, lastRequest: 0, now: 6, limits: .init(query: 5), expired: .query),
        Step(why: "query running within query_timeout", phase: .linked, sent: 1, lastRequest: 0, now: 4, limits: .init(query: 5), expired: nil),
        Step(why: "answered query is not timed", phase: .linked, sent: 1, answered: 1, now: 60, limits: .init(query: 5), expired: nil),
        Step(why: "idle in transaction too long", phase: .linked, sent: 1, answered: 1, status: .inTransaction, lastDelivered: 1, now: 12,
             limits: .init(idleTransaction: 10), expired: .idleTransaction),
        Step(why: "idle in failed transaction too long", phase: .linked, sent: 1, answered: 1, status: .failedTransaction, lastDelivered: 1, now: 12,
             limits: .init(idleTransaction: 10), expired: .idleTransaction),
        Step(why: "idle in transaction, recently active", phase: .linked, sent: 1, answered: 1, status: .inTransaction, lastDelivered: 5, now: 12,
             limits: .init(idleTransaction: 10), expired: nil),
        Step(why: "transaction longer than transaction_timeout", phase: .linked, sent: 3, answered: 3, status: .inTransaction,
             lastRequest: 29, lastDelivered: 29, transactionStarted: 0, now: 31, limits: .init(transaction: 30), expired: .transaction),
        Step(why: "busy transaction past transaction_timeout", phase: .linked, sent: 4, answered: 3, status: .inTransaction,
             lastRequest: 30, lastDelivered: 29, transactionStarted: 0, now: 31, limits: .init(query: 60, transaction: 30), expired: .transaction),
        Step(why: "linked session-mode client idle", phase: .linked, sent: 1, answered: 1, lastDelivered: 1, now: 100,
             limits: .init(clientIdle: 60), expired: .clientIdle),
        Step(why: "unlinked client idle", phase: .unlinked, now: 61, limits: .init(clientIdle: 60), expired: .clientIdle),
        Step(why: "unlinked client with no limit", phase: .unlinked, now: 1e6, limits: .init(), expired: nil),
        Step(why: "queued for a server past query_timeout", phase: .waiting, now: 6, limits: .init(query: 5), expired: .query),
        Step(why: "queued, idle limits do not apply", phase: .waiting, now: 100, limits: .init(idleTransaction: 1, clientIdle: 1), expired: nil),
        Step(why: "probe unanswered past query_timeout", phase: .settling, lastDelivered: 0, now: 6, limits: .init(query: 5), expired: .query),
    ]

    @Test(arguments: steps)
    func expired(_ step: Step) {
        var clock = ClientClock(now: Self.t0)
        clock.lastRequest = Self.at(step.lastRequest)
        clock.waitStarted = Self.t0
        clock.lastDelivered = Self.at(step.lastDelivered)
        var link = LinkClock()
        link.delivered(answered: step.answered, status: .idle, now: Self.at(step.lastDelivered))
        link.status = step.status
        link.transactionStarted = step.transactionStarted.map(Self.at)
        #expect(clock.expired(step.phase, sent: step.sent, link: link, limits: step.limits, now: Self.at(step.now)) == step.expired)
    }

    @Test func transactionStartIsTakenFromTheFirstDeliveryInsideIt() {
        var clock = LinkClock()
        clock.delivered(answered: 1, status: .inTransaction, now: Self.at(2))
        clock.delivered(answered: 2, status: .inTransaction, now: Self.at(5))
        #expect(clock.transactionStarted == Self.at(2))
        clock.delivered(answered: 3, status: .idle, now: Self.at(6))
        #expect(clock.transactionStarted == nil)
    }
}
