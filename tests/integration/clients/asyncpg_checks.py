"""asyncpg through the proxy: queries, transactions, COPY, LISTEN/NOTIFY and cancel-on-timeout."""

from __future__ import annotations

import asyncio
import io
import os
import sys
import time

import asyncpg

from harness import PASSWORD, PROXY_HOST, PROXY_PORT, TEST_DB, USER, Results, expect

R = Results("asyncpg")
TABLE = f"it_asyncpg_{os.getpid()}"


async def connect() -> asyncpg.Connection:
    return await asyncpg.connect(host=PROXY_HOST, port=PROXY_PORT, user=USER, password=PASSWORD,
                                 database=TEST_DB, ssl=False, timeout=10, command_timeout=30)


async def main() -> None:
    conn = await connect()
    try:
        await conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
        await conn.execute(f"CREATE TABLE {TABLE} (id int PRIMARY KEY, label text)")

        async def fetch():
            rows = await conn.fetch("SELECT g AS n, g * 2 AS twice FROM generate_series(1, 5) AS g")
            expect([r["n"] for r in rows] == [1, 2, 3, 4, 5], f"rows: {rows}")
            expect(rows[4]["twice"] == 10, "computed column")
        await R.arun("fetch", fetch)

        async def fetchrow():
            row = await conn.fetchrow("SELECT $1::int + 1 AS x, $2::text AS t, $3::bytea AS b", 41, "hé", b"\x00\xff")
            expect(row["x"] == 42 and row["t"] == "hé" and row["b"] == b"\x00\xff", f"row: {row}")
            expect(await conn.fetchrow("SELECT 1 WHERE false") is None, "empty fetchrow should be None")
        await R.arun("fetchrow", fetchrow)

        async def transaction_rollback():
            class Boom(Exception):
                pass
            try:
                async with conn.transaction():
                    await conn.execute(f"INSERT INTO {TABLE} VALUES (1, 'rolled back')")
                    expect(await conn.fetchval(f"SELECT count(*) FROM {TABLE}") == 1, "row visible inside tx")
                    raise Boom()
            except Boom:
                pass
            expect(await conn.fetchval(f"SELECT count(*) FROM {TABLE}") == 0, "row survived rollback")
            expect(not conn.is_in_transaction(), "still in a transaction")
            async with conn.transaction():
                await conn.execute(f"INSERT INTO {TABLE} VALUES (1, 'kept')")
            expect(await conn.fetchval(f"SELECT label FROM {TABLE} WHERE id = 1") == "kept", "commit lost")
        await R.arun("transaction_rollback", transaction_rollback)

        async def executemany():
            await conn.executemany(f"INSERT INTO {TABLE} VALUES ($1, $2)", [(i, f"row {i}") for i in range(2, 202)])
            expect(await conn.fetchval(f"SELECT count(*) FROM {TABLE}") == 201, "executemany count")
        await R.arun("executemany", executemany)

        async def copy_in():
            n = await conn.copy_records_to_table(TABLE, records=[(i, f"copied {i}") for i in range(1000, 6000)],
                                                 columns=["id", "label"])
            expect(n.startswith("COPY") and n.endswith("5000"), f"status {n!r}")
            expect(await conn.fetchval(f"SELECT count(*) FROM {TABLE} WHERE id >= 1000") == 5000, "copied rows")
        await R.arun("copy_records_to_table", copy_in)

        async def copy_out():
            out = io.BytesIO()
            status = await conn.copy_from_query(f"SELECT id, label FROM {TABLE} WHERE id >= $1 ORDER BY id", 1000,
                                                output=out, format="csv")
            lines = out.getvalue().decode().splitlines()
            expect(len(lines) == 5000 and lines[0] == "1000,copied 1000", f"status {status}, {len(lines)} lines")
        await R.arun("copy_from_query", copy_out)

        async def listen_notify():
            listener = await connect()
            sender = await connect()
            try:
                got: asyncio.Future = asyncio.get_running_loop().create_future()

                def on_notify(_conn, _pid, channel, payload):
                    if not got.done():
                        got.set_result((channel, payload))
                await listener.add_listener("pgswift_it", on_notify)
                await sender.execute("SELECT pg_notify('pgswift_it', 'hello from asyncpg')")
                channel, payload = await asyncio.wait_for(got, timeout=5)
                expect(payload == "hello from asyncpg", f"payload {payload!r}")
                await listener.remove_listener("pgswift_it", on_notify)
            finally:
                await listener.close()
                await sender.close()
        await R.arun("listen_notify", listen_notify)

        async def cancel_on_timeout():
            t0 = time.monotonic()
            try:
                await conn.fetchval("SELECT pg_sleep(10)", timeout=1.0)
            except (asyncio.TimeoutError, TimeoutError):
                raised = time.monotonic() - t0
            else:
                raise AssertionError("pg_sleep(10) returned instead of timing out")
            expect(raised < 2.0, f"TimeoutError only after {raised:.2f}s (timeout 1 s)")
            # asyncpg sends a CancelRequest on timeout; the next query waits until the
            # cancelled query has ended, so this measures the proxy forwarding the cancel.
            expect(await conn.fetchval("SELECT 42", timeout=5) == 42, "connection unusable after cancel")
            elapsed = time.monotonic() - t0
            print(f"TimeoutError after {raised:.2f}s, usable again after {elapsed:.2f}s", file=sys.stderr)
            expect(elapsed < 3.0, f"query not cancelled: connection busy for {elapsed:.2f}s (want < 3 s)")
        await R.arun("cancel_timeout", cancel_on_timeout)

        async def usable_after_cancel():
            rows = await conn.fetch("SELECT g FROM generate_series(1, 3) g")
            expect(len(rows) == 3, "after cancel")
            expect(not conn.is_in_transaction(), "left in a transaction")
        await R.arun("after_cancel", usable_after_cancel)
    finally:
        try:
            await conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
        finally:
            await conn.close()


if __name__ == "__main__":
    asyncio.run(R.arun("session", main, timeout=300))
    R.exit()
