"""Read/write splitting with real drivers (checks/routing.sh): asyncpg and psycopg 3 in transaction mode.

usage: routing_checks.py DATABASE REPLICA_PORT REPLICA_PORT

DATABASE is an entry over the primary and two streaming replicas with read_write_split on; the table
it_routing_py (client text, n int) exists and both replicas have it.  Each client writes rows with
parameters and reads them back with the same (cached, named) statements in a loop: every read sees the
client's own writes, wherever it ran.  Then, once the health checks have seen both replicas replay the
writes, the same statements run on the replicas: a statement prepared on one node runs on another.
"""

from __future__ import annotations

import asyncio
import sys
import time

import asyncpg
import psycopg

from harness import PASSWORD, PG_PORT, PROXY_HOST, PROXY_PORT, USER, Results, expect
from pgwire import RawConn, cstr, data_row_values, message

DB = sys.argv[1]
REPLICAS = {int(sys.argv[2]), int(sys.argv[3])}
ROUNDS = 40
# Long enough for a health check (health_check_period = 1) to find both replicas past the last write.
SETTLE = 2.5
R = Results("routing")

READ = "SELECT count(*), max(n), inet_server_port(), pg_is_in_recovery() FROM it_routing_py WHERE client = $1"


def asyncpg_split() -> None:
    async def run() -> None:
        conn = await asyncpg.connect(host=PROXY_HOST, port=PROXY_PORT, user=USER, password=PASSWORD, database=DB,
                                     ssl=False)  # the default statement cache: named statements
        nodes: set[int] = set()
        try:
            await conn.execute("DELETE FROM it_routing_py WHERE client = $1", "asyncpg")
            for n in range(1, ROUNDS + 1):
                port = await conn.fetchval("INSERT INTO it_routing_py (client, n) VALUES ($1, $2) RETURNING inet_server_port()",
                                           "asyncpg", n)
                expect(port == PG_PORT, f"insert {n} ran on port {port}, not the primary's {PG_PORT}")
                count, top, port, _ = await conn.fetchrow(READ, "asyncpg")
                expect((count, top) == (n, n), f"read after insert {n} on port {port} saw count {count}, max {top}")
                nodes.add(port)
            # A transaction: the primary, seeing its own uncommitted row.
            async with conn.transaction():
                await conn.execute("INSERT INTO it_routing_py (client, n) VALUES ($1, $2)", "asyncpg", ROUNDS + 1)
                count, _, port, standby = await conn.fetchrow(READ, "asyncpg")
                expect((count, port, standby) == (ROUNDS + 1, PG_PORT, False),
                       f"inside a transaction: count {count} on port {port} (in recovery {standby})")
            await asyncio.sleep(SETTLE)
            stmt = await conn.prepare("SELECT count(*), inet_server_port(), pg_is_in_recovery() FROM it_routing_py "
                                      "WHERE client = $1 AND n <= $2")
            replicas: set[int] = set()
            for i in range(10):
                count, top, port, standby = await conn.fetchrow(READ, "asyncpg")
                expect((count, top) == (ROUNDS + 1, ROUNDS + 1), f"settled read {i} on port {port}: count {count}, max {top}")
                nodes.add(port)
                if standby:
                    replicas.add(port)
                count, port, standby = await stmt.fetchrow("asyncpg", ROUNDS + 1)
                expect(count == ROUNDS + 1, f"prepared statement read {i} on port {port}: count {count}")
                if standby:
                    replicas.add(port)
            print(f"asyncpg: cached read statement ran on {sorted(nodes)}, replicas used {sorted(replicas)}", file=sys.stderr)
            expect(replicas and replicas <= REPLICAS, f"settled reads used replicas {sorted(replicas)} (want some of {sorted(REPLICAS)})")
            expect(len(nodes) >= 2, f"the cached read statement ran only on {sorted(nodes)}")
        finally:
            await conn.close()
    asyncio.run(run())


