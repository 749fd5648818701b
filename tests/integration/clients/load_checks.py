"""Load through the proxy in transaction mode: 1,000 concurrent clients on a pool of 10, and cancel storms.

usage: load_checks.py clients | storm POOL_SIZE | queued | handover
  clients  (pool of 10) 1,000 asyncpg clients at once, each with its own values and row, while
           pg_stat_activity is sampled; afterwards SHOW POOLS has no client left
  storm    50 clients start pg_sleep(10) and cancel it, 5 rounds, while 8 others run short queries;
           POOL_SIZE is the proxy's default_pool_size: 60 (every sleeper gets a server, so every
           cancel meets a running query) or 10 (most cancels meet a client still queued)
  queued   (pool of 10) all servers busy; 30 queued clients are cancelled and must get 57014 at once
  handover (pool of 10) each server's query is cancelled while a client waits for it, or cancelled just as it
           ends; the waiting clients' queries are never cancelled
checks/load.sh starts the proxies (admin_users = pgswift_admin, for SHOW POOLS).
"""

from __future__ import annotations

import asyncio
import random
import resource
import socket
import statistics
import struct
import sys
import threading
import time
from typing import Any

import asyncpg
import psycopg

import pgwire
from harness import (PASSWORD, PROXY_HOST, PROXY_PORT, TEST_DB, USER, Results, expect, is_pgbouncer,
                     superuser_dsn, wait_for)

R = Results("load")
PART = sys.argv[1]
POOL = int(sys.argv[2]) if len(sys.argv) > 2 else 10

# Server connections of the pool under test, as PostgreSQL itself sees them.
POOL_BACKENDS = ("SELECT count(*) FROM pg_stat_activity "
                 f"WHERE usename = '{USER}' AND datname = '{TEST_DB}' AND backend_type = 'client backend'")
ACTIVE_SLEEPS = ("SELECT count(*) FROM pg_stat_activity WHERE usename = %s AND datname = %s "
                 "AND state = 'active' AND query LIKE %s")


def raise_fd_limit() -> None:
    # 1,000 sockets do not fit the usual soft limit of 1024 descriptors of this (client) process.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or hard > soft):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def pg(sql: str, *args: Any) -> list[tuple]:
    """A query on PostgreSQL directly (superuser over its own socket, in the test database), never through the proxy."""
    with psycopg.connect(superuser_dsn(TEST_DB), autocommit=True) as c:
        return c.execute(sql, args).fetchall()


def pool_row() -> dict[str, str | None] | None:
    """SHOW POOLS row of pgswift_test/scram_user from the admin console (None: the proxy lists no such pool)."""
    # Database "pgbouncer": PgBouncer 1.18 knows its console by no other name.
    conn = pgwire.RawConn.connect(PROXY_HOST, PROXY_PORT, timeout=10)
    try:
        conn.login("pgswift_admin", "pgbouncer", "admin_pw")
        conn.send(pgwire.message(b"Q", pgwire.cstr("SHOW POOLS")))
        names: list[str] = []
        rows: list[tuple[str | None, ...]] = []
        for f in conn.read_until_ready(10):
            if f.type == "T":
                (n,) = struct.unpack("!H", f.body[:2])
                pos = 2
                for _ in range(n):
                    end = f.body.index(b"\0", pos)
                    names.append(f.body[pos:end].decode())
                    pos = end + 19  # name's NUL, then table oid, attnum, type oid, typlen, typmod, format
            elif f.type == "D":
                rows.append(pgwire.data_row_values(f.body))
            elif f.type == "E":
                raise pgwire.ServerError(f.error_fields())
        conn.terminate()
    finally:
        conn.close()
    for r in rows:
        d = dict(zip(names, r))
        if (d.get("database"), d.get("user")) == (TEST_DB, USER):
            return d
    return None


