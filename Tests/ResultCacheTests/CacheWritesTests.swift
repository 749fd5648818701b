// CacheWrites as a table: what each statement a client sends may have changed, as the cache's versions must follow it.
import ResultCache
import SQLAnalysis
import Testing

@Suite("Cache writes")
struct CacheWritesTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var sql: String
        var effect: CacheWrites.Effect
        var testDescription: String { "\(sql) → \(effect)" }
    }

    static func tables(_ names: String...) -> CacheWrites.Effect { .tables(names) }

    static let cases: [Case] = [
        // Writes: every table named, bare, each once (a read one moved costs a miss, never a stale read).
        Case(sql: "INSERT INTO orders (id) VALUES (1)", effect: tables("orders")),
        Case(sql: "INSERT INTO app.orders SELECT * FROM staging.orders", effect: tables("orders")),
        Case(sql: "INSERT INTO orders SELECT * FROM staging", effect: tables("orders", "staging")),
        Case(sql: "UPDATE products SET price = price * 2 WHERE id = $1", effect: tables("products")),
        Case(sql: "UPDATE s1.products p SET price = o.price FROM s2.offers o WHERE o.id = p.id", effect: tables("products", "offers")),
        Case(sql: "DELETE FROM sessions WHERE expires < $1", effect: tables("sessions")),
        Case(sql: "DELETE FROM a USING b WHERE a.id = b.id", effect: tables("a", "b")),
        Case(sql: "MERGE INTO stock s USING deliveries d ON s.id = d.id WHEN MATCHED THEN UPDATE SET n = s.n + d.n", effect: tables("stock", "deliveries")),
        Case(sql: "WITH gone AS (DELETE FROM queue RETURNING *) INSERT INTO archive SELECT * FROM gone", effect: tables("queue", "archive")),
        Case(sql: "SELECT * FROM orders; UPDATE products SET a = 1", effect: tables("orders", "products")),
        Case(sql: "TRUNCATE logs", effect: tables("logs")),
        Case(sql: "TRUNCATE a, public.b", effect: tables("a", "b")),
        Case(sql: "COPY orders FROM STDIN", effect: tables("orders")),
        Case(sql: "COPY app.orders (id, total) FROM '/tmp/x.csv' WITH (FORMAT csv)", effect: tables("orders")),
        Case(sql: "SELECT * INTO snapshot FROM orders", effect: tables("snapshot", "orders")),
        // DDL and maintenance on a table: that table.
        Case(sql: "ALTER TABLE products ADD COLUMN sku text", effect: tables("products")),
        Case(sql: "CREATE INDEX ON products (sku)", effect: tables("products")),
        Case(sql: "CREATE TABLE fresh (id int)", effect: tables("fresh")),
        Case(sql: "REFRESH MATERIALIZED VIEW sales_by_day", effect: tables("sales_by_day")),
        Case(sql: "VACUUM FULL orders", effect: tables("orders")),
        // DDL that names no table may change what any read returns.
        Case(sql: "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'", effect: .anything),
        Case(sql: "DROP FUNCTION f()", effect: .anything),
        Case(sql: "CREATE SCHEMA s", effect: .anything),
        // DROP names its objects in a form the profile does not read as relations: everything moves (coarse, but no
        // answer from before the drop survives it).
        Case(sql: "DROP TABLE app.products", effect: .anything),
        Case(sql: "DROP VIEW v", effect: .anything),
        // What pgswift cannot see into.
        Case(sql: "DO $$ BEGIN UPDATE products SET a = 1; END $$", effect: .anything),
        Case(sql: "CALL rebuild_totals()", effect: .anything),
        Case(sql: "EXECUTE upd(1)", effect: .anything),
        Case(sql: "PREPARE upd AS UPDATE products SET a = $1", effect: .anything),
        Case(sql: "UPDTE products SET a = 1", effect: .anything),
        Case(sql: "EXPLAIN ANALYZE DELETE FROM orders", effect: .anything),
        Case(sql: "SELECT lo_unlink(42)", effect: .anything),
        // A read, or a statement that changes no table's rows.
        Case(sql: "SELECT * FROM orders WHERE id = 1", effect: .none),
        Case(sql: "SELECT count(*) FROM orders JOIN products USING (id)", effect: .none),
        Case(sql: "SELECT * FROM orders FOR UPDATE", effect: .none),
        Case(sql: "COPY orders TO STDOUT", effect: .none),
        Case(sql: "SELECT pg_advisory_lock(1)", effect: .none),
        Case(sql: "LOCK TABLE orders", effect: .none),
        Case(sql: "NOTIFY jobs", effect: .none),
        Case(sql: "LISTEN jobs", effect: .none),
        Case(sql: "BEGIN", effect: .none),
        Case(sql: "COMMIT", effect: .none),
        Case(sql: "ROLLBACK", effect: .none),
        Case(sql: "SET search_path = app", effect: .none),
        Case(sql: "SHOW TimeZone", effect: .none),
        Case(sql: "SELECT immutable_fn(id) FROM orders", effect: .none),
        // A function that may write, wherever it is called.
        Case(sql: "SELECT audit_write(1)", effect: .anything),
        Case(sql: "SELECT id, audit_write(id) FROM orders", effect: .anything),
        Case(sql: "SELECT app.bump(1) FROM orders", effect: .anything),
        Case(sql: "SELECT * FROM audit_write(3)", effect: .anything),
        Case(sql: "UPDATE orders SET n = audit_write(n)", effect: .anything),
        Case(sql: "SELECT * FROM orders FOR UPDATE NOWAIT; SELECT audit_write(2)", effect: .anything),
    ]

    @Test(arguments: cases)
    func effect(_ c: Case) {
        let profile = StatementProfiler.profile(c.sql)
        #expect(CacheWrites.effect(of: profile, volatile: ["audit_write", "app.bump"]) == c.effect)
    }

    @Test func namesAreBareAndEachOnce() {
        let profile = StatementProfiler.profile("UPDATE s1.t SET a = 1 FROM s2.t AS u, t AS v WHERE u.id = v.id")
        #expect(CacheWrites.effect(of: profile, volatile: []) == .tables(["t"]))
    }

    /// COMMIT PREPARED makes a prepared transaction's writes visible, from a session that did not send them: the
    /// versions the writer's session moved were moved at PREPARE TRANSACTION, and answers kept since then hold the rows
    /// from before. pgswift cannot know which tables it wrote, so every answer of the database must go.
    @Test(arguments: ["COMMIT PREPARED 'tx1'"])
    func committingAPreparedTransactionMayHaveWrittenAnything(_ sql: String) {
        #expect(CacheWrites.effect(of: StatementProfiler.profile(sql), volatile: []) == .anything)
    }
}
