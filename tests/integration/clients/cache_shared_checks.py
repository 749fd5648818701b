"""Two pgswift instances sharing one Redis (checks/cache.sh): the shared tier, cross-instance invalidation, and
Redis failing under load.

usage: cache_shared_checks.py PORT_A PORT_B REDIS_PIDFILE REDIS_PORT MEMCACHED_PIDFILE

Both proxies run with cache = on and cache_redis_url pointing at a redis-server that checks/cache.sh
started on loopback, and cache_memcached_servers at its memcached; the pid files let the checks stop
(SIGSTOP), resume and kill them.  The it_cache_* tables exist (cache_checks.py made them).  Timings go to stderr (the group log),
which docs/BENCHMARKS.md quotes.
"""

from __future__ import annotations

import os
import signal
import statistics
import sys
import threading
import time

import psycopg

from harness import PASSWORD, PROXY_HOST, TEST_DB, USER, Results, expect, superuser_dsn, wait_for

R = Results("cache_shared")
PORT_A, PORT_B = int(sys.argv[1]), int(sys.argv[2])
REDIS_PIDFILE = sys.argv[3]
REDIS_PORT = int(sys.argv[4])
MEMCACHED_PIDFILE = sys.argv[5]


def dsn(port: int, db: str = TEST_DB, user: str = USER, password: str = PASSWORD) -> str:
    return f"host={PROXY_HOST} port={port} dbname={db} user={user} password={password} connect_timeout=10 sslmode=disable"


def client(port: int) -> psycopg.Connection:
    return psycopg.connect(dsn(port), autocommit=True)


def one(c: psycopg.Connection, sql: str, params: tuple = ()) -> object:
    row = c.execute(sql, params).fetchone()
    return row[0] if row else None


def tiers(port: int) -> dict[str, dict[str, object]]:
    with psycopg.connect(dsn(port, "pgswift", "pgswift_admin", "admin_pw"), autocommit=True) as a:
        cur = a.execute("SHOW CACHE")
        names = [d.name for d in cur.description]
        return {row[0]: dict(zip(names, row)) for row in cur.fetchall()}


def direct(sql: str) -> None:
    with psycopg.connect(superuser_dsn(TEST_DB), autocommit=True) as c:
        c.execute(sql)


def redis_pid() -> int:
    with open(REDIS_PIDFILE) as f:
        return int(f.read().strip())


def memcached_pid() -> int:
    with open(MEMCACHED_PIDFILE) as f:
        return int(f.read().strip())


def drop_redis_answers() -> None:
    """Deletes the answers Redis holds (not the shared versions): only Memcached still has them."""
    import subprocess
    keys = subprocess.run(["redis-cli", "-p", str(REDIS_PORT), "--scan", "--pattern", "pgswift:c:*"],
                          check=True, capture_output=True, text=True, timeout=10).stdout.split()
    if keys:
        subprocess.run(["redis-cli", "-p", str(REDIS_PORT), "DEL", *keys], check=True, capture_output=True, timeout=10)


def ready() -> None:
    """Both instances subscribed and their catalogs read: a repeated read is a hit on each."""
    for port in (PORT_A, PORT_B):
        with client(port) as c:
            def hit() -> bool:
                one(c, "SELECT v FROM it_cache_plain WHERE id = 3")
                before = int(tiers(port)["l1"]["hits"])
                one(c, "SELECT v FROM it_cache_plain WHERE id = 3")
                return int(tiers(port)["l1"]["hits"]) > before
            expect(wait_for(hit, 15, 0.3), f"instance on {port} never answered from its cache")
            expect("l2" in tiers(port), f"instance on {port} has no l2 row in SHOW CACHE")


def shared_tier_hit() -> None:
    with client(PORT_A) as a, client(PORT_B) as b:
        expect(one(a, "SELECT v FROM it_cache_items WHERE id = 30") == "v30", "first read through A")
        direct("UPDATE it_cache_items SET v = 'bypass30' WHERE id = 30")
        before = int(tiers(PORT_B)["l2"]["hits"])
        # B never read it: only Redis can answer with what A read before the direct write.
        expect(one(b, "SELECT v FROM it_cache_items WHERE id = 30") == "v30", "B's first read did not come from the shared tier")
        expect(int(tiers(PORT_B)["l2"]["hits"]) == before + 1, "no l2 hit counted on B")
        b.execute("UPDATE it_cache_items SET v = 'v30' WHERE id = 30")


def memcached_tier_hit() -> None:
    with client(PORT_A) as a, client(PORT_B) as b:
        expect(one(a, "SELECT v FROM it_cache_items WHERE id = 32") == "v32", "first read through A")
        direct("UPDATE it_cache_items SET v = 'bypass32' WHERE id = 32")
        drop_redis_answers()
        before = int(tiers(PORT_B)["l3"]["hits"])
        expect(one(b, "SELECT v FROM it_cache_items WHERE id = 32") == "v32", "B's read did not come from Memcached")
        expect(int(tiers(PORT_B)["l3"]["hits"]) == before + 1, "no l3 hit counted on B")
        b.execute("UPDATE it_cache_items SET v = 'v32' WHERE id = 32")
        expect(one(a, "SELECT v FROM it_cache_items WHERE id = 32") == "v32", "A read a stale row after B's write")


