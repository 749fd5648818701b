// QueryShape as a table: what a statement's shape keeps, what it replaces, and which texts share one.
@testable import SQLAnalysis
import Testing

@Suite("Query shapes")
struct QueryShapeTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var sql: String
        var shape: String
        var hints: [String] = []
        var exact = true
        var testDescription: String { sql }
    }

    static let cases: [Case] = [
        Case(sql: "SELECT abalance FROM pgbench_accounts WHERE aid = 42;", shape: "select abalance from pgbench_accounts where aid = ?;"),
        Case(sql: "  select *\n\tfrom t   where a='x''y' ", shape: "select * from t where a=?"),
        Case(sql: "SELECT 1.5, .5, 1e-3, 0x1F, 1_000 FROM t1", shape: "select ?, ?, ?, ?, ? from t1"),
        Case(sql: "SELECT col2, t1.c3 FROM t1", shape: "select col2, t1.c3 from t1"),
        Case(sql: "SELECT (x).y, \"T\".a FROM \"T\"", shape: "select (x).y, \"T\".a from \"T\""),
        Case(sql: "SELECT \"a\"\"b\" FROM t WHERE c = $1 AND d = $12", shape: "select \"a\"\"b\" from t where c = $1 and d = $12"),
        Case(sql: "SELECT $$it's$$, $tag$ x $tag$", shape: "select ?, ?"),
        Case(sql: "SELECT E'it\\'s', e'\\\\'", shape: "select e?, e?"),
        Case(sql: "SELECT 'a\\'", shape: "select ?", exact: false),
        Case(sql: "SELECT 1 -- the answer\nFROM t", shape: "select ? from t"),
        Case(sql: "/* app=web trace=abc */ SELECT 1 /* nested /* inner */ still */", shape: "select ?"),
        Case(sql: "SELECT * FROM t /* pgswift: replica */ WHERE a = 1", shape: "select * from t where a = ?", hints: ["replica"]),
        Case(sql: "/*pgswift:primary*/ /* PGSWIFT: cache ttl=30s */ SELECT 1", shape: "select ?", hints: ["primary", "cache ttl=30s"]),
        Case(sql: "SELECT 'open", shape: "select ?", exact: false),
        Case(sql: "SELECT 1 /* open", shape: "select ?", exact: false),
        Case(sql: "SELECT \"open", shape: "select \"open", exact: false),
        Case(sql: "SELECT $a$ open", shape: "select ?", exact: false),
        Case(sql: "SELECT B'101', X'1F', U&'d\\0061t'", shape: "select b?, x?, u&?"),
        Case(sql: "SELECT a-1, a - -1 FROM t", shape: "select a-?, a - -? from t"),
        Case(sql: "", shape: ""),
    ]

    @Test(arguments: cases)
    func shape(_ c: Case) {
        let shape = QueryShape(c.sql)
        #expect(shape.text == c.shape)
        #expect(shape.hints == c.hints)
        #expect(shape.exact == c.exact)
    }

    @Test func textsThatDifferOnlyInLiteralsAndCommentsShareAShape() {
        let a = QueryShape("SELECT * FROM t WHERE id = 1 AND name = 'x' /* trace=1 */")
        let b = QueryShape("select *   from T where ID = 9999 and NAME = 'it''s' /* trace=2 */")
        #expect(a == b && a.hashValue == b.hashValue)
    }

    @Test func textsThatDifferInAnythingElseDoNot() {
        let pairs = [
            ("SELECT nextval('s')", "SELECT lower('s')"),
            ("SELECT a FROM t", "SELECT a FROM u"),
            ("SELECT \"A\" FROM t", "SELECT \"a\" FROM t"),
            ("SELECT * FROM t WHERE a = $1", "SELECT * FROM t WHERE a = $2"),
            ("SELECT 1 FOR UPDATE", "SELECT 1"),
            // The literal byte is no operator: jsonb's ? next to a literal stays apart from a literal alone.
            ("SELECT d ? 'k' FROM t", "SELECT d 'k' FROM t"),
        ]
        for (a, b) in pairs { #expect(QueryShape(a) != QueryShape(b), "\(a) / \(b)") }
    }
}
