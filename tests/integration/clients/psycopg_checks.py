"""psycopg 3 through the proxy: queries, transactions, COPY, notifies, cancel, server-side prepare, pipeline."""

from __future__ import annotations

import os
import sys
import threading
import time

import psycopg
from psycopg import errors

from harness import Results, expect, proxy_dsn

R = Results("psycopg")
TABLE = f"it_psycopg_{os.getpid()}"


def connect(**kw) -> psycopg.Connection:
    return psycopg.connect(proxy_dsn(), **kw)


def main() -> None:
    conn = connect(autocommit=True)
    try:
        conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
        conn.execute(f"CREATE TABLE {TABLE} (id int PRIMARY KEY, label text)")
        checks(conn)
    finally:
        if not conn.closed:
            conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
            conn.close()


def checks(conn: psycopg.Connection) -> None:
    def fetch():
        rows = conn.execute("SELECT g, g * 2 FROM generate_series(1, 5) AS g").fetchall()
        expect(rows == [(1, 2), (2, 4), (3, 6), (4, 8), (5, 10)], f"rows {rows}")
    R.run("fetch", fetch)

    def fetchone():
        row = conn.execute("SELECT %s::int + 1, %s::text, %s::bytea", (41, "hé", b"\x00\xff")).fetchone()
        expect(row == (42, "hé", b"\x00\xff"), f"row {row}")
        expect(conn.execute("SELECT 1 WHERE false").fetchone() is None, "empty result")
    R.run("fetchone", fetchone)

    def transaction_rollback():
        with conn.transaction():
            conn.execute(f"INSERT INTO {TABLE} VALUES (1, 'rolled back')")
            expect(conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0] == 1, "row visible in tx")
            raise psycopg.Rollback()
        expect(conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0] == 0, "row survived rollback")
        try:
            with conn.transaction():
                conn.execute(f"INSERT INTO {TABLE} VALUES (1, 'x')")
                conn.execute(f"INSERT INTO {TABLE} VALUES (1, 'duplicate')")
        except errors.UniqueViolation as e:
            expect(e.sqlstate == "23505", f"sqlstate {e.sqlstate}")
        else:
            raise AssertionError("duplicate key did not raise")
        expect(conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0] == 0, "failed tx left rows")
        with conn.transaction():
            conn.execute(f"INSERT INTO {TABLE} VALUES (1, 'kept')")
        expect(conn.execute(f"SELECT label FROM {TABLE} WHERE id = 1").fetchone()[0] == "kept", "commit lost")
    R.run("transaction_rollback", transaction_rollback)

    def executemany():
        with conn.cursor() as cur:
            cur.executemany(f"INSERT INTO {TABLE} VALUES (%s, %s)", [(i, f"row {i}") for i in range(2, 202)])
        expect(conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0] == 201, "executemany count")
    R.run("executemany", executemany)

    def copy_in():
        with conn.cursor() as cur:
            with cur.copy(f"COPY {TABLE} (id, label) FROM STDIN") as copy:
                for i in range(1000, 6000):
                    copy.write_row((i, f"copied\t{i}"))
            expect(cur.rowcount == 5000, f"rowcount {cur.rowcount}")
        n = conn.execute(f"SELECT count(*) FROM {TABLE} WHERE label LIKE 'copied%%'").fetchone()[0]
        expect(n == 5000, f"copied rows {n}")
    R.run("copy_in", copy_in)

    def copy_out():
        with conn.cursor() as cur:
            with cur.copy(f"COPY (SELECT id, label FROM {TABLE} WHERE id >= 1000 ORDER BY id) TO STDOUT") as copy:
                copy.set_types(["int4", "text"])
                rows = list(copy.rows())
        expect(len(rows) == 5000 and rows[0] == (1000, "copied\t1000"), f"{len(rows)} rows, first {rows[:1]}")
    R.run("copy_out", copy_out)

    def notifies():
        listener = connect(autocommit=True)
        sender = connect(autocommit=True)
        try:
            listener.execute("LISTEN pgswift_it")
            sender.execute("NOTIFY pgswift_it, 'hello from psycopg'")
            got = list(listener.notifies(timeout=5.0, stop_after=1))
            expect(len(got) == 1 and got[0].payload == "hello from psycopg", f"notifies {got}")
            expect(got[0].channel == "pgswift_it", f"channel {got[0].channel}")
        finally:
            listener.close()
            sender.close()
    R.run("notifies", notifies)

    def cancel():
        timer = threading.Timer(0.5, conn.cancel_safe if hasattr(conn, "cancel_safe") else conn.cancel)
        t0 = time.monotonic()
        timer.start()
        try:
            conn.execute("SELECT pg_sleep(10)")
        except errors.QueryCanceled as e:
            elapsed = time.monotonic() - t0
            print(f"cancelled after {elapsed:.2f}s: {e}", file=sys.stderr)
            expect(e.sqlstate == "57014", f"sqlstate {e.sqlstate}")
            expect(elapsed < 2.5, f"cancel took {elapsed:.2f}s")
        else:
            raise AssertionError("pg_sleep(10) was not cancelled")
        finally:
            timer.cancel()
    R.run("cancel", cancel)

    def after_cancel():
        expect(conn.execute("SELECT 7").fetchone()[0] == 7, "connection unusable after cancel")
        expect(conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE, "not idle")
    R.run("after_cancel", after_cancel)

    def prepare_threshold_0():
        # Every query becomes a named server-side prepared statement on first use.
        with connect(prepare_threshold=0, autocommit=True) as c:
            for i in range(20):
                row = c.execute("SELECT %s::int * 2, %s::text", (i, f"v{i}")).fetchone()
                expect(row == (i * 2, f"v{i}"), f"row {row}")
            for i in range(5):
                n = c.execute(f"SELECT count(*) FROM {TABLE} WHERE id < %s", (100,)).fetchone()[0]
                expect(n == 99, f"count {n}")
            names = c.execute("SELECT count(*) FROM pg_prepared_statements WHERE NOT from_sql").fetchone()[0]
            expect(names >= 2, f"expected server-side prepared statements, found {names}")
    R.run("prepare_threshold_0", prepare_threshold_0)

    def pipeline():
        with connect(autocommit=True) as c:
            with c.pipeline() as p:
                curs = [c.execute("SELECT %s::int + %s::int", (i, i)) for i in range(50)]
                c.execute(f"INSERT INTO {TABLE} VALUES (%s, %s)", (900000, "pipelined"))
                p.sync()
                results = [cur.fetchone()[0] for cur in curs]
            expect(results == [2 * i for i in range(50)], f"results {results[:5]}...")
            n = c.execute(f"SELECT count(*) FROM {TABLE} WHERE id = 900000").fetchone()[0]
            expect(n == 1, "pipelined insert missing")
            # An error inside a pipeline aborts the rest of that batch only.
            try:
                with c.pipeline():
                    c.execute("SELECT 1/0")
                    c.execute("SELECT 1")
            except errors.DivisionByZero:
                pass
            else:
                raise AssertionError("division by zero in pipeline did not raise")
            expect(c.execute("SELECT 3").fetchone()[0] == 3, "unusable after pipeline error")
    R.run("pipeline", pipeline)


if __name__ == "__main__":
    R.run("session", main)
    R.exit()
