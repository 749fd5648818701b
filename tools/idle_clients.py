#!/usr/bin/env python3
"""Hold many idle client connections on a PostgreSQL proxy and sample the proxy's memory.

    idle_clients.py --port PORT --pid PROXY_PID [--clients N] [options]

Reads the proxy's VmRSS/VmHWM (/proc/PID/status) at rest, after a few warm-up
clients have come and gone; opens N client connections (at most --concurrency
logins in flight), each of which logs in (trust, cleartext, md5 or
SCRAM-SHA-256, whatever the proxy asks for), runs `SELECT 1` and then stays
idle; when every login has finished it samples the proxy's memory a few times,
optionally asks the proxy's admin console for SHOW POOLS and PostgreSQL for the
number of server connections it sees, then closes everything and prints one
JSON object on stdout.  Progress and errors go to stderr.  Used by
scripts/idle-clients; stdlib only, so it runs anywhere python3 does.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import resource
import statistics
import struct
import sys
import time

PROTOCOL_3_0 = 3 << 16
TERMINATE = b"X" + struct.pack("!I", 4)


class LoginError(Exception):
    pass


def log(msg: str) -> None:
    print(f"# {msg}", file=sys.stderr, flush=True)


# --- /proc sampling ----------------------------------------------------------

def proc_memory(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM, RssAnon, RssFile of PID in bytes (the kernel reports kB)."""
    out: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "Threads"):
                parts = rest.split()
                out[key] = int(parts[0]) * (1024 if key != "Threads" else 1)
    return out


def proc_fds(pid: int) -> int | None:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


# --- protocol ------------------------------------------------------------------

def message(type_: bytes, body: bytes = b"") -> bytes:
    return type_ + struct.pack("!I", len(body) + 4) + body


def startup(user: str, database: str, params: dict[str, str]) -> bytes:
    body = struct.pack("!I", PROTOCOL_3_0)
    for k, v in {"user": user, "database": database, **params}.items():
        body += k.encode() + b"\0" + v.encode() + b"\0"
    body += b"\0"
    return struct.pack("!I", len(body) + 4) + body


async def read_msg(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readexactly(5)
    (length,) = struct.unpack("!I", head[1:5])
    body = await reader.readexactly(length - 4) if length > 4 else b""
    return head[:1], body


def error_text(body: bytes) -> str:
    fields = {}
    for part in body.split(b"\0"):
        if part:
            fields[chr(part[0])] = part[1:].decode("utf-8", "replace")
    return f"{fields.get('S', '?')} {fields.get('C', '?')}: {fields.get('M', '')}"


# PBKDF2 is the one expensive step of a SCRAM login; a proxy that keeps a SCRAM
# secret (fixed salt) in its userlist makes every login reuse the same result.
_salted_cache: dict[tuple[bytes, bytes, int], bytes] = {}


def salted_password(password: bytes, salt: bytes, iterations: int) -> bytes:
    key = (password, salt, iterations)
    v = _salted_cache.get(key)
    if v is None:
        v = hashlib.pbkdf2_hmac("sha256", password, salt, iterations)
        if len(_salted_cache) < 64:
            _salted_cache[key] = v
    return v


class Scram:
    """Client side of SCRAM-SHA-256 (RFC 5802/7677) without channel binding."""

    def __init__(self, password: str):
        self.password = password.encode()
        self.nonce = base64.b64encode(os.urandom(18)).decode()
        self.first_bare = f"n=,r={self.nonce}"
        self.expected_server_sig = b""

    def first(self) -> bytes:
        data = ("n,," + self.first_bare).encode()
        return b"SCRAM-SHA-256\0" + struct.pack("!i", len(data)) + data

    def final(self, server_first: str) -> bytes:
        attrs = dict(a.split("=", 1) for a in server_first.split(","))
        if not attrs["r"].startswith(self.nonce):
            raise LoginError("SCRAM: server nonce does not extend ours")
        salted = salted_password(self.password, base64.b64decode(attrs["s"]), int(attrs["i"]))
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        without_proof = f"c=biws,r={attrs['r']}"
        auth_msg = f"{self.first_bare},{server_first},{without_proof}".encode()
        sig = hmac.new(hashlib.sha256(client_key).digest(), auth_msg, hashlib.sha256).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, sig))
        server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
        self.expected_server_sig = hmac.new(server_key, auth_msg, hashlib.sha256).digest()
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()

    def check(self, server_final: str) -> None:
        attrs = dict(a.split("=", 1) for a in server_final.split(","))
        if "e" in attrs:
            raise LoginError(f"SCRAM error: {attrs['e']}")
        if base64.b64decode(attrs.get("v", "")) != self.expected_server_sig:
            raise LoginError("SCRAM: wrong server signature")


