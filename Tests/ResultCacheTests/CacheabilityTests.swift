// Cacheability as a table: which statements' answers may be kept, and why the others may not.
import ResultCache
import SQLAnalysis
import Testing

@Suite("Cacheability")
struct CacheabilityTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var sql: String
        var verdict: Uncacheable?
        var testDescription: String { "\(sql) → \(verdict?.rawValue ?? "cacheable")" }
    }

    static let cases: [Case] = [
        Case(sql: "SELECT name, price FROM products WHERE id = 42", verdict: nil),
        Case(sql: "SELECT p.name FROM public.products p JOIN orders o ON o.product_id = p.id WHERE o.id = $1", verdict: nil),
        Case(sql: "SELECT count(*), lower(name) FROM products GROUP BY 2", verdict: nil),
        Case(sql: "WITH recent AS (SELECT * FROM orders WHERE id > 10) SELECT count(*) FROM recent", verdict: nil),
        Case(sql: "SELECT to_char(created, 'YYYY') FROM orders", verdict: nil),
        Case(sql: "SELECT age(a, b) FROM spans", verdict: .timeDependent),
        Case(sql: "INSERT INTO orders VALUES (1)", verdict: .notARead),
        Case(sql: "SELECT * FROM orders FOR UPDATE", verdict: .notARead),
        Case(sql: "SELECT nextval('orders_id_seq')", verdict: .notARead),
        Case(sql: "SELECT txid_current()", verdict: .notARead),
        Case(sql: "SELECT pg_advisory_lock(1)", verdict: .notARead),
        Case(sql: "SELEC broken", verdict: .notARead),
        Case(sql: "BEGIN", verdict: .transactionControl),
        Case(sql: "SET search_path = app", verdict: .setsSession),
        Case(sql: "SELECT set_config('app.tenant', '7', false)", verdict: .setsSession),
        Case(sql: "SELECT 1 FROM a; SELECT 2 FROM b", verdict: .severalStatements),
        Case(sql: "SELECT * FROM orders WHERE created > now() - interval '1 day'", verdict: .timeDependent),
        Case(sql: "SELECT * FROM orders WHERE created > CURRENT_TIMESTAMP", verdict: .timeDependent),
        Case(sql: "SELECT CURRENT_DATE", verdict: .timeDependent),
        Case(sql: "SELECT random()", verdict: .timeDependent),
        Case(sql: "SELECT gen_random_uuid()", verdict: .timeDependent),
        Case(sql: "SELECT current_setting('app.tenant')", verdict: .timeDependent),
        Case(sql: "SELECT clock_timestamp()", verdict: .timeDependent),
        Case(sql: "SELECT pg_catalog.now()", verdict: .timeDependent),
        // Not the built-in: a user's schema.
        Case(sql: "SELECT app.now()", verdict: nil),
        Case(sql: "SELECT inet_server_port()", verdict: .serverDependent),
        Case(sql: "SELECT pg_is_in_recovery()", verdict: .serverDependent),
        Case(sql: "SELECT current_user, session_user", verdict: nil),
        Case(sql: "SELECT * FROM pg_class", verdict: .systemCatalog),
        Case(sql: "SELECT * FROM pg_catalog.pg_namespace", verdict: .systemCatalog),
        Case(sql: "SELECT * FROM information_schema.tables", verdict: .systemCatalog),
        Case(sql: "SELECT * FROM pg_temp.scratch", verdict: .temporaryTable),
        Case(sql: "SELECT * FROM scratch_unlogged", verdict: .temporaryTable),
        Case(sql: "SELECT audit_write(1)", verdict: .unsafeFunction),
        Case(sql: "SELECT app.price_with_tax(id) FROM products", verdict: .unsafeFunction),
        Case(sql: "SELECT immutable_fn(id) FROM products", verdict: nil),
    ]

    @Test(arguments: cases)
    func verdict(_ c: Case) {
        let profile = StatementProfiler.profile(c.sql)
        let found = Cacheability.verdict(profile, volatile: ["audit_write"], stable: ["app.price_with_tax"], nonPermanent: ["scratch_unlogged"])
        #expect(found == c.verdict)
    }
}