def pool_drained(what: str) -> None:
    """After every client left: SHOW POOLS counts no client, active or waiting, and no active server."""
    last: list[Any] = [None]

    def drained() -> bool:
        last[0] = row = pool_row()
        return row is None or all(row.get(k) == "0" for k in ("cl_active", "cl_waiting", "sv_active"))
    ok = wait_for(drained, 15, 0.3)
    print(f"{what}: SHOW POOLS afterwards {last[0]}", file=sys.stderr)
    expect(ok, f"{what}: SHOW POOLS still counts clients or active servers: {last[0]}")


class Sampler:
    """Samples the pool's server connections in pg_stat_activity every 20 ms on a thread of its own."""

    def __init__(self) -> None:
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._conn = psycopg.connect(superuser_dsn(TEST_DB), autocommit=True)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(self._conn.execute(POOL_BACKENDS).fetchone()[0])
            self._stop.wait(0.02)

    def __enter__(self) -> "Sampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(5)
        self._conn.close()

    def check(self, limit: int) -> None:
        peak = max(self.samples, default=0)
        print(f"server connections: peak {peak} over {len(self.samples)} samples", file=sys.stderr)
        expect(len(self.samples) >= 10, f"only {len(self.samples)} samples of pg_stat_activity")
        expect(1 <= peak <= limit, f"peak of {peak} server connections for a pool of {limit}")


def first(errors: list[str]) -> str:
    return f"{len(errors)} errors, e.g. " + " | ".join(errors[:3])


# --- 1,000 clients ---------------------------------------------------------------------

N_CLIENTS = 1000


async def client_work(c: asyncpg.Connection, k: int) -> None:
    for i in range(5):
        v = k * 10 + i
        got = await c.fetchval("SELECT $1::int + 1", v)
        expect(got == v + 1, f"client {k}: SELECT {v} + 1 gave {got}")
    async with c.transaction():
        await c.execute("INSERT INTO it_load VALUES ($1, $2)", k, k * 7)
        got = await c.fetchval("SELECT v FROM it_load WHERE client = $1", k)
        expect(got == k * 7, f"client {k}: its own uncommitted row reads {got}")


def thousand_clients() -> None:
    state: dict[str, Any] = {}

    async def connect(k: int) -> asyncpg.Connection:
        # statement_cache_size=0: unnamed statements only, which any transaction-mode pooler carries.
        return await asyncpg.connect(host=PROXY_HOST, port=PROXY_PORT, user=USER, password=PASSWORD, database=TEST_DB,
                                     ssl=False, statement_cache_size=0, timeout=40)

    async def run() -> None:
        setup = await connect(-1)
        await setup.execute("DROP TABLE IF EXISTS it_load; CREATE TABLE it_load (client int PRIMARY KEY, v int NOT NULL)")
        await setup.close()
        # Nothing else of this pool may still hold servers, or the sampler would count it.
        expect(wait_for(lambda: pg(POOL_BACKENDS)[0][0] <= POOL, 10), "servers of earlier checks still around")
        with Sampler() as sampler:
            t0 = time.monotonic()
            got = await asyncio.gather(*(connect(k) for k in range(N_CLIENTS)), return_exceptions=True)
            conns = [c for c in got if isinstance(c, asyncpg.Connection)]
            errors = [f"connect: {type(e).__name__}: {e}" for e in got if not isinstance(e, asyncpg.Connection)]
            print(f"{len(conns)} clients connected in {time.monotonic() - t0:.1f}s", file=sys.stderr)
            try:
                if not errors:
                    # All of them logged in at once: the proxy counts every one as a client of the pool.
                    row = await asyncio.to_thread(pool_row)
                    print(f"SHOW POOLS with all clients connected: {row}", file=sys.stderr)
                    counted = int(row["cl_active"]) + int(row["cl_waiting"]) if row else 0
                    if counted != N_CLIENTS:
                        errors.append(f"SHOW POOLS counts {counted} clients with {N_CLIENTS} connected: {row}")
                t1 = time.monotonic()
                done = await asyncio.gather(*(client_work(c, k) for k, c in enumerate(got)
                                              if isinstance(c, asyncpg.Connection)), return_exceptions=True)
                errors += [f"{type(e).__name__}: {e}" for e in done if e is not None]
                print(f"workload of {len(conns)} clients took {time.monotonic() - t1:.1f}s", file=sys.stderr)
            finally:
                await asyncio.gather(*(c.close(timeout=10) for c in conns), return_exceptions=True)
        state["sampler"] = sampler
        expect(not errors, first(errors))
        expect(len(conns) == N_CLIENTS, f"{len(conns)} clients connected")

    raise_fd_limit()
    ok = R.run("1000_clients", lambda: asyncio.run(asyncio.wait_for(run(), 120)))
    # Rows are only worth counting when every client ran; the sampler and SHOW POOLS have a say either way.
    R.run("1000_clients_rows", rows_committed, skip=None if ok else "the 1,000-client run failed")
    R.run("1000_clients_servers_within_pool", lambda: state["sampler"].check(POOL),
          skip=None if "sampler" in state else "the 1,000-client run failed before sampling")
    R.run("1000_clients_pool_drained", lambda: pool_drained("after 1,000 clients"))