async def until_ready(reader: asyncio.StreamReader, on_row=None) -> bytes:
    """Read to ReadyForQuery; return its transaction status.  An ErrorResponse raises."""
    while True:
        t, body = await read_msg(reader)
        if t == b"Z":
            return body[:1]
        if t == b"E":
            raise LoginError(error_text(body))
        if on_row is not None and t in (b"T", b"D"):
            on_row(t, body)


async def login(reader, writer, user: str, password: str, database: str, params: dict[str, str]) -> None:
    writer.write(startup(user, database, params))
    scram: Scram | None = None
    while True:
        t, body = await read_msg(reader)
        if t == b"E":
            raise LoginError(error_text(body))
        if t == b"Z":
            return
        if t != b"R":
            continue  # ParameterStatus, BackendKeyData, notices
        (code,) = struct.unpack("!I", body[:4])
        if code == 0:
            continue
        if code == 3:
            writer.write(message(b"p", password.encode() + b"\0"))
        elif code == 5:
            inner = hashlib.md5(password.encode() + user.encode()).hexdigest().encode()
            outer = hashlib.md5(inner + body[4:8]).hexdigest()
            writer.write(message(b"p", b"md5" + outer.encode() + b"\0"))
        elif code == 10:
            scram = Scram(password)
            writer.write(message(b"p", scram.first()))
        elif code == 11 and scram:
            writer.write(message(b"p", scram.final(body[4:].decode())))
        elif code == 12 and scram:
            scram.check(body[4:].decode())
        else:
            raise LoginError(f"unsupported authentication request {code}")