def psycopg_split() -> None:
    # prepare_threshold=0: every statement is a named one from its first run; autocommit, or every statement
    # would open a transaction (and go to the primary).
    with psycopg.connect(host=PROXY_HOST, port=PROXY_PORT, dbname=DB, user=USER, password=PASSWORD, connect_timeout=10,
                         sslmode="disable", prepare_threshold=0, autocommit=True) as c:
        read = READ.replace("$1", "%s")
        nodes: set[int] = set()
        c.execute("DELETE FROM it_routing_py WHERE client = %s", ("psycopg",))
        for n in range(1, ROUNDS + 1):
            port = c.execute("INSERT INTO it_routing_py (client, n) VALUES (%s, %s) RETURNING inet_server_port()",
                             ("psycopg", n)).fetchone()[0]
            expect(port == PG_PORT, f"insert {n} ran on port {port}, not the primary's {PG_PORT}")
            count, top, port, _ = c.execute(read, ("psycopg",)).fetchone()
            expect((count, top) == (n, n), f"read after insert {n} on port {port} saw count {count}, max {top}")
            nodes.add(port)
        with c.transaction():
            c.execute("INSERT INTO it_routing_py (client, n) VALUES (%s, %s)", ("psycopg", ROUNDS + 1))
            count, _, port, standby = c.execute(read, ("psycopg",)).fetchone()
            expect((count, port, standby) == (ROUNDS + 1, PG_PORT, False),
                   f"inside a transaction: count {count} on port {port} (in recovery {standby})")
        time.sleep(SETTLE)
        replicas: set[int] = set()
        for i in range(10):
            count, top, port, standby = c.execute(read, ("psycopg",)).fetchone()
            expect((count, top) == (ROUNDS + 1, ROUNDS + 1), f"settled read {i} on port {port}: count {count}, max {top}")
            nodes.add(port)
            if standby:
                replicas.add(port)
        print(f"psycopg: read statement ran on {sorted(nodes)}, replicas used {sorted(replicas)}", file=sys.stderr)
        expect(replicas and replicas <= REPLICAS, f"settled reads used replicas {sorted(replicas)} (want some of {sorted(REPLICAS)})")
        expect(len(nodes) >= 2, f"the read statement ran only on {sorted(nodes)}")


def pipelined_write() -> None:
    # A client that does not wait: a slow read (on a replica), then 50 ms later, before its answer, a write. The
    # replica's link takes the read only; the write waits for the read's answer and is routed on its own, to the
    # primary (on the replica it would fail with 25006). psycopg's pipeline mode cannot show it: its sync() waits for
    # the results, so this speaks the protocol itself.
    reads: list[tuple[str | None, ...]] = []
    for i in range(3):
        conn = RawConn.connect(PROXY_HOST, PROXY_PORT)
        try:
            conn.login(USER, DB, PASSWORD)
            conn.send(message(b"Q", cstr("SELECT inet_server_port(), pg_is_in_recovery() FROM pg_sleep(0.3)")))
            time.sleep(0.05)
            conn.send(message(b"Q", cstr(f"INSERT INTO it_routing_py (client, n) VALUES ('pipelined', {i}) RETURNING inet_server_port()")))
            answers: list[list[tuple[str | None, ...]]] = []
            for _ in range(2):
                rows: list[tuple[str | None, ...]] = []
                for f in conn.read_until_ready():
                    if f.type == "E":
                        expect(False, f"pipelined query {len(answers) + 1} failed: {f.error_fields().get('M')}")
                    if f.type == "D":
                        rows.append(data_row_values(f.body))
                answers.append(rows)
            reads.append(answers[0][0] if answers[0] else (None, None))
            written = answers[1][0][0] if answers[1] else None
            expect(written == str(PG_PORT), f"pipelined write {i} ran on port {written}, not the primary's {PG_PORT}")
        finally:
            conn.terminate()
    print(f"pipelined reads ran on {reads}", file=sys.stderr)
    expect(any(standby == "t" and port is not None and int(port) in REPLICAS for port, standby in reads),
           f"no pipelined read ran on a replica: {reads}")


R.run("asyncpg", asyncpg_split)
R.run("psycopg", psycopg_split)
R.run("pipelined_write", pipelined_write)
R.exit()