def rows_committed() -> None:
    # Every client's transaction committed its one row with its own value.
    total, right = pg("SELECT count(*), count(*) FILTER (WHERE v = client * 7) FROM it_load")[0]
    expect((total, right) == (N_CLIENTS, N_CLIENTS), f"it_load has {total} rows, {right} with their client's value")


# --- cancel storms -------------------------------------------------------------------

SLEEPERS, NORMALS, ROUNDS = 50, 8, 5


async def aconnect() -> psycopg.AsyncConnection:
    # prepare_threshold=None: the same statements run many times, and PgBouncer 1.18 cannot carry named ones.
    return await psycopg.AsyncConnection.connect(host=PROXY_HOST, port=PROXY_PORT, dbname=TEST_DB, user=USER,
                                                 password=PASSWORD, connect_timeout=30, autocommit=True,
                                                 prepare_threshold=None)


async def cancel_and_wait(c: psycopg.AsyncConnection, task: asyncio.Future, what: str, errors: list[str]) -> float | None:
    """Cancel c's running statement; return the seconds until it failed with 57014 (None, and an error noted, if not)."""
    t0 = time.monotonic()
    try:
        await c.cancel_safe(timeout=5)
        await asyncio.wait_for(task, 9)
        errors.append(f"{what}: not cancelled (the statement completed)")
    except psycopg.errors.QueryCanceled:
        return time.monotonic() - t0
    except asyncio.TimeoutError:
        errors.append(f"{what}: no answer 9 s after the cancel")
    except Exception as e:  # noqa: BLE001 - any other outcome is wrong, and noted
        errors.append(f"{what}: {type(e).__name__} {getattr(e, 'sqlstate', None)}: {e}")
    return None


def server_side_clean(what: str) -> None:
    """No pg_sleep still running and no more server connections than the pool (the proxy leaked none)."""
    last: list[Any] = [None]

    def clean() -> bool:
        last[0] = (pg(ACTIVE_SLEEPS, USER, TEST_DB, "%pg_sleep%")[0][0], pg(POOL_BACKENDS)[0][0],
                   pg("SELECT count(*) FROM pg_stat_activity WHERE usename = %s AND state LIKE 'idle in transaction%%'",
                      USER)[0][0])
        return last[0][0] == 0 and last[0][1] <= POOL and last[0][2] == 0
    ok = wait_for(clean, 10, 0.3)
    print(f"{what}: running pg_sleep, server connections, idle in transaction: {last[0]}", file=sys.stderr)
    expect(ok, f"{what}: {last[0][0]} pg_sleep still running, {last[0][1]} server connections (pool {POOL}), "
               f"{last[0][2]} idle in transaction")


