// What routing reads of a held batch: every statement text it would run or prepare, and whether the batch is whole.
import NIOCore
import PGWire
import SessionCore
import Testing

@Suite("Held statements")
struct HeldStatementsTests {
    /// The texts as strings, and whether the batch is whole.
    struct Seen: Equatable {
        var texts: [String]
        var complete: Bool
    }

    static func seen(_ h: HeldStatements) -> Seen { Seen(texts: h.texts.map { String(buffer: $0) }, complete: h.complete) }

    static func held(_ reads: [[FrontendMessage]], session: ClientSession = ClientSessionTests.session()) -> Seen {
        var s = session
        for m in reads { _ = ClientSessionEventsTests.read(&s, m) }
        return seen(s.heldStatements())
    }

    @Test func aSimpleQueryIsWholeAtOnce() {
        #expect(Self.held([[.query("SELECT 1; SELECT 2")]]) == Seen(texts: ["SELECT 1; SELECT 2"], complete: true))
    }

    @Test func everyTextOfAPipelineCounts() {
        // A write behind a read in the same batch goes to the same server: routing must see it.
        let h = Self.held([[
            .parse(name: "", query: "SELECT $1", parameterTypes: []), .bind(portal: "", statement: "", parameterFormats: [], parameters: [nil], resultFormats: []),
            .execute(portal: "", maxRows: 0), .sync,
            .parse(name: "w", query: "INSERT INTO t VALUES (1)", parameterTypes: []), .bind(portal: "", statement: "w", parameterFormats: [], parameters: [], resultFormats: []),
            .execute(portal: "", maxRows: 0), .sync,
        ]])
        #expect(h.texts == ["SELECT $1", "INSERT INTO t VALUES (1)"] && h.complete)
    }

    @Test func notWholeUntilASyncOrFlush() {
        let parse: [FrontendMessage] = [.parse(name: "", query: "SELECT 1", parameterTypes: [])]
        #expect(!Self.held([parse]).complete)
        #expect(Self.held([parse, [.describe(.statement, name: ""), .flush]]).complete)
        #expect(Self.held([parse, [.bind(portal: "", statement: "", parameterFormats: [], parameters: [], resultFormats: []), .execute(portal: "", maxRows: 0), .sync]]).complete)
    }

    @Test func aQuerySplitAcrossReadsIsReadWhole() {
        var whole = ClientSessionTests.bytes([.query("SELECT * FROM accounts WHERE id = 42")])
        let first = whole.readSlice(length: 9)!
        var s = ClientSessionTests.session()
        _ = s.read(first, searchPath: "", catalog: TestCatalog(), now: ClientSessionTests.t0)
        #expect(Self.seen(s.heldStatements()) == Seen(texts: [], complete: false))
        _ = s.read(whole, searchPath: "", catalog: TestCatalog(), now: ClientSessionTests.t0)
        #expect(Self.seen(s.heldStatements()) == Seen(texts: ["SELECT * FROM accounts WHERE id = 42"], complete: true))
    }

    @Test func aBindOfAStatementPreparedOnAnEarlierLinkUsesItsText() {
        var s = ClientSessionTests.session()
        let catalog = TestCatalog()
        _ = ClientSessionEventsTests.read(&s, [.parse(name: "s1", query: "UPDATE t SET a = $1", parameterTypes: []), .sync], catalog: catalog)
        _ = s.linked(statements: ClientSessionEventsTests.lent(), catalog: catalog)
        _ = s.answered(1, status: .idle, atBoundary: true, failed: [], madeUp: [], settingReported: false, catalog: catalog, now: ClientSessionTests.t0)
        #expect(s.phase == .unlinked)
        _ = ClientSessionEventsTests.read(&s, [.bind(portal: "", statement: "s1", parameterFormats: [], parameters: [nil], resultFormats: []),
                                               .execute(portal: "", maxRows: 0), .sync], catalog: catalog)
        #expect(Self.seen(s.heldStatements()) == Seen(texts: ["UPDATE t SET a = $1"], complete: true))
    }
}