def write_through_one_seen_by_other() -> None:
    """A write through A, acknowledged, then reads through B until they see it: the delay, measured, stays under 1 s."""
    delays: list[float] = []
    with client(PORT_A) as a, client(PORT_B) as b:
        for i in range(40):
            q = "SELECT v FROM it_cache_items WHERE id = 31"
            one(b, q)
            one(b, q)  # cached on B
            value = f"round{i}"
            a.execute("UPDATE it_cache_items SET v = %s WHERE id = 31", (value,))
            t0 = time.monotonic()
            while one(b, q) != value:
                expect(time.monotonic() - t0 < 1.0, f"B still read the old row 1 s after A's write (round {i})")
                time.sleep(0.0005)
            delays.append(time.monotonic() - t0)
    delays.sort()
    p50 = statistics.median(delays) * 1000
    p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))] * 1000
    print(f"cross-instance invalidation delay over {len(delays)} writes: p50 {p50:.2f} ms, p99 {p99:.2f} ms, "
          f"max {delays[-1] * 1000:.2f} ms", file=sys.stderr)


class Load:
    """Readers and a writer on both instances until stopped; every error is kept, every read checked for staleness."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.errors: list[str] = []
        self.reads = 0
        self.threads = [threading.Thread(target=self.read, args=(p,)) for p in (PORT_A, PORT_B, PORT_A, PORT_B)]
        self.threads.append(threading.Thread(target=self.write))
        self.written = 0

    def read(self, port: int) -> None:
        try:
            with client(port) as c:
                while not self.stop.is_set():
                    for i in range(1, 20):
                        one(c, "SELECT v FROM it_cache_items WHERE id = %s", (i,))
                    self.reads += 19
        except Exception as e:  # noqa: BLE001
            self.errors.append(f"reader on {port}: {e}")

    def write(self) -> None:
        try:
            with client(PORT_A) as a, client(PORT_B) as b:
                n = 0
                while not self.stop.is_set():
                    n += 1
                    (a if n % 2 else b).execute("UPDATE it_cache_items SET v = %s WHERE id = 40", (f"w{n}",))
                    # The other instance must read it within a second (the invalidation delay).
                    other = b if n % 2 else a
                    t0 = time.monotonic()
                    while one(other, "SELECT v FROM it_cache_items WHERE id = 40") != f"w{n}":
                        if time.monotonic() - t0 > 1.0:
                            self.errors.append(f"write {n}: the other instance read a stale row for over 1 s")
                            return
                        time.sleep(0.001)
                    self.written = n
                    time.sleep(0.01)
        except Exception as e:  # noqa: BLE001
            self.errors.append(f"writer: {e}")

    def __enter__(self) -> "Load":
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(30)


def paused_under_load(pid: int, tier: str, name: str) -> None:
    """`pid` stopped (SIGSTOP: its sockets stay open, nothing answers) under load, then resumed: no client error,
    reads go on, the tier's breaker opens, and the tier (and the in-process one) come back by themselves."""
    with Load() as load:
        time.sleep(1)
        os.kill(pid, signal.SIGSTOP)
        try:
            time.sleep(3)
            reads_paused = load.reads
            time.sleep(1)
            expect(load.reads > reads_paused, f"reads stopped while {name} was paused")
            state = tiers(PORT_A)
            expect(state[tier]["state"] != "on", f"A's {tier} breaker did not open: {state[tier]}")
        finally:
            os.kill(pid, signal.SIGCONT)
        expect(wait_for(lambda: tiers(PORT_A)[tier]["state"] == "on" and tiers(PORT_A)["l1"]["state"] == "on", 15, 0.5),
               f"A's tiers did not come back: {tiers(PORT_A)}")
        time.sleep(1)
    expect(not load.errors, f"errors under load: {load.errors[:3]}")
    expect(load.written > 5, f"only {load.written} writes went through")


def redis_paused_under_load() -> None:
    paused_under_load(redis_pid(), "l2", "Redis")


def memcached_paused_under_load() -> None:
    paused_under_load(memcached_pid(), "l3", "Memcached")


def redis_killed_under_load() -> None:
    with Load() as load:
        time.sleep(1)
        os.kill(redis_pid(), signal.SIGKILL)
        time.sleep(3)
        state = tiers(PORT_B)
        expect(state["l1"]["state"] != "on", f"B kept its in-process tier on without the subscription: {state['l1']}")
        reads = load.reads
        time.sleep(1)
        expect(load.reads > reads, "reads stopped while Redis was down")
    expect(not load.errors, f"errors under load: {load.errors[:3]}")


R.run("ready", ready)
R.run("shared_tier_hit", shared_tier_hit)
R.run("memcached_tier_hit", memcached_tier_hit)
R.run("cross_instance_delay", write_through_one_seen_by_other)
R.run("memcached_paused_under_load", memcached_paused_under_load)
R.run("redis_paused_under_load", redis_paused_under_load)
R.run("redis_killed_under_load", redis_killed_under_load)
R.exit()
