"""The result cache end to end (checks/cache.sh): real clients reading through pgswift with cache = on.

usage: cache_checks.py STATUS_PORT

checks/cache.sh starts one proxy in transaction mode with cache = on, cache_catalog_period = 1 and
[cache_rules] for the it_cache_* tables, which this script creates as the superuser (directly on
PostgreSQL).  A write made directly on PostgreSQL bypasses pgswift: a read answered from the cache
still returns the old rows, which is how these checks tell a hit from a miss; every write that goes
through pgswift must be seen by the next read.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import asyncpg
import psycopg

from harness import PASSWORD, PROXY_HOST, PROXY_PORT, TEST_DB, USER, Results, expect, proxy_dsn, superuser_dsn, wait_for
from pgwire import RawConn, bind_msg, cstr, data_row_values, execute_msg, message, parse_msg

R = Results("cache")
ADMIN, ADMIN_PW = "pgswift_admin", "admin_pw"

# The it_cache_* tables, views, policies and roles, made afresh by each run.
SETUP = (Path(__file__).parent / "cache_setup.sql").read_text()


def direct(sql: str, params: tuple = ()) -> None:
    """Runs `sql` on PostgreSQL itself, as the superuser: a write pgswift does not see."""
    with psycopg.connect(superuser_dsn(TEST_DB), autocommit=True) as c:
        c.execute(sql, params)


def client(**kw) -> psycopg.Connection:
    return psycopg.connect(proxy_dsn(**kw), autocommit=True)


def one(c: psycopg.Connection, sql: str, params: tuple = ()) -> object:
    row = c.execute(sql, params).fetchone()
    return row[0] if row else None


def cache_row() -> dict[str, str]:
    with psycopg.connect(proxy_dsn(dbname="pgswift", user=ADMIN, password=ADMIN_PW), autocommit=True) as a:
        cur = a.execute("SHOW CACHE")
        names = [d.name for d in cur.description]
        for row in cur.fetchall():
            if row[0] == "l1":
                return dict(zip(names, row))
    raise AssertionError("SHOW CACHE has no l1 row")


def repeated_is_hit(c: psycopg.Connection, sql: str) -> object:
    """Reads `sql` again and checks that the cache answered it: a check that settings keep answers apart would
    otherwise pass with the cache not working at all."""
    before = int(cache_row()["hits"])
    value = one(c, sql)
    expect(int(cache_row()["hits"]) == before + 1, f"the repeated read was not answered from the cache: {sql}")
    return value


def admin(command: str) -> None:
    with psycopg.connect(proxy_dsn(dbname="pgswift", user=ADMIN, password=ADMIN_PW), autocommit=True) as a:
        a.execute(command)


def settle() -> None:
    """Waits until the catalog of the test database has been read (nothing is cached before)."""
    with client() as c:
        def cached() -> bool:
            one(c, "SELECT v FROM it_cache_plain WHERE id = 1")
            hits = int(cache_row()["hits"])
            one(c, "SELECT v FROM it_cache_plain WHERE id = 1")
            return int(cache_row()["hits"]) > hits
        expect(wait_for(cached, 10, 0.3), "no read was ever answered from the cache (catalog never read?)")


def hit_served_without_server() -> None:
    with client() as c:
        expect(one(c, "SELECT v FROM it_cache_items WHERE id = 3") == "v3", "first read")
        direct("UPDATE it_cache_items SET v = 'bypassed' WHERE id = 3")
        expect(one(c, "SELECT v FROM it_cache_items WHERE id = 3") == "v3", "the second read reached PostgreSQL: not a hit")
        admin("CACHE INVALIDATE TABLE it_cache_items")
        expect(one(c, "SELECT v FROM it_cache_items WHERE id = 3") == "bypassed", "CACHE INVALIDATE TABLE did not drop the answer")


def write_through_is_seen() -> None:
    with client() as reader, client() as writer:
        expect(one(reader, "SELECT v FROM it_cache_items WHERE id = 4") == "v4", "first read")
        one(reader, "SELECT v FROM it_cache_items WHERE id = 4")
        writer.execute("UPDATE it_cache_items SET v = 'written' WHERE id = 4")
        expect(one(reader, "SELECT v FROM it_cache_items WHERE id = 4") == "written", "a read after a write through pgswift was stale")


def transaction_commit() -> None:
    with client() as reader, client() as writer:
        one(reader, "SELECT v FROM it_cache_items WHERE id = 5")
        writer.execute("BEGIN")
        writer.execute("UPDATE it_cache_items SET v = 'in-tx' WHERE id = 5")
        # Before the commit every reader still sees the old row (PostgreSQL would say the same).
        expect(one(reader, "SELECT v FROM it_cache_items WHERE id = 5") == "v5", "uncommitted row visible")
        expect(one(reader, "SELECT v FROM it_cache_items WHERE id = 5") == "v5", "uncommitted row visible")
        writer.execute("COMMIT")
        expect(one(reader, "SELECT v FROM it_cache_items WHERE id = 5") == "in-tx", "a read after COMMIT was stale")


def view_over_table() -> None:
    with client() as c:
        expect(one(c, "SELECT v FROM it_cache_items_v WHERE id = 6") == "V6", "first read of the view")
        one(c, "SELECT v FROM it_cache_items_v WHERE id = 6")
        c.execute("UPDATE it_cache_items SET v = 'viewed' WHERE id = 6")
        expect(one(c, "SELECT v FROM it_cache_items_v WHERE id = 6") == "VIEWED", "a write to the table left the view's answer stale")


def write_through_view() -> None:
    with client() as c:
        q = "SELECT v FROM it_cache_items WHERE id = 14"
        expect(one(c, q) == "v14", "first read of the table")
        one(c, q)
        c.execute("UPDATE it_cache_items_sv SET v = 'via view' WHERE id = 14")
        expect(one(c, q) == "via view", "a write through an updatable view left the table's answer stale")


def partitions() -> None:
    with client() as c:
        total = "SELECT sum(amount) FROM it_cache_orders"
        eu = "SELECT sum(amount) FROM it_cache_orders_eu"
        expect(one(c, total) == 30 and one(c, eu) == 10, "first reads")
        one(c, total), one(c, eu)
        c.execute("INSERT INTO it_cache_orders_eu VALUES (3, 'eu', 5)")
        expect(one(c, total) == 35, "a write to a partition left the parent's answer stale")
        c.execute("INSERT INTO it_cache_orders VALUES (4, 'eu', 100)")
        expect(one(c, eu) == 115, "a write to the parent left the partition's answer stale")


def fk_cascade() -> None:
    with client() as c:
        q = "SELECT count(*) FROM it_cache_child"
        expect(one(c, q) == 2, "first read")
        one(c, q)
        c.execute("DELETE FROM it_cache_parent WHERE id = 1")
        expect(one(c, q) == 1, "a cascading delete left the child's answer stale")


def trigger() -> None:
    with client() as c:
        q = "SELECT n FROM it_cache_log"
        before = one(c, q)
        one(c, q)
        c.execute("INSERT INTO it_cache_src VALUES (1)")
        expect(one(c, q) == before + 1, "a trigger's write left its table's answer stale")


def rls_by_role_and_tenant() -> None:
    with client() as c:
        q = "SELECT string_agg(v, ',' ORDER BY v) FROM it_cache_rls"
        c.execute("SET app.tenant = 'a'")
        expect(one(c, q) == "mine-a", "tenant a as scram_user")
        expect(repeated_is_hit(c, q) == "mine-a", "tenant a as scram_user, again")
        c.execute("SET app.tenant = 'b'")
        expect(one(c, q) == "mine-b", "tenant b got tenant a's cached rows")
        c.execute("SET app.tenant = 'a'")
        c.execute("SET ROLE it_cache_role")
        expect(one(c, q) == "role-a", "another role got scram_user's cached rows")
        c.execute("RESET ROLE")
        expect(one(c, q) == "mine-a", "back to scram_user")


def timezone() -> None:
    with client() as c:
        # it_cache_tz has no rule: the comment makes this read cached.
        q = "/* pgswift: cache */ SELECT t::text FROM it_cache_tz"
        c.execute("SET TimeZone = 'UTC'")
        utc = one(c, q)
        repeated_is_hit(c, q)
        c.execute("SET TimeZone = 'Asia/Tokyo'")
        tokyo = one(c, q)
        expect(utc == "2026-01-01 12:00:00+00" and tokyo == "2026-01-01 21:00:00+09", f"timezones: {utc} / {tokyo}")


def search_path() -> None:
    with client() as c:
        q = "SELECT v FROM it_cache_sp"
        c.execute("SET search_path = it_cache_s1")
        expect(one(c, q) == "from s1", "s1")
        repeated_is_hit(c, q)
        c.execute("SET search_path = it_cache_s2")
        expect(one(c, q) == "from s2", "the other schema's cached rows")
        expect(one(c, "SELECT v FROM it_cache_s1.it_cache_sp") == "from s1", "qualified name")


def binary_formats() -> None:
    with client() as c:
        q = "SELECT id, v FROM it_cache_plain WHERE id = %s"
        text = c.execute(q, (7,)).fetchall()
        binary = c.execute(q, (7,), binary=True).fetchall()
        # Both repeats come from the cache, each in its own format.
        before = int(cache_row()["hits"])
        again = c.execute(q, (7,), binary=True).fetchall()
        text2 = c.execute(q, (7,)).fetchall()
        expect(int(cache_row()["hits"]) == before + 2, "the repeated reads were not answered from the cache")
        expect(text == binary == again == text2 == [(7, "p7")], f"{text} {binary} {again} {text2}")


def row_limit_not_cached() -> None:
    conn = RawConn.connect(PROXY_HOST, PROXY_PORT)
    try:
        conn.login(USER, TEST_DB, PASSWORD)
        stored = int(cache_row()["stored"])
        for _ in range(2):
            conn.send(parse_msg("", "SELECT id FROM it_cache_plain ORDER BY id") + bind_msg("", "") + execute_msg("", 3) + message(b"S"))
            frames = conn.read_until_ready()
            rows = [data_row_values(f.body) for f in frames if f.type == "D"]
            expect(rows == [("1",), ("2",), ("3",)], f"rows {rows}")
            expect(any(f.type == "s" for f in frames), "no PortalSuspended")
        expect(int(cache_row()["stored"]) == stored, "a partial result was kept")
    finally:
        conn.terminate()


def unsafe_and_comments() -> None:
    with client() as c:
        a = one(c, "SELECT clock_timestamp()::text FROM it_cache_plain WHERE id = 1")
        time.sleep(0.01)
        b = one(c, "SELECT clock_timestamp()::text FROM it_cache_plain WHERE id = 1")
        expect(a != b, "a read of the clock was answered from the cache")
        q = "/* pgswift: no cache */ SELECT v FROM it_cache_items WHERE id = 9"
        one(c, q)
        direct("UPDATE it_cache_items SET v = 'nc' WHERE id = 9")
        expect(one(c, q) == "nc", "a `no cache` read was answered from the cache")
        # it_cache_tz has no rule: only a comment makes it cached.
        q2 = "/* pgswift: cache ttl=30s tags=tzs */ SELECT count(*) FROM it_cache_tz"
        expect(one(c, q2) == 1, "first")
        direct("INSERT INTO it_cache_tz VALUES (now())")
        expect(one(c, q2) == 1, "a read a comment asks to cache was not cached")
        admin("CACHE INVALIDATE TAG tzs")
        expect(one(c, q2) == 2, "CACHE INVALIDATE TAG did not drop it")
        expect(one(c, "SELECT count(*) FROM it_cache_tz") == 2, "uncommented read of a table without a rule")


def candidates() -> None:
    """Safe reads no rule covers are listed (cache = on), and a database set to auto caches nothing but lists its reads."""
    def rows() -> list[dict[str, object]]:
        with psycopg.connect(proxy_dsn(dbname="pgswift", user=ADMIN, password=ADMIN_PW), autocommit=True) as a:
            cur = a.execute("SHOW CACHE_CANDIDATES")
            names = [d.name for d in cur.description]
            return [dict(zip(names, r)) for r in cur.fetchall()]
    with client() as c:
        for _ in range(3):
            one(c, "SELECT count(*) FROM it_cache_tz WHERE t > '2000-01-01'")
    tz = [r for r in rows() if "it_cache_tz" in str(r["tables"]) and "2000-01-01" in str(r["query"])]
    expect(len(tz) == 1 and int(tz[0]["reads"]) >= 3 and int(tz[0]["repeats"]) >= 2, f"candidates: {tz}")
    expect(str(tz[0]["rule"]).startswith("fingerprint."), f"rule: {tz[0]['rule']}")
    with client(dbname="cache_auto") as c:
        q = "SELECT v FROM it_cache_items WHERE id = 33"
        first = one(c, q)
        direct("UPDATE it_cache_items SET v = 'auto33' WHERE id = 33")
        expect(one(c, q) == "auto33", f"cache = auto answered from a cache ({first})")
        one(c, q)
    auto = [r for r in rows() if "id = 33" in str(r["query"])]
    expect(auto and int(auto[0]["reads"]) >= 3 and int(auto[0]["repeats"]) >= 2, f"auto's reads not listed: {auto}")


def ddl_outside() -> None:
    with client() as c:
        q = "SELECT * FROM it_cache_ddl"
        expect(c.execute(q).fetchall() == [(1, 2)], "first")
        c.execute(q).fetchall()
        direct("ALTER TABLE it_cache_ddl ADD COLUMN c int DEFAULT 3")
        # cache_catalog_period = 1: the signature changes and the database's answers are dropped.
        expect(wait_for(lambda: c.execute(q).fetchall() == [(1, 2, 3)], 5, 0.3), "DDL outside pgswift left the old columns cached")


def ddl_through() -> None:
    with client() as c:
        q = "SELECT * FROM it_cache_plain WHERE id = 2"
        expect(c.execute(q).fetchall() == [(2, "p2")], "first")
        c.execute(q).fetchall()
        c.execute("ALTER TABLE it_cache_plain ADD COLUMN w int DEFAULT 9")
        expect(c.execute(q).fetchall() == [(2, "p2", 9)], "DDL through pgswift left the old columns cached")


def asyncpg_prepared() -> None:
    async def run() -> None:
        c = await asyncpg.connect(host=PROXY_HOST, port=PROXY_PORT, user=USER, password=PASSWORD, database=TEST_DB)
        w = await asyncpg.connect(host=PROXY_HOST, port=PROXY_PORT, user=USER, password=PASSWORD, database=TEST_DB)
        try:
            q = "SELECT v FROM it_cache_items WHERE id = $1"
            hits = int(cache_row()["hits"])
            for _ in range(5):
                rows = await c.fetch(q, 11)
                expect([r["v"] for r in rows] == ["v11"], f"asyncpg read: {rows}")
            expect(int(cache_row()["hits"]) >= hits + 3, "asyncpg's prepared reads were not answered from the cache")
            await w.execute("UPDATE it_cache_items SET v = 'apg' WHERE id = 11")
            expect([r["v"] for r in await c.fetch(q, 11)] == ["apg"], "asyncpg read after a write was stale")
            # fetchval asks for one row (Execute with a limit): its answer ends with PortalSuspended, never kept.
            expect(await c.fetchval(q, 11) == "apg" and await c.fetchval(q, 12) == "v12", "fetchval")
        finally:
            await c.close()
            await w.close()
    asyncio.run(asyncio.wait_for(run(), 60))


def psycopg_prepared() -> None:
    with psycopg.connect(proxy_dsn(), autocommit=True, prepare_threshold=0) as c, client() as w:
        q = "SELECT v FROM it_cache_items WHERE id = %s"
        hits = int(cache_row()["hits"])
        for _ in range(5):
            expect(one(c, q, (13,)) == "v13", "psycopg read")
        expect(int(cache_row()["hits"]) >= hits + 3, "psycopg's prepared reads were not answered from the cache")
        w.execute("UPDATE it_cache_items SET v = 'pg3' WHERE id = 13")
        expect(one(c, q, (13,)) == "pg3", "psycopg read after a write was stale")


def concurrent_misses_coalesced() -> None:
    """Eight clients send the same slow read at once: PostgreSQL runs it once, the others wait for that answer."""
    import threading
    q = "SELECT count(*) FROM it_cache_plain, generate_series(1, 400000) g"
    conns = [client() for _ in range(8)]
    try:
        before = cache_row()
        barrier = threading.Barrier(len(conns))
        results: list[object] = [None] * len(conns)

        def run(i: int) -> None:
            barrier.wait()
            results[i] = one(conns[i], q)
        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(conns))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        after = cache_row()
        expect(all(r == 4000000 for r in results), f"answers: {results}")
        misses = int(after["misses"]) - int(before["misses"])
        expect(misses == 1, f"{misses} misses for eight identical concurrent reads (one expected)")
        expect(int(after["hits"]) - int(before["hits"]) == 7, f"hits {before['hits']} -> {after['hits']}")
    finally:
        for c in conns:
            c.close()


def metrics_per_tier() -> None:
    import re
    import sys
    import urllib.request
    with urllib.request.urlopen(f"http://{PROXY_HOST}:{sys.argv[1]}/metrics", timeout=10) as r:
        text = r.read().decode()
    hits = re.search(r'^pgswift_cache_hits_total\{tier="l1"\} (\d+)', text, re.M)
    expect(hits is not None and int(hits.group(1)) > 0, "no pgswift_cache_hits_total{tier=\"l1\"} above 0 in /metrics")
    for name in ("pgswift_cache_misses_total", "pgswift_cache_bytes", "pgswift_cache_entries", "pgswift_cache_lookup_seconds"):
        expect(re.search(rf'^{name}\{{[^}}]*tier="l1"', text, re.M) is not None, f"{name} missing from /metrics")


def show_cache_and_clear() -> None:
    row = cache_row()
    expect(int(row["entries"]) > 0 and int(row["bytes"]) > 0 and int(row["hits"]) > 0, f"SHOW CACHE: {row}")
    expect(row["p50_ms"] is not None and row["hit_ratio"] is not None, f"SHOW CACHE: {row}")
    admin("CACHE CLEAR")
    expect(int(cache_row()["entries"]) == 0, "CACHE CLEAR left entries")


direct(SETUP)
R.run("catalog_read", settle)
R.run("hit_served_without_server", hit_served_without_server)
R.run("write_through_seen", write_through_is_seen)
R.run("transaction_commit", transaction_commit)
R.run("view_over_table", view_over_table)
R.run("write_through_view", write_through_view)
R.run("partitions", partitions)
R.run("fk_cascade", fk_cascade)
R.run("trigger", trigger)
R.run("rls_role_and_tenant", rls_by_role_and_tenant)
R.run("timezone", timezone)
R.run("search_path", search_path)
R.run("binary_formats", binary_formats)
R.run("row_limit_not_cached", row_limit_not_cached)
R.run("unsafe_and_comments", unsafe_and_comments)
R.run("candidates", candidates)
# Before the DDL checks: the catalog read that follows DDL drops what is cached (and a miss in flight is not kept).
R.run("concurrent_misses_coalesced", concurrent_misses_coalesced)
R.run("ddl_outside", ddl_outside)
R.run("ddl_through", ddl_through)
R.run("asyncpg_prepared", asyncpg_prepared)
R.run("psycopg_prepared", psycopg_prepared)
R.run("metrics_per_tier", metrics_per_tier)
R.run("show_cache_and_clear", show_cache_and_clear)
R.exit()
