"""pg8000 (pure Python, its own protocol code) and psycopg2 (libpq) through the proxy."""

from __future__ import annotations

import io

import pg8000.native
import psycopg2

from harness import PASSWORD, PROXY_HOST, PROXY_PORT, TEST_DB, USER, Results, expect

R = Results("")


def pg8000_checks() -> None:
    c = pg8000.native.Connection(USER, host=PROXY_HOST, port=PROXY_PORT, database=TEST_DB, password=PASSWORD)
    try:
        expect(c.run("SELECT 1 + :x AS v", x=41) == [[42]], "parameterised select")
        c.run("BEGIN")
        c.run("CREATE TEMP TABLE p8(a int)")
        c.run("INSERT INTO p8 VALUES (:a)", a=5)
        expect(c.run("SELECT a FROM p8") == [[5]], "row inside transaction")
        c.run("ROLLBACK")
        try:
            c.run("SELECT 1/0")
            raise AssertionError("division by zero did not fail")
        except pg8000.exceptions.DatabaseError as e:
            expect(e.args[0].get("C") == "22012", f"sqlstate {e.args[0]}")
        expect(c.run("SELECT 2") == [[2]], "connection unusable after an error")
    finally:
        c.close()


def psycopg2_checks() -> None:
    d = psycopg2.connect(host=PROXY_HOST, port=PROXY_PORT, dbname=TEST_DB, user=USER, password=PASSWORD,
                         application_name="it-psycopg2")
    try:
        named = d.cursor("it_named")
        named.execute("SELECT generate_series(1, 10000)")
        expect(len(named.fetchall()) == 10000, "server-side cursor rows")
        d.commit()
        cur = d.cursor()
        cur.execute("CREATE TEMP TABLE p2(a int, b text)")
        cur.copy_from(io.StringIO("1\tx\n2\ty\n"), "p2")
        out = io.StringIO()
        cur.copy_to(out, "p2")
        expect(out.getvalue() == "1\tx\n2\ty\n", f"copy round trip {out.getvalue()!r}")
        cur.execute("SHOW application_name")
        expect(cur.fetchone() == ("it-psycopg2",), "application_name from the startup packet")
        d.commit()
    finally:
        d.close()


R.run("pg8000", pg8000_checks)
R.run("psycopg2", psycopg2_checks)
raise SystemExit(1 if R.failed else 0)
