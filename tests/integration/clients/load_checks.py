"""Load through the proxy in transaction mode: 1,000 concurrent clients on a pool of 10, and cancel storms.

usage: load_checks.py clients | storm POOL_SIZE | queued
  clients  (pool of 10) 1,000 asyncpg clients at once, each with its own values and row, while
           pg_stat_activity is sampled; afterwards SHOW POOLS has no client left
  storm    50 clients start pg_sleep(10) and cancel it, 5 rounds, while 8 others run short queries;
           POOL_SIZE is the proxy's default_pool_size: 60 (every sleeper gets a server, so every
           cancel meets a running query) or 10 (most cancels meet a client still queued)
  queued   (pool of 10) all servers busy; 30 queued clients are cancelled and must get 57014 at once
checks/load.sh starts the proxies (admin_users = pgswift_admin, for SHOW POOLS).
"""

from __future__ import annotations

import asyncio
import random
import resource
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
                                     ssl=False, statement_cache_size=0, timeout=40,
                                     server_settings={"application_name": f"it-load-{k}"})

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
    # The other two verdicts are about the same run; without it they have nothing to judge.
    skip = None if ok else "the 1,000-client run failed"
    R.run("1000_clients_rows", rows_committed, skip=skip)
    R.run("1000_clients_servers_within_pool", lambda: state["sampler"].check(POOL), skip=skip if "sampler" not in state else None)
    R.run("1000_clients_pool_drained", lambda: pool_drained("after 1,000 clients"), skip=skip)


def rows_committed() -> None:
    # Every client's transaction committed its one row with its own value.
    total, right = pg("SELECT count(*), count(*) FILTER (WHERE v = client * 7) FROM it_load")[0]
    expect((total, right) == (N_CLIENTS, N_CLIENTS), f"it_load has {total} rows, {right} with their client's value")
