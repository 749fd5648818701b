// Which statements may change server-session state, as the keyword scan plus libpg_query decide.
import SQLAnalysis
import Testing

@Suite struct SessionStateScanTests {
    @Test(arguments: [
        "SET search_path TO app, public",
        "set statement_timeout = '5s'",
        "RESET ALL",
        "reset timezone",
        "SELECT set_config('app.user', '42', false)",
        "BEGIN; SET LOCAL lock_timeout = '1s'; COMMIT",
        "LISTEN jobs",
        "UNLISTEN *",
        "SELECT pg_advisory_lock(1)",
        "SELECT pg_try_advisory_lock(7, 8)",
        "SELECT pg_advisory_unlock_all()",
        "DECLARE c CURSOR WITH HOLD FOR SELECT 1",
        "CLOSE c",
        "CREATE TEMP TABLE t (a int)",
        "create temporary table t as select 1",
        "SELECT 1 INTO TEMP t2",
        "PREPARE q AS SELECT 1",
        "DEALLOCATE q",
        "DISCARD ALL",
        "DROP TABLE t",
        "/* c */ SET x.y = 1",
        "-- note\nSET search_path = a",
        "SELECT 1; set timezone = 'UTC'",
        "DO $$BEGIN PERFORM set_config('a.b', '1', false); END$$",
    ])
    func changes(_ sql: String) {
        #expect(SessionStateScan.mayChangeSession(sql), "\(sql)")
    }

    @Test(arguments: [
        "SELECT abalance FROM pgbench_accounts WHERE aid = 42",
        "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = 1",
        "INSERT INTO settings (k) VALUES ('set search_path')",
        "SELECT 'LISTEN x', 'pg_advisory_lock'",
        "SELECT * FROM holdings",
        "CREATE TABLE t (a int)",
        "BEGIN",
        "SELEC 1 SET",
        "UPDATE t\nSET a = 1\nWHERE b = 2",
        "UPDATE t SET a = 'reset; listen x' WHERE true",
        "INSERT INTO t VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET v = excluded.v",
        "SELECT $$ ; SET x = 1 $$",
        "",
    ])
    func keeps(_ sql: String) {
        #expect(!SessionStateScan.mayChangeSession(sql), "\(sql)")
    }

    @Test func namesCustomSettings() {
        #expect(SessionStateScan.effect(of: "SET app.tenant = 'x'")?.customSettings == ["app.tenant"])
        #expect(SessionStateScan.effect(of: "SELECT set_config('My.Tenant', '7', false)")?.customSettings == ["my.tenant"])
        #expect(SessionStateScan.effect(of: "RESET app.tenant")?.customSettings == ["app.tenant"])
        // USER is a reserved word: PostgreSQL refuses this, so it changes nothing.
        #expect(SessionStateScan.effect(of: "SET app.user = 'x'") == nil)
        #expect(SessionStateScan.effect(of: "SET search_path = a")?.customSettings == [])
    }

    @Test(arguments: [
        ("LISTEN jobs", true), ("SELECT pg_advisory_lock(1)", true), ("SELECT pg_try_advisory_lock(1)", true),
        ("DECLARE c CURSOR WITH HOLD FOR SELECT 1", true), ("CREATE TEMP TABLE t (a int)", true), ("PREPARE q AS SELECT 1", true),
        ("DECLARE c CURSOR FOR SELECT 1", false), ("SET search_path = a", false), ("UNLISTEN *", false),
        ("SELECT pg_advisory_unlock(1)", false), ("DROP TABLE t", false), ("DISCARD ALL", false),
    ])
    func pins(_ sql: String, _ expected: Bool) {
        #expect(SessionStateScan.effect(of: sql)?.pins == expected, "\(sql)")
    }
}

/// `classify` answers both of a proxy's questions in one pass; it must agree with asking them one at a time.
@Suite struct SessionStateClassifyTests {
    @Test(arguments: [
        ("SELECT abalance FROM pgbench_accounts WHERE aid = 42", false, false),
        ("SET search_path = a; ALTER TABLE t ADD COLUMN c int", true, true),
        ("ALTER TABLE t ADD COLUMN c int; SET search_path = a", true, true),
        ("CREATE TEMP TABLE t (a int)", true, true),
        ("CREATE TABLE t (a int)", false, true),
        ("SELECT 1; drop table t", true, true),
        ("UPDATE t SET a = 'alter table' WHERE true", false, false),
        ("SELECT pg_advisory_lock(1); SELECT 2", true, false),
        ("/* alter */ select temp_value from t", false, false),
    ])
    func agreesWithSeparateQuestions(_ sql: String, _ session: Bool, _ schema: Bool) {
        var text = sql
        let (effect, changesSchema) = text.withUTF8 { SessionStateScan.classify(UnsafeRawBufferPointer($0)) }
        #expect((effect != nil) == session, "\(sql)")
        #expect(changesSchema == schema, "\(sql)")
        #expect(SessionStateScan.mayChangeSession(sql) == session, "\(sql)")
        #expect(SessionStateScan.mayChangeSchema(sql) == schema, "\(sql)")
    }
}

/// Which DDL has the primary checked at once, so routing lists its VOLATILE functions again.
@Suite struct MayChangeFunctionsTests {
    @Test(arguments: [
        ("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$", true),
        ("create or replace procedure p() language sql as $$ $$", true),
        ("CREATE OR REPLACE PROCEDURE p() LANGUAGE sql AS 'SELECT 1'", true),
        ("ALTER ROUTINE r(int) VOLATILE", true),
        ("ALTER FUNCTION f() STABLE", true),
        ("DROP FUNCTION f()", true),
        ("DROP EXTENSION pgcrypto", true),
        ("CREATE EXTENSION pgcrypto", true),
        ("DROP SCHEMA s CASCADE", true),
        ("CREATE TABLE t (a int); CREATE FUNCTION g() RETURNS int LANGUAGE sql AS 'SELECT 1'", true),
        ("CREATE TABLE t (a int)", false),
        ("ALTER TABLE t ADD COLUMN b int", false),
        ("DROP TABLE t", false),
        // Another word that starts with "function" names a table, not a function.
        ("CREATE TABLE function_log (a int)", false),
        ("CREATE TABLE t (a text DEFAULT 'function')", false),
        ("CREATE TABLE \"function\" (a int)", false),
        ("CREATE TABLE t (a int) -- not a function", false),
        ("CREATE TABLE t (a int) /* procedure */", false),
    ])
    func decides(_ sql: String, _ expected: Bool) {
        var text = sql
        let found = text.withUTF8 { SessionStateScan.mayChangeFunctions(UnsafeRawBufferPointer($0)) }
        #expect(found == expected, "\(sql)")
    }
}