async def query_rows(host: str, port: int, user: str, password: str, database: str,
                     sql: str, timeout: float) -> list[dict[str, str | None]]:
    """One short-lived connection: log in, run one simple query, return its rows as dicts."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        await asyncio.wait_for(login(reader, writer, user, password, database, {}), timeout)
        writer.write(message(b"Q", sql.encode() + b"\0"))
        names: list[str] = []
        rows: list[dict[str, str | None]] = []

        def on_row(t: bytes, body: bytes) -> None:
            (n,) = struct.unpack("!H", body[:2])
            pos = 2
            if t == b"T":
                names.clear()
                for _ in range(n):
                    end = body.index(b"\0", pos)
                    names.append(body[pos:end].decode())
                    pos = end + 1 + 18
                return
            vals: list[str | None] = []
            for _ in range(n):
                (ln,) = struct.unpack("!i", body[pos:pos + 4])
                pos += 4
                vals.append(None if ln < 0 else body[pos:pos + ln].decode())
                pos += max(ln, 0)
            rows.append(dict(zip(names, vals)))

        await asyncio.wait_for(until_ready(reader, on_row), timeout)
        writer.write(TERMINATE)
        return rows
    finally:
        writer.close()


# --- the run -------------------------------------------------------------------

async def open_idle_client(args, held: list, stats: dict) -> None:
    """Connect, log in, SELECT 1, and keep the connection (idle) in `held`."""
    writer = None
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(args.host, args.port), args.timeout)
        await asyncio.wait_for(login(reader, writer, args.user, args.password, args.dbname,
                                     {"application_name": "idle_clients"}), args.timeout)
        writer.write(message(b"Q", b"SELECT 1\0"))
        status = await asyncio.wait_for(until_ready(reader), args.timeout)
        if status != b"I":
            raise LoginError(f"not idle after SELECT 1 (status {status!r})")
        held.append((reader, writer))
        stats["ok"] += 1
    except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, LoginError, ValueError) as e:
        stats["failed"] += 1
        msg = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
        stats["errors"][msg] = stats["errors"].get(msg, 0) + 1
        if stats["first_failure_at"] is None:
            stats["first_failure_at"] = stats["ok"]
            log(f"first failure after {stats['ok']} connections held: {msg}")
        if writer is not None:
            writer.close()


def sample(pid: int, count: int, interval: float) -> list[dict[str, int]]:
    out = []
    for i in range(count):
        if i:
            time.sleep(interval)
        out.append(proc_memory(pid))
    return out


async def run(args) -> dict:
    result: dict = {"target": args.label, "clients_requested": args.clients, "pid": args.pid}
    fresh = proc_memory(args.pid)
    result["fresh_rss"] = fresh["VmRSS"]
    # The first logins fault in code and one-off state (library pages, lazily
    # built tables, server connections) that any proxy pays once, not per client.
    # A few clients that come and go before "at rest" keep that out of the
    # per-client figure.
    if args.warmup:
        warm: list = []
        warm_stats = {"ok": 0, "failed": 0, "errors": {}, "first_failure_at": None}
        await asyncio.gather(*(open_idle_client(args, warm, warm_stats) for _ in range(args.warmup)))
        if warm_stats["failed"]:
            log(f"{args.label}: warm-up: {warm_stats['failed']} of {args.warmup} failed: {warm_stats['errors']}")
        for _, w in warm:
            w.write(TERMINATE)
            w.close()
        await asyncio.gather(*(w.wait_closed() for _, w in warm), return_exceptions=True)
        await asyncio.sleep(args.settle)
    result["warmup"] = args.warmup
    # At rest: nothing connected.
    rest = sample(args.pid, args.samples, args.interval)
    result["rest_rss"] = int(statistics.median(s["VmRSS"] for s in rest))
    result["rest_anon"] = int(statistics.median(s["RssAnon"] for s in rest))
    result["rest_hwm"] = rest[-1]["VmHWM"]
    result["threads"] = rest[-1].get("Threads")

    held: list = []
    stats = {"ok": 0, "failed": 0, "errors": {}, "first_failure_at": None}
    sem = asyncio.Semaphore(args.concurrency)
    t0 = time.monotonic()
    next_report = 1000

    async def one() -> None:
        nonlocal next_report
        async with sem:
            if stats["failed"] >= args.max_failures:
                return
            await open_idle_client(args, held, stats)
        if stats["ok"] >= next_report:
            next_report += 1000
            m = proc_memory(args.pid)
            log(f"{args.label}: {stats['ok']} held, {stats['failed']} failed, {time.monotonic() - t0:.1f}s, "
                f"proxy VmRSS {m['VmRSS'] / 2**20:.1f} MiB")

    # Tasks are created in slices so that 10,000 pending coroutines do not sit in
    # memory at once; the semaphore alone bounds logins in flight.
    pending: set = set()
    for _ in range(args.clients):
        if stats["failed"] >= args.max_failures:
            break
        pending.add(asyncio.ensure_future(one()))
        if len(pending) >= args.concurrency * 4:
            _, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
    if pending:
        await asyncio.wait(pending)
    result["ramp_seconds"] = round(time.monotonic() - t0, 1)
    result["held"] = stats["ok"]
    result["failed"] = stats["failed"]
    result["errors"] = stats["errors"]
    result["first_failure_at"] = stats["first_failure_at"]
    if stats["failed"] >= args.max_failures:
        log(f"{args.label}: stopped opening connections after {stats['failed']} failures")

    # Idle: let the proxy finish whatever it does after the last login, then sample.
    await asyncio.sleep(args.settle)
    idle = sample(args.pid, args.samples, args.interval)
    result["idle_rss"] = int(statistics.median(s["VmRSS"] for s in idle))
    result["idle_anon"] = int(statistics.median(s["RssAnon"] for s in idle))
    result["idle_rss_samples"] = [s["VmRSS"] for s in idle]
    result["hwm"] = idle[-1]["VmHWM"]
    result["proxy_fds"] = proc_fds(args.pid)
    await asyncio.sleep(0.2)  # sampling blocked the loop; let it see closes that came meanwhile
    # A connection the proxy closed while it sat idle has its reader at EOF.
    result["closed_while_idle"] = sum(1 for r, _ in held if r.at_eof())
    n = max(result["held"], 1)
    result["bytes_per_client"] = round((result["idle_rss"] - result["rest_rss"]) / n)
    result["peak_bytes_per_client"] = round((result["hwm"] - result["rest_rss"]) / n)
    # Anonymous memory only (heap, stacks): no code or file pages.
    result["anon_bytes_per_client"] = round((result["idle_anon"] - result["rest_anon"]) / n)

    # Checks from outside the measurement, taken after the samples so that their
    # own connections do not count.
    if args.admin_db:
        try:
            rows = await query_rows(args.host, args.port, args.user, args.password, args.admin_db,
                                    "SHOW POOLS", args.timeout)
            result["pools"] = [r for r in rows if r.get("database") == args.dbname]
        except Exception as e:  # the numbers above stand on their own; report and go on
            result["pools_error"] = f"{type(e).__name__}: {e}"
    if args.pg_port:
        try:
            rows = await query_rows(args.host, args.pg_port, args.user, args.password, args.dbname,
                                    "SELECT count(*) AS n FROM pg_stat_activity "
                                    f"WHERE datname = '{args.dbname}' AND pid <> pg_backend_pid()",
                                    args.timeout)
            result["server_connections"] = int(rows[0]["n"])
        except Exception as e:
            result["server_connections_error"] = f"{type(e).__name__}: {e}"

    t1 = time.monotonic()
    for _, w in held:
        try:
            w.write(TERMINATE)
            w.close()
        except OSError:
            pass
    await asyncio.gather(*(w.wait_closed() for _, w in held), return_exceptions=True)
    held.clear()
    await asyncio.sleep(args.settle)
    result["close_seconds"] = round(time.monotonic() - t1, 1)
    after = proc_memory(args.pid)
    result["after_close_rss"] = after["VmRSS"]
    return result


def raise_fd_limit(need: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, need)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True, help="the proxy's port")
    p.add_argument("--pid", type=int, required=True, help="the proxy's pid, for /proc/PID/status")
    p.add_argument("--label", default="proxy", help="name of the target in the output")
    p.add_argument("--clients", type=int, default=10000)
    p.add_argument("--concurrency", type=int, default=100, help="logins in flight at once")
    p.add_argument("--user", default="bench")
    p.add_argument("--password", default="bench")
    p.add_argument("--dbname", default="bench")
    p.add_argument("--admin-db", default="", help="admin console database for SHOW POOLS (e.g. pgbouncer)")
    p.add_argument("--pg-port", type=int, default=0, help="PostgreSQL's port, to count its connections")
    p.add_argument("--warmup", type=int, default=20, help="clients opened and closed before the at-rest samples")
    p.add_argument("--samples", type=int, default=5)
    p.add_argument("--interval", type=float, default=1.0, help="seconds between samples")
    p.add_argument("--settle", type=float, default=2.0, help="seconds to wait before sampling idle memory")
    p.add_argument("--timeout", type=float, default=60.0, help="per connect/login/query step")
    p.add_argument("--max-failures", type=int, default=200, help="stop opening connections after this many failures")
    args = p.parse_args()

    limit = raise_fd_limit(args.clients + 64)
    if limit < args.clients + 64:
        log(f"open-files limit {limit} is below {args.clients} clients + 64; raise the hard limit (ulimit -Hn)")
        return 2
    res = asyncio.run(run(args))
    res["load_fd_limit"] = limit
    print(json.dumps(res), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