def still_serves() -> None:
    with psycopg.connect(host=PROXY_HOST, port=PROXY_PORT, dbname=TEST_DB, user=USER, password=PASSWORD,
                         connect_timeout=10, autocommit=True) as c:
        expect(c.execute("SELECT 40 + 2").fetchone() == (42,), "a new client's query")


def cancel_storm(name: str) -> None:
    state: dict[str, Any] = {}

    async def run() -> None:
        sleepers = list(await asyncio.gather(*(aconnect() for _ in range(SLEEPERS))))
        normals = list(await asyncio.gather(*(aconnect() for _ in range(NORMALS))))
        everyone = sleepers + normals
        if POOL >= len(everyone):
            # A server for every client before the storm: PgBouncer 1.18 drops a cancel for a client that still
            # waits for one (or for its login), so with this pool every cancel has to meet a running query.
            for _ in range(5):
                await asyncio.gather(*(c.execute("SELECT pg_sleep(0.3)") for c in everyone))
                if pg(POOL_BACKENDS)[0][0] >= len(everyone):
                    break
            print(f"servers before the storm: {pg(POOL_BACKENDS)[0][0]}", file=sys.stderr)
        errors: list[str] = []
        misdirected: list[str] = []
        cancel_times: list[float] = []
        normal_counts = [0] * NORMALS
        barrier = asyncio.Barrier(SLEEPERS)
        stop = asyncio.Event()

        async def sleeper(k: int, c: psycopg.AsyncConnection) -> None:
            # Every round starts together, so the cancels come in bursts; nothing escapes, or the barrier would hang.
            for r in range(ROUNDS):
                await barrier.wait()
                task = asyncio.ensure_future(c.execute("SELECT pg_sleep(10)"))
                await asyncio.sleep(random.uniform(0.1, 0.4))
                if task.done():
                    # Cancelled before it asked: another client's cancel reached the server running this query.
                    early = task.exception()
                    (misdirected if isinstance(early, psycopg.errors.QueryCanceled) else errors).append(
                        f"sleeper {k} round {r}: ended before its own cancel: {early!r}")
                    continue
                took = await cancel_and_wait(c, task, f"sleeper {k} round {r}", errors)
                if took is not None:
                    cancel_times.append(took)

        async def normal(k: int, c: psycopg.AsyncConnection) -> None:
            # Its own value each time: an answer meant for another client, or a cancel meant for one, shows.
            n = 0
            while not stop.is_set():
                v = k * 100_000 + n
                try:
                    cur = await c.execute("SELECT pg_sleep(0.2), %s::int", (v,))
                    row = await cur.fetchone()
                    if row is None or row[1] != v:
                        errors.append(f"normal client {k}: SELECT ..., {v} returned {row}")
                except psycopg.errors.QueryCanceled as e:
                    # PostgreSQL names its source (ProcessInterrupts): a cancel reached the server running this
                    # query; without one the proxy answered for a query it held.
                    misdirected.append(f"normal client {k} query {n} ({e.diag.source_function or 'no source'}): {e}")
                except Exception as e:  # noqa: BLE001 - noted; this client stops
                    errors.append(f"normal client {k} query {n}: {type(e).__name__}: {e}")
                    return
                n += 1
            normal_counts[k] = n

        with Sampler() as sampler:
            t0 = time.monotonic()
            busy = [asyncio.ensure_future(normal(k, c)) for k, c in enumerate(normals)]
            await asyncio.gather(*(sleeper(k, c) for k, c in enumerate(sleepers)))
            stop.set()
            await asyncio.gather(*busy)
            print(f"storm took {time.monotonic() - t0:.1f}s; normal queries per client {normal_counts}", file=sys.stderr)
        state["sampler"] = sampler
        # Every connection is still usable after its cancels.
        for k, c in enumerate(everyone):
            try:
                got = await (await c.execute("SELECT %s::int", (k,))).fetchone()
                if got != (k,):
                    errors.append(f"client {k} after the storm: {got}")
            except Exception as e:  # noqa: BLE001
                errors.append(f"client {k} after the storm: {type(e).__name__}: {e}")
        await asyncio.gather(*(c.close() for c in everyone), return_exceptions=True)

        for line in misdirected + errors:
            print(line, file=sys.stderr)
        if cancel_times:
            print(f"{len(cancel_times)} cancels answered: median {statistics.median(cancel_times):.3f}s, "
                  f"max {max(cancel_times):.3f}s", file=sys.stderr)
        expect(not misdirected, f"a cancel hit another client's query: {first(misdirected)}")
        expect(not errors, first(errors))
        expect(len(cancel_times) == SLEEPERS * ROUNDS, f"{len(cancel_times)} of {SLEEPERS * ROUNDS} cancels answered")
        expect(max(cancel_times) < 5, f"slowest cancel took {max(cancel_times):.1f}s")
        expect(min(normal_counts) >= 3, f"normal clients ran too few queries: {normal_counts}")

    R.run(name, lambda: asyncio.run(asyncio.wait_for(run(), 150)))

    def after() -> None:
        if "sampler" in state:
            state["sampler"].check(POOL)
        server_side_clean(f"after {name}")
        pool_drained(f"after {name}")
        still_serves()
    R.run(f"{name}_after", after)


