// StatementProfiler as a table: which statements need the primary and why, what they touch and call, and the
// transaction control they are.
@testable import SQLAnalysis
import Testing

@Suite("Statement profiles")
struct StatementProfileTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var sql: String
        var reason: PrimaryReason?
        var relations: [String] = []
        var functions: [String] = []
        var transaction: TransactionControl?
        var setsSession = false
        var testDescription: String { sql }
    }

    static let reads: [Case] = [
        Case(sql: "SELECT abalance FROM pgbench_accounts WHERE aid = 1", relations: ["pgbench_accounts"]),
        Case(sql: "SELECT * FROM app.users u JOIN orders o ON o.uid = u.id", relations: ["app.users", "orders"]),
        Case(sql: "WITH recent AS (SELECT * FROM orders) SELECT count(*) FROM recent", relations: ["orders"], functions: ["count"]),
        Case(sql: "SELECT lower(name), pg_catalog.now() FROM t", relations: ["t"], functions: ["lower", "pg_catalog.now"]),
        Case(sql: "SELECT app.score(id) FROM t", relations: ["t"], functions: ["app.score"]),
        Case(sql: "TABLE t", relations: ["t"]),
        Case(sql: "VALUES (1), (2)"),
        Case(sql: "SHOW search_path"),
        Case(sql: "EXPLAIN SELECT * FROM t", relations: ["t"]),
        Case(sql: "EXPLAIN INSERT INTO t VALUES (1)", relations: ["t"]),
        Case(sql: "EXPLAIN (ANALYZE false) UPDATE t SET a = 1", relations: ["t"]),
        Case(sql: "EXPLAIN ANALYZE SELECT * FROM t", relations: ["t"]),
        Case(sql: "COPY t TO STDOUT", relations: ["t"]),
        Case(sql: "COPY (SELECT a FROM t) TO STDOUT", relations: ["t"]),
        Case(sql: "DECLARE c CURSOR FOR SELECT * FROM t", relations: ["t"]),
        Case(sql: "FETCH 10 FROM c"),
        Case(sql: "SELECT 'nextval(1)' AS text_not_a_call"),
        Case(sql: "SELECT my_schema.nextval(1)", functions: ["my_schema.nextval"]),
    ]

    static let primary: [Case] = [
        Case(sql: "INSERT INTO t VALUES (1)", reason: .write, relations: ["t"]),
        Case(sql: "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = 2", reason: .write, relations: ["pgbench_accounts"]),
        Case(sql: "DELETE FROM s.t WHERE a = 1", reason: .write, relations: ["s.t"]),
        Case(sql: "MERGE INTO t USING u ON t.a = u.a WHEN MATCHED THEN DELETE", reason: .write, relations: ["t", "u"]),
        Case(sql: "WITH moved AS (DELETE FROM a RETURNING *) SELECT * FROM moved", reason: .write, relations: ["a"]),
        Case(sql: "SELECT * FROM t FOR UPDATE", reason: .lockingRead, relations: ["t"]),
        Case(sql: "SELECT * FROM t FOR SHARE SKIP LOCKED", reason: .lockingRead, relations: ["t"]),
        Case(sql: "SELECT * INTO copy FROM t", reason: .selectInto, relations: ["copy", "t"]),
        Case(sql: "SELECT nextval('s')", reason: .sequence, functions: ["nextval"]),
        Case(sql: "SELECT pg_catalog.currval('s')", reason: .sequence, functions: ["pg_catalog.currval"]),
        Case(sql: "SELECT lastval()", reason: .sequence, functions: ["lastval"]),
        Case(sql: "SELECT txid_current()", reason: .transactionID, functions: ["txid_current"]),
        Case(sql: "SELECT pg_current_wal_lsn()", reason: .transactionID, functions: ["pg_current_wal_lsn"]),
        Case(sql: "SELECT lo_create(0)", reason: .largeObject, functions: ["lo_create"]),
        Case(sql: "SELECT loread(fd, 10) FROM f", reason: .largeObject, relations: ["f"], functions: ["loread"]),
        Case(sql: "SELECT pg_try_advisory_xact_lock(1)", reason: .advisoryLock, functions: ["pg_try_advisory_xact_lock"]),
        Case(sql: "SELECT pg_notify('c', 'x')", reason: .notify, functions: ["pg_notify"]),
        Case(sql: "NOTIFY c", reason: .notify),
        Case(sql: "LISTEN c", reason: .listen),
        Case(sql: "LOCK TABLE t IN SHARE MODE", reason: .lock, relations: ["t"]),
        Case(sql: "DO $$ BEGIN PERFORM 1; END $$", reason: .doBlock),
        Case(sql: "CALL app.refresh()", reason: .call),
        Case(sql: "CREATE TABLE n (a int)", reason: .ddl, relations: ["n"]),
        Case(sql: "ALTER TABLE t ADD COLUMN b text", reason: .ddl, relations: ["t"]),
        Case(sql: "GRANT SELECT ON t TO u", reason: .ddl, relations: ["t"]),
        Case(sql: "VACUUM t", reason: .maintenance, relations: ["t"]),
        Case(sql: "REFRESH MATERIALIZED VIEW v", reason: .maintenance, relations: ["v"]),
        Case(sql: "EXPLAIN ANALYZE INSERT INTO t VALUES (1)", reason: .explainAnalyzeWrite, relations: ["t"]),
        Case(sql: "EXPLAIN (ANALYZE, BUFFERS) SELECT nextval('s')", reason: .sequence, functions: ["nextval"]),
        Case(sql: "COPY t FROM STDIN", reason: .copyFrom, relations: ["t"]),
        Case(sql: "PREPARE p AS SELECT 1", reason: .sqlPrepare),
        Case(sql: "EXECUTE p", reason: .sqlPrepare),
        Case(sql: "SELEC 1", reason: .unparsed),
        Case(sql: "SELECT 1; UPDATE t SET a = 2", reason: .write, relations: ["t"]),
    ]

    static let control: [Case] = [
        Case(sql: "BEGIN", transaction: .begin(readOnly: nil)),
        Case(sql: "BEGIN READ ONLY", transaction: .begin(readOnly: true)),
        Case(sql: "begin read write", transaction: .begin(readOnly: false)),
        Case(sql: "START TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ ONLY, DEFERRABLE", transaction: .begin(readOnly: true)),
        Case(sql: "COMMIT", transaction: .commit(chain: false)),
        Case(sql: "END", transaction: .commit(chain: false)),
        Case(sql: "COMMIT AND CHAIN", transaction: .commit(chain: true)),
        Case(sql: "ROLLBACK", transaction: .rollback(chain: false)),
        Case(sql: "SAVEPOINT a", transaction: .savepoint),
        Case(sql: "RELEASE SAVEPOINT a", transaction: .releaseSavepoint),
        Case(sql: "ROLLBACK TO SAVEPOINT a", transaction: .rollbackToSavepoint),
        Case(sql: "PREPARE TRANSACTION 'g'", transaction: .prepareTransaction),
        Case(sql: "COMMIT PREPARED 'g'", transaction: .commitPrepared),
        Case(sql: "SET TRANSACTION READ ONLY", transaction: .setTransaction(readOnly: true), setsSession: true),
        Case(sql: "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", transaction: .setTransaction(readOnly: nil), setsSession: true),
        Case(sql: "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE", transaction: .sessionDefault(readOnly: false), setsSession: true),
        Case(sql: "SET default_transaction_read_only = on", transaction: .sessionDefault(readOnly: true), setsSession: true),
        Case(sql: "set default_transaction_read_only to 'off'", transaction: .sessionDefault(readOnly: false), setsSession: true),
        Case(sql: "SET default_transaction_read_only = 1", transaction: .sessionDefault(readOnly: true), setsSession: true),
        Case(sql: "RESET default_transaction_read_only", transaction: .sessionDefault(readOnly: nil), setsSession: true),
        Case(sql: "SET search_path = app", setsSession: true),
        Case(sql: "SELECT set_config('app.user', '7', false)", functions: ["set_config"], setsSession: true),
        Case(sql: "BEGIN READ ONLY; SELECT * FROM t", relations: ["t"], transaction: .begin(readOnly: true)),
    ]

    @Test(arguments: reads + primary + control)
    func profile(_ c: Case) {
        let p = StatementProfiler.profile(c.sql)
        #expect(p.primaryReason == c.reason)
        #expect(p.relations.map(\.description) == c.relations)
        #expect(p.functions.map(\.description) == c.functions)
        #expect(p.transaction == c.transaction)
        #expect(p.setsSession == c.setsSession)
    }

    @Test func statementsAreCountedAndFingerprintedWhateverTheLiterals() {
        let a = StatementProfiler.profile("SELECT * FROM t WHERE a = 1; SELECT 2")
        let b = StatementProfiler.profile("SELECT * FROM t WHERE a = 99; SELECT 3")
        #expect(a.statements == 2 && a.fingerprint != nil && a.fingerprint == b.fingerprint)
        #expect(StatementProfiler.profile("SELECT * FROM u WHERE a = 1; SELECT 2").fingerprint != a.fingerprint)
        #expect(StatementProfiler.profile("SELEC").fingerprint == nil)
    }
}
