// RouteUnit as a table: the statements a client sent before it had a server, and the unit of work they make.
@testable import Routing
import SQLAnalysis
import Testing

@Suite("Route units")
struct RouteUnitTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var texts: [String]
        var readOnlyDefault = false
        var unit: RouteRequest.Unit
        var writes: Bool
        var testDescription: String { texts.joined(separator: " | ") }
    }

    static let cases: [Case] = [
        Case(texts: ["SELECT 1"], unit: .statement, writes: false),
        Case(texts: ["UPDATE t SET a = 1"], unit: .statement, writes: true),
        Case(texts: ["BEGIN"], unit: .transaction, writes: false),
        Case(texts: ["BEGIN READ ONLY"], unit: .readOnlyTransaction, writes: false),
        Case(texts: ["START TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"], unit: .readOnlyTransaction, writes: false),
        Case(texts: ["BEGIN", "SET TRANSACTION READ ONLY"], unit: .readOnlyTransaction, writes: false),
        Case(texts: ["BEGIN"], readOnlyDefault: true, unit: .readOnlyTransaction, writes: false),
        Case(texts: ["BEGIN READ WRITE"], readOnlyDefault: true, unit: .transaction, writes: false),
        Case(texts: ["BEGIN; SELECT 1; COMMIT"], unit: .transaction, writes: false),
        // A pipeline: the read first, the write later in the same batch, which goes to the same server.
        Case(texts: ["SELECT 1", "INSERT INTO t VALUES (1)"], unit: .statement, writes: true),
        // A transaction anywhere in the batch makes it one: the same server runs it all.
        Case(texts: ["BEGIN", "SELECT 1", "COMMIT", "SELECT 2"], unit: .transaction, writes: false),
        Case(texts: ["BEGIN READ ONLY", "SELECT 1", "COMMIT", "BEGIN", "SELECT 2"], unit: .transaction, writes: false),
        Case(texts: ["BEGIN", "SELECT 1", "COMMIT", "BEGIN READ ONLY", "SELECT 2"], unit: .transaction, writes: false),
        Case(texts: ["COMMIT PREPARED 'x'"], unit: .statement, writes: true),
        Case(texts: [], unit: .statement, writes: false),
    ]

    @Test(arguments: cases)
    func classify(_ c: Case) {
        let profiled = c.texts.map { (StatementProfiler.profile($0), [String]()) }
        let (unit, profile, _) = RouteUnit.classify(profiled, readOnlyDefault: c.readOnlyDefault)
        #expect(unit == c.unit)
        #expect((profile.primaryReason != nil) == c.writes)
    }

    @Test func hintsOfEveryStatementAreKept() {
        var profiles = StatementProfiles()
        let (_, _, hints) = RouteUnit.classify(["/* pgswift: replica */ SELECT 1", "SELECT 2 /* pgswift: max_staleness=2s */"].map { profiles.profile($0) },
                                               readOnlyDefault: false)
        #expect(hints.count == 2)
    }
}