# --- cancels of queued clients -------------------------------------------------------

QUEUED = 30


def queued_cancel() -> None:
    async def run() -> None:
        holders = list(await asyncio.gather(*(aconnect() for _ in range(POOL))))
        # Logged in before the pool is exhausted: only their queries have to wait.
        waiters = list(await asyncio.gather(*(aconnect() for _ in range(QUEUED))))
        errors: list[str] = []
        try:
            held = [asyncio.ensure_future(h.execute("SELECT pg_sleep(4), %s::int", (k,))) for k, h in enumerate(holders)]
            t_held = time.monotonic()
            ok = await asyncio.to_thread(
                wait_for, lambda: pg(ACTIVE_SLEEPS, USER, TEST_DB, "%pg_sleep(4)%")[0][0] == POOL, 3, 0.05)
            expect(ok, "the holders' pg_sleep(4) did not all start")
            queued = [asyncio.ensure_future(w.execute("SELECT pg_sleep(10)")) for w in waiters]
            # A raw client queued with half a Query sent: its cancel finds no request to stop, and once the rest of
            # the message arrives the query runs normally (the half kept, not thrown away mid-message).
            raw = await asyncio.to_thread(pgwire.RawConn.connect, PROXY_HOST, PROXY_PORT)
            await asyncio.to_thread(raw.login, USER, TEST_DB, PASSWORD)
            whole = pgwire.message(b"Q", pgwire.cstr("SELECT 'whole' || 41 + 1"))
            await asyncio.to_thread(raw.send, whole[:9])
            await asyncio.sleep(0.3)
            pid, key = raw.backend_key
            cancel = socket.create_connection((PROXY_HOST, PROXY_PORT), timeout=5)
            cancel.sendall(struct.pack("!IIIi", 16, 80877102, pid, key))
            await asyncio.sleep(0.3)
            cancel.close()
            await asyncio.to_thread(raw.send, whole[9:])
            await asyncio.sleep(0.2)
            row = await asyncio.to_thread(pool_row)
            print(f"SHOW POOLS with the queue: {row}", file=sys.stderr)
            expect(row is not None and int(row["cl_waiting"]) == QUEUED + 1, f"{QUEUED + 1} clients should wait: {row}")
            expect(not any(t.done() for t in queued), "a queued query ended before its cancel")
            # All at once: the queue is cancelled while every server runs a holder's query.
            times = await asyncio.gather(*(cancel_and_wait(w, t, f"queued client {k}", errors)
                                           for k, (w, t) in enumerate(zip(waiters, queued))))
            answered = time.monotonic() - t_held
            got = [t for t in times if t is not None]
            if got:
                print(f"{len(got)} queued cancels answered: max {max(got):.3f}s, "
                      f"{answered:.2f}s after the holders started", file=sys.stderr)
            expect(not errors, first(errors))
            expect(max(got) < 2, f"slowest queued cancel took {max(got):.1f}s")
            # Answered from the queue, not by a server: the holders (4 s) were still running.
            expect(not any(t.done() for t in held), f"holders finished before the queue was answered ({answered:.1f}s)")
            results = await asyncio.gather(*held, return_exceptions=True)
            for k, res in enumerate(results):
                if isinstance(res, BaseException):
                    errors.append(f"holder {k}: {type(res).__name__}: {res}")
                else:
                    r = await res.fetchone()
                    if r is None or r[1] != k:
                        errors.append(f"holder {k}: got {r}")
            frames = await asyncio.to_thread(raw.read_until_ready)
            got_raw = [pgwire.data_row_values(f.body) for f in frames if f.type == "D"]
            if got_raw != [("whole42",)] or any(f.type == "E" for f in frames):
                errors.append(f"half-sent query cancelled or garbled: {[(f.type, f.body[:60]) for f in frames]}")
            if await asyncio.to_thread(raw.simple_query, "SELECT 'after'") != [("after",)]:
                errors.append("the raw client is out of step after the half-sent query")
            await asyncio.to_thread(raw.terminate)
            for k, w in enumerate(waiters):
                r = await (await w.execute("SELECT %s::int", (k,))).fetchone()
                if r != (k,):
                    errors.append(f"queued client {k} afterwards: {r}")
            expect(not errors, first(errors))
        finally:
            await asyncio.gather(*(c.close() for c in holders + waiters), return_exceptions=True)

    R.run("cancel_queued", lambda: asyncio.run(asyncio.wait_for(run(), 60)))
    R.run("cancel_queued_after", lambda: (server_side_clean("after cancel_queued"), pool_drained("after cancel_queued")))


