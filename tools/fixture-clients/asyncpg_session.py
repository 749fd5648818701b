#!/usr/bin/env python3
"""One short asyncpg session for the wire-protocol fixtures.

Covers: fetch with parameters, an explicit prepared statement, executemany,
a transaction with a cursor (Execute with a row limit -> PortalSuspended),
copy_records_to_table (COPY FROM STDIN, binary), copy_from_query
(COPY TO STDOUT), LISTEN/NOTIFY, an error, and a pg_sleep cancelled by a
client-side timeout (asyncpg sends CancelRequest on a new connection).
"""

import argparse
import asyncio
import io
import sys

import asyncpg


async def run(args) -> None:
    conn = await asyncpg.connect(host=args.host, port=args.port, user=args.user,
                                 password=args.password, database=args.database)
    try:
        await conn.fetch("select $1::int + $2::int as sum, $3::text as label", 20, 22, "answer")

        stmt = await conn.prepare("select n, n * n as square from generate_series(1, $1::int) as n")
        await stmt.fetch(3)
        await stmt.fetchval(2)

        await conn.execute("create temp table apg_items(id int primary key, name text)")
        await conn.executemany("insert into apg_items(id, name) values ($1, $2)",
                               [(1, "one"), (2, "two"), (3, "three")])

        async with conn.transaction():
            await conn.execute("update apg_items set name = upper(name) where id = $1", 2)
            async for _ in conn.cursor("select id, name from apg_items order by id", prefetch=2):
                pass

        await conn.execute("create temp table apg_copy(a int, b text)")
        await conn.copy_records_to_table("apg_copy", records=[(1, "uno"), (2, "dos")], columns=["a", "b"])
        out = io.BytesIO()
        await conn.copy_from_query("select a, b from apg_copy order by a", output=out)

        loop = asyncio.get_running_loop()
        got = loop.create_future()

        def on_notify(connection, pid, channel, payload):
            if not got.done():
                got.set_result(payload)

        await conn.add_listener("apg_channel", on_notify)
        await conn.execute("notify apg_channel, 'hello from asyncpg'")
        await asyncio.wait_for(got, 5)
        await conn.remove_listener("apg_channel", on_notify)

        try:
            await conn.fetchval("select 1 / $1::int", 0)
        except asyncpg.DivisionByZeroError:
            pass
        else:
            raise SystemExit("expected a division-by-zero error")

        try:
            await conn.fetchval("select pg_sleep(5)", timeout=0.5)
        except asyncio.TimeoutError:
            pass
        else:
            raise SystemExit("expected the pg_sleep to time out")

        await conn.fetchval("select 'still usable'")
    finally:
        await conn.close()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--database", required=True)
    asyncio.run(run(ap.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
