"""Transaction and statement pooling through the proxy: clients share few servers, and never a transaction."""

from __future__ import annotations

import asyncio
import sys
import threading
import time

import asyncpg
import psycopg

import pgwire
from harness import PASSWORD, PROXY_HOST, PROXY_PORT, TEST_DB, USER, Results, expect, is_pgbouncer, superuser_dsn

R = Results("tx" if sys.argv[1] == "transaction" else "stmt")


def connect(**kw) -> psycopg.Connection:
    # psycopg's default prepare_threshold names a statement after five runs. pgswift carries named statements
    # from one server to the next (see prepared_checks.py), so it gets the default; PgBouncer 1.18 does not, and
    # many_clients_few_servers repeats its statements over a pool of two, hence no named statements there.
    threshold = {"prepare_threshold": None} if is_pgbouncer() else {}
    return psycopg.connect(host=PROXY_HOST, port=PROXY_PORT, dbname=TEST_DB, user=USER, password=PASSWORD,
                           connect_timeout=10, **threshold, **kw)


def many_clients_few_servers() -> None:
    # Six clients, each running twenty transactions, over a pool of two: each sees only its own rows.
    with connect(autocommit=True) as c:
        c.execute("DROP TABLE IF EXISTS it_tx; CREATE TABLE it_tx (client int, n int)")
    errors: list[str] = []

    def worker(k: int) -> None:
        try:
            with connect() as c:
                for n in range(20):
                    with c.transaction():
                        c.execute("INSERT INTO it_tx VALUES (%s, %s)", (k, n))
                        got = c.execute("SELECT count(*) FROM it_tx WHERE client = %s", (k,)).fetchone()[0]
                        if got != n + 1:
                            errors.append(f"client {k} saw {got} rows after {n + 1} inserts")
        except Exception as e:  # noqa: BLE001 - collected and reported below
            errors.append(f"client {k}: {type(e).__name__}: {e}")

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    expect(not errors, "; ".join(errors[:3]))
    with connect(autocommit=True) as c:
        expect(c.execute("SELECT count(*) FROM it_tx").fetchone()[0] == 120, "rows lost")


def vanished_client_frees_its_server() -> None:
    # A client that disappears inside a transaction must not keep (or poison) a server.
    c = connect()
    c.execute("CREATE TEMP TABLE it_gone (a int)")
    c.execute("INSERT INTO it_gone VALUES (1)")
    c.pgconn.finish()  # closes the socket mid-transaction, without ROLLBACK
    for _ in range(4):
        with connect(autocommit=True) as d:
            expect(d.execute("SELECT pg_is_in_recovery(), now() = statement_timestamp()").fetchone() == (False, True),
                   "a server came back inside an old transaction")


def asyncpg_without_statement_cache() -> None:
    async def run() -> None:
        conns = [await asyncpg.connect(host=PROXY_HOST, port=PROXY_PORT, user=USER, password=PASSWORD, database=TEST_DB,
                                       ssl=False, statement_cache_size=0) for _ in range(4)]
        try:
            results = await asyncio.gather(*(c.fetchval("SELECT $1::int * 2", i) for i, c in enumerate(conns)))
            expect(results == [0, 2, 4, 6], f"results {results}")
            async with conns[0].transaction():
                await conns[0].execute("CREATE TEMP TABLE it_async (a int)")
                await conns[0].execute("INSERT INTO it_async VALUES (1)")
                expect(await conns[0].fetchval("SELECT count(*) FROM it_async") == 1, "temp table inside transaction")
        finally:
            for c in conns:
                await c.close()
    asyncio.run(run())


def cancel_while_queued() -> None:
    # Both servers of the pool are held inside transactions; a third client's query waits in the queue.
    holders = [connect() for _ in range(2)]
    for h in holders:
        h.execute("SELECT 1")  # opens a transaction: the server stays with h
    waiting = connect(autocommit=True)  # logs in without a server: the pool knows its parameters
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            waiting.execute("SELECT 42")
            outcome.append(None)
        except BaseException as e:  # noqa: BLE001 - inspected below
            outcome.append(e)

    t = threading.Thread(target=run)
    t.start()
    time.sleep(0.5)
    expect(t.is_alive(), "the third client's query did not wait for a server")
    started = time.monotonic()
    waiting.cancel()
    t.join(5)
    expect(not t.is_alive(), "cancel did not end the queued query")
    expect(isinstance(outcome[0], psycopg.errors.QueryCanceled), f"outcome {outcome[0]!r}")
    print(f"queued query cancelled after {time.monotonic() - started:.2f}s", file=sys.stderr)
    for h in holders:
        h.rollback()
    expect(waiting.execute("SELECT 7").fetchone() == (7,), "connection unusable after the cancel")
    for c in holders + [waiting]:
        c.close()


def statement_mode() -> None:
    with connect(autocommit=True) as c:
        expect(c.execute("SELECT 1").fetchone() == (1,), "autocommit query")
        expect(c.execute("SELECT 2").fetchone() == (2,), "second autocommit query")
    c = connect(autocommit=True)
    try:
        c.execute("BEGIN")
        c.execute("SELECT 1")
        raise AssertionError("a transaction block was allowed in statement mode")
    except psycopg.OperationalError as e:
        expect("transaction blocks not allowed in statement pooling mode" in str(e), f"message: {e}")
    finally:
        c.close()
    with connect(autocommit=True) as d:
        expect(d.execute("SELECT 3").fetchone() == (3,), "proxy unusable after the refusal")


def terminated_server_57P01() -> None:
    # pg_terminate_backend on the server running a client's query: the client hears PostgreSQL's FATAL 57P01 and the
    # connection ends, as it would directly; no second error of the proxy's own follows it.
    conn = pgwire.RawConn.connect(PROXY_HOST, PROXY_PORT)
    try:
        conn.login(USER, TEST_DB, PASSWORD)
        conn.send(pgwire.message(b"Q", pgwire.cstr("SELECT pg_sleep(30) /* it_terminate_me */")))
        with psycopg.connect(superuser_dsn(TEST_DB), autocommit=True) as su:
            def running() -> bool:
                return su.execute("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%/* it_terminate_me */'"
                                  " AND pid <> pg_backend_pid()").fetchone()[0] == 1
            deadline = time.monotonic() + 10
            while not running():
                expect(time.monotonic() < deadline, "the query never started on a server")
                time.sleep(0.05)
            su.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%/* it_terminate_me */'"
                       " AND pid <> pg_backend_pid()")
        frames, closed = conn.read_until_closed(10)
        errors = [(f.error_fields().get("S"), f.error_fields().get("C")) for f in frames if f.type == "E"]
        expect(closed, f"the client was not disconnected; frames {[f.type for f in frames]}")
        expect(errors == [("FATAL", "57P01")], f"errors the client got: {errors}")
    finally:
        conn.close()
    with connect(autocommit=True) as d:
        expect(d.execute("SELECT 4").fetchone() == (4,), "proxy unusable after a server was terminated")


if sys.argv[1] == "transaction":
    R.run("many_clients_few_servers", many_clients_few_servers)
    R.run("vanished_client_frees_its_server", vanished_client_frees_its_server)
    R.run("asyncpg_without_statement_cache", asyncpg_without_statement_cache)
    R.run("cancel_while_queued", cancel_while_queued,
          skip="PgBouncer 1.18 does not cancel a client waiting for a server" if is_pgbouncer() else None)
    R.run("terminated_server_57P01", terminated_server_57P01)
else:
    R.run("refuses_transactions", statement_mode)
raise SystemExit(1 if R.failed else 0)