# --- a server handed over right after a cancel -----------------------------------------

def cancel_handover() -> None:
    # Every server runs a query that is cancelled while another client waits for that server: the cancel must end
    # with the query it was meant for.  PostgreSQL signals a backend twice per CancelRequest (its pid and its process
    # group), and a forwarded cancel may be slow to arrive, so a proxy that hands the server on before PostgreSQL has
    # closed the cancel connection lets it hit the next client's query (PgBouncer 1.18 holds the server until then).
    async def run() -> None:
        holders = list(await asyncio.gather(*(aconnect() for _ in range(POOL))))
        followers = list(await asyncio.gather(*(aconnect() for _ in range(POOL))))
        errors: list[str] = []
        try:
            for r in range(5):
                held = [asyncio.ensure_future(h.execute("SELECT pg_sleep(10)")) for h in holders]
                ok = await asyncio.to_thread(
                    wait_for, lambda: pg(ACTIVE_SLEEPS, USER, TEST_DB, "%pg_sleep(10)%")[0][0] == POOL, 3, 0.05)
                expect(ok, f"round {r}: the holders' queries did not all start")
                waiting = [asyncio.ensure_future(f.execute("SELECT pg_sleep(0.3), %s::int", (r * 100 + k,)))
                           for k, f in enumerate(followers)]
                await asyncio.sleep(0.2)
                # One at a time, so that each freed server goes straight to a follower.
                for k, (h, t) in enumerate(zip(holders, held)):
                    await cancel_and_wait(h, t, f"round {r} holder {k}", errors)
                for k, t in enumerate(waiting):
                    try:
                        row = await (await t).fetchone()
                        if row is None or row[1] != r * 100 + k:
                            errors.append(f"round {r} follower {k}: {row}")
                    except Exception as e:  # noqa: BLE001 - noted
                        errors.append(f"round {r} follower {k}: {type(e).__name__} "
                                      f"({getattr(getattr(e, 'diag', None), 'source_function', None)}): {e}")
            for line in errors:
                print(line, file=sys.stderr)
            expect(not errors, first(errors))
        finally:
            await asyncio.gather(*(c.close() for c in holders + followers), return_exceptions=True)

    R.run("cancel_handover", lambda: asyncio.run(asyncio.wait_for(run(), 90)))


def cancel_near_miss() -> None:
    # Cancels that race their query's own end (a short sleep, cancelled at a random moment around it) while other
    # clients wait for the servers: one that arrives too late must come to nothing, never to the next client's query.
    async def run() -> None:
        holders = list(await asyncio.gather(*(aconnect() for _ in range(POOL))))
        followers = list(await asyncio.gather(*(aconnect() for _ in range(POOL))))
        errors: list[str] = []
        outcomes = {"completed": 0, "cancelled": 0}

        async def holder(k: int, c: psycopg.AsyncConnection) -> None:
            task = asyncio.ensure_future(c.execute(f"SELECT pg_sleep({random.uniform(0.01, 0.05):.3f})"))
            await asyncio.sleep(random.uniform(0.005, 0.06))
            if not task.done():
                await c.cancel_safe(timeout=5)
            try:
                await asyncio.wait_for(task, 5)
                outcomes["completed"] += 1
            except psycopg.errors.QueryCanceled:
                outcomes["cancelled"] += 1
            except Exception as e:  # noqa: BLE001 - noted
                errors.append(f"holder {k}: {type(e).__name__}: {e}")

        async def follower(r: int, k: int, c: psycopg.AsyncConnection) -> None:
            v = r * 100 + k
            try:
                row = await (await c.execute("SELECT pg_sleep(0.05), %s::int", (v,))).fetchone()
                if row is None or row[1] != v:
                    errors.append(f"round {r} follower {k}: {row}")
            except Exception as e:  # noqa: BLE001 - noted
                errors.append(f"round {r} follower {k}: {type(e).__name__} "
                              f"({getattr(getattr(e, 'diag', None), 'source_function', None)}): {e}")

        try:
            for r in range(20):
                hs = [asyncio.ensure_future(holder(k, h)) for k, h in enumerate(holders)]
                await asyncio.sleep(0.003)  # the holders' queries go first, the followers queue behind them
                await asyncio.gather(*hs, *(follower(r, k, f) for k, f in enumerate(followers)))
            print(f"near-miss holders: {outcomes}", file=sys.stderr)
            for line in errors:
                print(line, file=sys.stderr)
            expect(not errors, first(errors))
        finally:
            await asyncio.gather(*(c.close() for c in holders + followers), return_exceptions=True)

    R.run("cancel_near_miss", lambda: asyncio.run(asyncio.wait_for(run(), 90)))


PGB_QUEUE = "PgBouncer 1.18 ignores a cancel for a client waiting for a server"
if PART == "clients":
    thousand_clients()
elif PART == "storm":
    name = "cancel_storm" if POOL >= SLEEPERS + NORMALS else "cancel_storm_small_pool"
    if is_pgbouncer() and POOL < SLEEPERS + NORMALS:
        R.skip(name, PGB_QUEUE)
        R.skip(f"{name}_after", PGB_QUEUE)
    else:
        cancel_storm(name)
elif PART == "handover":
    cancel_handover()
    cancel_near_miss()
elif PART == "queued":
    if is_pgbouncer():
        R.skip("cancel_queued", PGB_QUEUE)
        R.skip("cancel_queued_after", PGB_QUEUE)
    else:
        queued_cancel()
else:
    raise SystemExit(f"unknown part {PART!r}")
R.exit()
