"""Admin console checks: logins, SHOW columns and values, rights, grammar, control commands, an exporter.

usage: admin_checks.py PART [KEY=VALUE]...
  PART is one of: console load stats exporter pause reload commands
  shutdown_wait_for_clients shutdown_immediate.  checks/admin.sh starts a proxy
  for each part (admin_users = pgswift_admin, stats_users = pgswift_stats,
  transaction pooling, default_pool_size = 2); reload takes config=PATH and the
  shutdown parts pid=PID.

The console is read with the raw client (pgwire.py), because the checks are about
exact column names, type OIDs, tags and error fields.  The expected tables and
messages are PgBouncer 1.25's; when the proxy is PgBouncer 1.18 (Debian 12) its own,
shorter, column lists are expected instead, so that the checks themselves can be
validated against a real PgBouncer.
"""

from __future__ import annotations

import asyncio
import decimal
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Callable

import psycopg

import pgwire
from harness import (PG_HOST, PG_PORT, PROXY_HOST, PROXY_PORT, Results, expect, is_pgbouncer, proxy_dsn,
                     superuser_dsn, wait_for)

ADMIN, ADMIN_PW = "pgswift_admin", "admin_pw"
STATS, STATS_PW = "pgswift_stats", "stats_pw"
# PgBouncer knows its console only as "pgbouncer"; pgswift answers to "pgswift" as well.
CONSOLE_DB = "pgbouncer"
BENCH = dict(user="bench", password="bench")

R = Results("admin")
PGB = is_pgbouncer()


# --- the console over the raw client ------------------------------------------------

@dataclass
class Reply:
    """Everything one Query message got back, up to ReadyForQuery."""
    columns: list[tuple[str, int, int, int, int]] | None = None   # name, type OID, typlen, typmod, format
    rows: list[tuple[str | None, ...]] = field(default_factory=list)
    tag: str | None = None
    notices: list[dict[str, str]] = field(default_factory=list)
    error: dict[str, str] | None = None
    status: str | None = None

    @property
    def names(self) -> list[str]:
        return [c[0] for c in self.columns or []]

    def dicts(self) -> list[dict[str, str | None]]:
        return [dict(zip(self.names, r)) for r in self.rows]


def parse_row_description(body: bytes) -> list[tuple[str, int, int, int, int]]:
    (n,) = struct.unpack("!H", body[:2])
    pos, cols = 2, []
    for _ in range(n):
        end = body.index(b"\0", pos)
        name = body[pos:end].decode()
        _table, _attnum, oid, typlen, typmod, fmt = struct.unpack("!IhIhih", body[end + 1:end + 19])
        cols.append((name, oid, typlen, typmod, fmt))
        pos = end + 19
    return cols


class Console:
    """One admin console session."""

    def __init__(self, user: str = ADMIN, password: str = ADMIN_PW, db: str = CONSOLE_DB, **params: str):
        self.conn = pgwire.RawConn.connect(PROXY_HOST, PROXY_PORT, timeout=10)
        try:
            self.params = self.conn.login(user, db, password, **params)
        except BaseException:
            self.conn.close()
            raise

    def q(self, sql: str, timeout: float = 30.0) -> Reply:
        self.conn.send(pgwire.message(b"Q", pgwire.cstr(sql)))
        r = Reply()
        while True:
            f = self.conn.read_frame(timeout)
            if f.type == "T":
                r.columns = parse_row_description(f.body)
            elif f.type == "D":
                r.rows.append(pgwire.data_row_values(f.body))
            elif f.type == "C":
                r.tag = f.body.rstrip(b"\0").decode()
            elif f.type == "N":
                r.notices.append(f.error_fields())
            elif f.type == "E":
                r.error = f.error_fields()
            elif f.type == "Z":
                r.status = chr(f.body[0])
                return r

    def ok(self, sql: str, tag: str | None = "SHOW", timeout: float = 30.0) -> Reply:
        """Run sql; it must succeed with tag (None: any) and leave the session idle."""
        r = self.q(sql, timeout)
        expect(r.error is None, f"{sql!r}: {r.error}")
        expect(tag is None or r.tag == tag, f"{sql!r}: tag {r.tag!r}, want {tag!r}")
        expect(r.status == "I", f"{sql!r}: ReadyForQuery status {r.status!r}")
        return r

    def rows(self, sql: str) -> list[dict[str, str | None]]:
        return self.ok(sql).dicts()

    def fails(self, sql: str, message: str, code: str = "08P01", timeout: float = 30.0) -> None:
        """sql must answer ERROR code with exactly this message, then ReadyForQuery 'I'."""
        r = self.q(sql, timeout)
        expect(r.error is not None, f"{sql!r} succeeded (tag {r.tag!r}, {len(r.rows)} rows); want error {message!r}")
        got = (r.error.get("S"), r.error.get("C"), r.error.get("M"))
        expect(got == ("ERROR", code, message), f"{sql!r}: got {got}, want ('ERROR', {code!r}, {message!r})")
        expect(r.tag is None and not r.rows, f"{sql!r}: error plus tag {r.tag!r} / rows")
        expect(r.status == "I", f"{sql!r}: ReadyForQuery status {r.status!r}")

    def fails_all(self, cases: list[tuple[str, str]]) -> None:
        """fails() for each (sql, message); reports every mismatch, not just the first."""
        wrong = []
        for sql, message in cases:
            try:
                self.fails(sql, message)
            except AssertionError as e:
                wrong.append(str(e))
        expect(not wrong, f"{len(wrong)} of {len(cases)} wrong: " + " | ".join(wrong))

    def close(self) -> None:
        self.conn.terminate()


def invalid(sql: str) -> str:
    return f"invalid command '{sql}', use SHOW HELP;"


def one(rows: list[dict[str, Any]], what: str, **match: Any) -> dict[str, Any]:
    hits = [r for r in rows if all(r.get(k) == v for k, v in match.items())]
    expect(len(hits) == 1, f"{what}: {len(hits)} rows match {match} (of {len(rows)})")
    return hits[0]


def num(v: str | None) -> decimal.Decimal:
    expect(v is not None, "NULL where a number was expected")
    return decimal.Decimal(v)


# --- ordinary clients and PostgreSQL --------------------------------------------------

def client(autocommit: bool = True, **kw: Any) -> psycopg.Connection:
    # prepare_threshold=None: these clients only need plain queries (no prepared statements involved).
    return psycopg.connect(proxy_dsn(**kw), autocommit=autocommit, prepare_threshold=None)


def pg(sql: str, *args: Any) -> list[tuple]:
    """A query on PostgreSQL itself (superuser, its own socket), not through the proxy."""
    with psycopg.connect(superuser_dsn(), autocommit=True) as c:
        return c.execute(sql, args).fetchall()


def bench_backends(state: str | None = None) -> list[int]:
    """Backend pids of user bench in database pgswift_test (optionally only in one state)."""
    sql = "SELECT pid FROM pg_stat_activity WHERE usename = 'bench' AND datname = 'pgswift_test'"
    if state:
        return [r[0] for r in pg(sql + " AND state = %s", state)]
    return [r[0] for r in pg(sql)]


class Pgbench:
    """pgbench -S (select only) through the proxy in the background; result() parses its summary."""

    def __init__(self, seconds: int, clients: int = 8, db: str = "pgswift_test"):
        self.out = tempfile.TemporaryFile("w+")
        env = dict(os.environ, PGPASSWORD=BENCH["password"])
        cmd = ["pgbench", "-h", PROXY_HOST, "-p", str(PROXY_PORT), "-U", BENCH["user"], "-n", "-S", "-M", "simple",
               "-c", str(clients), "-j", str(clients), "-T", str(seconds), db]
        print("--- " + " ".join(cmd), file=sys.stderr)
        self.proc = subprocess.Popen(cmd, stdout=self.out, stderr=subprocess.STDOUT, env=env)
        self.seconds = seconds

    def result(self, extra: float = 60) -> tuple[int, int, str]:
        """(processed, failed, output); fails on a non-zero exit."""
        try:
            rc = self.proc.wait(self.seconds + extra)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError("pgbench did not finish")
        self.out.seek(0)
        text = self.out.read()
        print(text, file=sys.stderr)
        m = re.search(r"^number of transactions actually processed: (\d+)", text, re.M)
        f = re.search(r"^number of failed transactions: (\d+)", text, re.M)
        expect(rc == 0, f"pgbench exit {rc}: {' '.join(text.split())[-200:]}")
        return int(m.group(1)) if m else 0, int(f.group(1)) if f else 0, text


class Background:
    """Runs fn in a thread; .done() / .wait() / .value / .error."""

    def __init__(self, fn: Callable[[], Any]):
        self.value: Any = None
        self.error: BaseException | None = None
        self.finished = threading.Event()

        def run() -> None:
            try:
                self.value = fn()
            except BaseException as e:  # noqa: BLE001 - handed to the check
                self.error = e
            finally:
                self.finished.set()
        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def done(self) -> bool:
        return self.finished.is_set()

    def wait(self, timeout: float) -> bool:
        return self.finished.wait(timeout)


def port_refuses(host: str, port: int) -> bool:
    try:
        s = socket.create_connection((host, port), timeout=1)
    except ConnectionRefusedError:
        return True
    except OSError:
        return False
    s.close()
    return False


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        # ProcessLookupError: the process exited between the open and the read.
        return False


def arg(name: str) -> str:
    for a in sys.argv[2:]:
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    raise SystemExit(f"missing {name}=")


# --- expected tables -----------------------------------------------------------------

TEXT, INT4, INT8, NUMERIC = 25, 23, 20, 1700
TYPLEN = {TEXT: -1, INT4: 4, INT8: 8, NUMERIC: -1}


def cols(spec: str) -> list[tuple[str, int]]:
    """'name:t other:i4 ...' -> [(name, oid)]; t text, i4 int4, i8 int8, n numeric."""
    kinds = {"t": TEXT, "i4": INT4, "i8": INT8, "n": NUMERIC}
    return [(w.split(":")[0], kinds[w.split(":")[1]]) for w in spec.split()]


CONN_125 = cols("type:t user:t database:t replication:t state:t addr:t port:i4 local_addr:t local_port:i4 "
                "connect_time:t request_time:t wait:i4 wait_us:i4 close_needed:i4 ptr:t link:t remote_pid:i4 tls:t "
                "application_name:t prepared_statements:i4 id:i4")
CONN_118 = [c for c in CONN_125 if c[0] not in ("replication", "prepared_statements", "id")]
POOLS_125 = cols("database:t user:t cl_active:i4 cl_waiting:i4 cl_active_cancel_req:i4 cl_waiting_cancel_req:i4 "
                 "sv_active:i4 sv_active_cancel:i4 sv_being_canceled:i4 sv_idle:i4 sv_used:i4 sv_tested:i4 sv_login:i4 "
                 "maxwait:i4 maxwait_us:i4 pool_mode:t load_balance_hosts:t")
DATABASES_125 = cols("name:t host:t port:i4 database:t force_user:t pool_size:i4 min_pool_size:i4 reserve_pool_size:i4 "
                     "server_lifetime:i4 pool_mode:t load_balance_hosts:t max_connections:i4 current_connections:i4 "
                     "max_client_connections:i4 current_client_connections:i4 paused:i4 disabled:i4")
DATABASES_118 = cols("name:t host:t port:i4 database:t force_user:t pool_size:i4 min_pool_size:i4 reserve_pool:i4 "
                     "pool_mode:t max_connections:i4 current_connections:i4 paused:i4 disabled:i4")
USERS_125 = cols("name:t pool_size:t reserve_pool_size:t pool_mode:t max_user_connections:i4 current_connections:i4 "
                 "max_user_client_connections:i4 current_client_connections:i4")
STATS_125 = cols("database:t total_server_assignment_count:n total_xact_count:n total_query_count:n total_received:n "
                 "total_sent:n total_xact_time:n total_query_time:n total_wait_time:n total_client_parse_count:n "
                 "total_server_parse_count:n total_bind_count:n total_client_login_count:n "
                 "avg_server_assignment_count:n avg_xact_count:n avg_query_count:n avg_recv:n avg_sent:n avg_xact_time:n "
                 "avg_query_time:n avg_wait_time:n avg_client_parse_count:n avg_server_parse_count:n avg_bind_count:n "
                 "avg_client_login_count:n")
STATS_118 = cols("database:t total_xact_count:n total_query_count:n total_received:n total_sent:n total_xact_time:n "
                 "total_query_time:n total_wait_time:n avg_xact_count:n avg_query_count:n avg_recv:n avg_sent:n "
                 "avg_xact_time:n avg_query_time:n avg_wait_time:n")
_STATS_PAIR = ("database:t server_assignment_count:n xact_count:n query_count:n bytes_received:n bytes_sent:n "
               "xact_time:n query_time:n wait_time:n ")
STATS_TOTALS_125 = cols(_STATS_PAIR + "client_parse_count:n server_parse_count:n bind_count:n client_login_count:n")
STATS_AVERAGES_125 = cols(_STATS_PAIR + "avg_client_parse_count:n avg_server_parse_count:n avg_bind_count:n "
                                        "client_login_count:n")
STATS_PAIR_118 = cols("database:t xact_count:n query_count:n bytes_received:n bytes_sent:n xact_time:n query_time:n "
                      "wait_time:n")
TOTALS_NAMES_125 = [f"{p}_{n}" for p in ("total", "avg") for n in (
    "server_assignment_count", "xact_count", "query_count", "client_bytes", "server_bytes", "xact_time", "query_time",
    "wait_time", "ps_client_parse_count", "ps_server_parse_count", "ps_bind_count", "client_login_count")]
TOTALS_NAMES_118 = [f"{p}_{n}" for p in ("total", "avg") for n in (
    "xact_count", "query_count", "client_bytes", "server_bytes", "xact_time", "query_time", "wait_time")]
LISTS_125 = ["databases", "users", "peers", "pools", "peer_pools", "free_clients", "used_clients", "login_clients",
             "free_servers", "used_servers", "dns_names", "dns_zones", "dns_queries", "dns_pending"]
LISTS_118 = [n for n in LISTS_125 if n not in ("peers", "peer_pools")]


@dataclass
class Table:
    """What one SHOW must answer: PgBouncer 1.25's columns (then pgswift's own trailing ones), or 1.18's."""
    v125: list[tuple[str, int]]
    v118: list[tuple[str, int]] | None          # None: 1.18 answers "invalid command" (the check is skipped)
    # Trailing columns pgswift must add after the 1.25 ones (legacy names read by old exporters, its own extras).
    pgswift_extra: list[tuple[str, int]] = field(default_factory=list)
    pgswift_only: bool = False                   # a pgswift command PgBouncer does not have


TABLES: dict[str, Table] = {
    "VERSION": Table(cols("version:t"), cols("version:t")),
    "CONFIG": Table(cols("key:t value:t default:t changeable:t"), cols("key:t value:t default:t changeable:t"),
                    cols("source:t")),
    "DATABASES": Table(DATABASES_125, DATABASES_118, cols("reserve_pool:i4")),
    "POOLS": Table(POOLS_125, POOLS_125[:-1]),
    "USERS": Table(USERS_125, cols("name:t pool_mode:t")),
    "LISTS": Table(cols("list:t items:i4"), cols("list:t items:i4")),
    "STATE": Table(cols("key:t value:t"), None),
    "CLIENTS": Table(CONN_125, CONN_118, cols("pool_mode:t")),
    "SERVERS": Table(CONN_125, CONN_118, cols("pool_mode:t")),
    "PREPARED_STATEMENTS": Table(cols("database:t user:t server_id:i4 name:t query:t"), None, pgswift_only=True),
    "STATS": Table(STATS_125, STATS_118, cols("total_requests:n")),
    "STATS_TOTALS": Table(STATS_TOTALS_125, STATS_PAIR_118),
    "STATS_AVERAGES": Table(STATS_AVERAGES_125, STATS_PAIR_118),
    "TOTALS": Table(cols("name:t value:n"), cols("name:t value:n")),
    "MEM": Table(cols("name:t size:i4 used:i4 free:i4 memtotal:i4"), cols("name:t size:i4 used:i4 free:i4 memtotal:i4")),
}


def check_table(what: str, r: Reply) -> None:
    """Column names, order, types and wire attributes of a SHOW reply, and that every row fits them."""
    t = TABLES[what]
    want = t.v118 if PGB else t.v125
    assert want is not None
    expect(r.columns is not None, f"SHOW {what}: no RowDescription")
    got = [(c[0], c[1]) for c in r.columns]
    if PGB:
        expect(got == want, f"SHOW {what}: columns {got}, want {want}")
    else:
        expect(got[:len(want)] == want, f"SHOW {what}: columns {got[:len(want)]}, want {want}")
        extra = got[len(want):]
        print(f"SHOW {what}: {len(want)} PgBouncer columns, then {extra}", file=sys.stderr)
        for e in t.pgswift_extra:
            expect(e in extra, f"SHOW {what}: trailing column {e} missing (extra columns: {extra})")
    for name, oid, typlen, typmod, fmt in r.columns:
        expect((typlen, typmod, fmt) == (TYPLEN.get(oid, -99), -1, 0),
               f"SHOW {what}.{name}: typlen/typmod/format {(typlen, typmod, fmt)}")
    for row in r.rows:
        expect(len(row) == len(r.columns), f"SHOW {what}: a row of {len(row)} values for {len(r.columns)} columns")
        for (name, oid, *_), v in zip(r.columns, row):
            if v is None:
                continue
            try:
                if oid in (INT4, INT8):
                    int(v)
                elif oid == NUMERIC:
                    decimal.Decimal(v)
            except (ValueError, decimal.InvalidOperation):
                raise AssertionError(f"SHOW {what}.{name}: {v!r} is not a {oid} value")
    expect(r.tag == "SHOW" and r.status == "I", f"SHOW {what}: tag {r.tag!r}, status {r.status!r}")


# =====================================================================================
# console: logins, tables, values at rest, rights, grammar, extended protocol, drivers
# =====================================================================================

def part_console() -> None:
    def login_admin(db: str) -> Callable[[], None]:
        def check() -> None:
            c = Console(db=db)
            try:
                c.ok("SHOW VERSION")
            finally:
                c.close()
        return check

    R.run("login_admin_pgbouncer", login_admin("pgbouncer"))
    R.run("login_admin_pgswift", login_admin("pgswift"),
          skip="PgBouncer: its console is only called pgbouncer" if PGB else None)

    def login_stats() -> None:
        c = Console(STATS, STATS_PW)
        try:
            c.ok("SHOW POOLS")
        finally:
            c.close()
    R.run("login_stats_user", login_stats)

    def login_parameters() -> None:
        c = Console()
        try:
            p = {k: v for k, v in c.params.items() if not k.startswith("pgbouncer.")}
            print(f"console ParameterStatus: {c.params}, BackendKeyData {c.conn.backend_key}", file=sys.stderr)
            order = ["server_version", "client_encoding", "server_encoding", "DateStyle", "TimeZone",
                     "standard_conforming_strings", "is_superuser"]
            expect(list(p) == order, f"ParameterStatus order {list(p)}, want {order}")
            want = {"client_encoding": "UTF8", "server_encoding": "UTF8", "DateStyle": "ISO", "TimeZone": "GMT",
                    "standard_conforming_strings": "on", "is_superuser": "on"}
            expect(all(p[k] == v for k, v in want.items()), f"values {p}")
            # psql and drivers read the leading version number.
            expect(re.match(r"^\d+\.\d+(\.\d+)?/", p["server_version"]) is not None, f"server_version {p['server_version']!r}")
            expect(c.conn.backend_key is not None, "no BackendKeyData")
        finally:
            c.close()
    R.run("login_parameters", login_parameters)

    def refused(user: str, password: str, want_message: Callable[[str], bool]) -> Callable[[], None]:
        def check() -> None:
            conn = pgwire.RawConn.connect(PROXY_HOST, PROXY_PORT, timeout=10)
            try:
                conn.login(user, CONSOLE_DB, password)
            except pgwire.ServerError as e:
                f = e.fields
                print(f"{user}: refused with {f} after auth requests {conn.auth_methods}", file=sys.stderr)
                expect(f.get("S") == "FATAL", f"severity {f.get('S')}")
                expect(want_message(f.get("M", "")), f"message {f.get('M')!r} (SQLSTATE {f.get('C')})")
                return
            finally:
                conn.close()
            raise AssertionError(f"{user} logged in to the console")
        return check

    def not_allowed() -> None:
        conn = pgwire.RawConn.connect(PROXY_HOST, PROXY_PORT, timeout=10)
        try:
            conn.login(BENCH["user"], CONSOLE_DB, BENCH["password"])
            raise AssertionError("bench logged in to the console")
        except pgwire.ServerError as e:
            got = (e.fields.get("S"), e.fields.get("C"), e.fields.get("M"))
            expect(got == ("FATAL", "08P01", "not allowed"), f"got {got}")
            expect(not conn.auth_methods, f"a password was asked for before refusing ({conn.auth_methods})")
        finally:
            conn.close()
    R.run("login_normal_user_not_allowed", not_allowed)
    # The SQLSTATE is not checked: PgBouncer sends 08P01, pgswift PostgreSQL's 28P01 (as for ordinary logins).
    # PgBouncer's SCRAM path says "SASL authentication failed", its password path "password authentication failed".
    R.run("login_wrong_password", refused(ADMIN, "wrong_pw", lambda m: "authentication failed" in m))
    R.run("login_admin_not_in_auth_file", refused("ghost_admin", "whatever", lambda m: m != ""))

    # --- every SHOW: columns, types, tag -------------------------------------------
    holder = idle = None
    try:
        # A client inside a transaction holds a server (so SERVERS and the link columns have something to show),
        # and an autocommit one holds none.
        holder = client(autocommit=False, application_name="admin-it-holder")
        holder_pid = holder.execute("SELECT pg_backend_pid()").fetchone()[0]
        idle = client(application_name="admin-it-idle")
        idle.execute("SELECT 1")
        con = Console(application_name="admin-it-console")
        for what, t in TABLES.items():
            def check(what: str = what) -> None:
                check_table(what, con.q(f"SHOW {what}"))
            skip = None
            if PGB and t.pgswift_only:
                skip = "PgBouncer: a pgswift command"
            elif PGB and t.v118 is None:
                skip = f"PgBouncer: 1.18 has no SHOW {what}"
            R.run(f"show_{what.lower()}_columns", check, skip=skip)

        def show_help() -> None:
            r = con.ok("SHOW HELP")
            expect(r.columns is None and not r.rows, "SHOW HELP sent a table")
            expect(len(r.notices) == 1, f"{len(r.notices)} notices")
            n = r.notices[0]
            expect((n.get("S"), n.get("C"), n.get("M")) == ("NOTICE", "00000", "Console usage"), f"notice {n}")
            d = n.get("D", "")
            expect(d.startswith("\n\tSHOW HELP|CONFIG|DATABASES|POOLS|CLIENTS|SERVERS|USERS|VERSION"), f"detail {d!r}")
            expect(all(line.startswith("\t") for line in d.split("\n")[1:]), f"every line starts with \\n\\t: {d!r}")
        R.run("show_help", show_help)

        def show_version() -> None:
            r = con.ok("SHOW VERSION")
            expect(len(r.rows) == 1 and r.rows[0][0], f"rows {r.rows}")
            if PGB:
                expect(r.rows[0][0].startswith("PgBouncer "), f"version {r.rows[0][0]!r}")
        R.run("show_version_value", show_version)

        def clients_and_servers() -> None:
            cl, sv = con.rows("SHOW CLIENTS"), con.rows("SHOW SERVERS")
            h = one(cl, "SHOW CLIENTS", application_name="admin-it-holder")
            expect((h["type"], h["user"], h["database"], h["state"], h["addr"]) ==
                   ("C", "scram_user", "pgswift_test", "active", "127.0.0.1"), f"holder row {h}")
            expect(h["link"], f"the holder (in a transaction) has no link: {h}")
            s = one(sv, "SHOW SERVERS", ptr=h["link"])
            expect(s["link"] == h["ptr"], f"server {s['ptr']} links to {s['link']!r}, not back to client {h['ptr']}")
            expect((s["type"], s["state"], s["user"], s["database"]) == ("S", "active", "scram_user", "pgswift_test"),
                   f"server row {s}")
            expect(int(s["remote_pid"]) == holder_pid, f"server remote_pid {s['remote_pid']}, backend {holder_pid}")
            expect((s["addr"], int(s["port"])) == (PG_HOST, PG_PORT), f"server address {s['addr']}:{s['port']}")
            expect(s["application_name"] == "admin-it-holder", f"server application_name {s['application_name']!r}")
            i = one(cl, "SHOW CLIENTS", application_name="admin-it-idle")
            # 1.25 calls a client without a server idle; 1.18 still said active.
            expect(i["state"] == ("active" if PGB else "idle"), f"idle client state {i['state']!r}")
            expect(i["link"] == "", f"idle client link {i['link']!r}")
            me = one(cl, "SHOW CLIENTS", application_name="admin-it-console")
            expect(me["user"] == ADMIN, f"the console's own row {me}")
            for r in cl + sv:
                for k in ("connect_time", "request_time"):
                    expect(re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+$", r[k] or ""), f"{k} {r[k]!r}")
                expect(re.match(r"^0x[0-9a-f]+$", r["ptr"] or ""), f"ptr {r['ptr']!r}")
            for r in cl:
                expect(int(r["remote_pid"]) == 0, f"client over TCP with remote_pid {r['remote_pid']}")
                expect(r["tls"] == "", f"client tls {r['tls']!r} without client TLS")
            if not PGB:
                ids = [int(r["id"]) for r in cl + sv]
                expect(len(ids) == len(set(ids)) and min(ids) > 0, f"ids {ids}")
            live = {p for (p,) in pg("SELECT pid FROM pg_stat_activity")}
            for r in sv:
                expect(int(r["remote_pid"]) in live, f"server remote_pid {r['remote_pid']} is no backend")
        R.run("show_clients_servers_values", clients_and_servers)

        def server_tls() -> None:
            # server_tls_sslmode defaults to prefer (from PgBouncer 1.24 on; 1.18: disable) and PostgreSQL has TLS on.
            # PgBouncer prints the link as protocol/cipher, e.g. TLSv1.3/TLS_AES_256_GCM_SHA384.
            h = one(con.rows("SHOW CLIENTS"), "SHOW CLIENTS", application_name="admin-it-holder")
            s = one(con.rows("SHOW SERVERS"), "SHOW SERVERS", ptr=h["link"])
            ssl = pg("SELECT ssl, version, cipher FROM pg_stat_ssl WHERE pid = %s", holder_pid)
            expect(len(ssl) == 1, f"pg_stat_ssl has no row for {holder_pid}")
            on, version, cipher = ssl[0]
            if not on:
                expect(s["tls"] == "", f"tls {s['tls']!r} on a plaintext server connection")
            elif PGB:
                expect((s["tls"] or "").split("/")[:2] == [version, cipher],
                       f"tls {s['tls']!r}; PostgreSQL reports {version} {cipher}")
            else:
                # swift-nio-ssl tells the protocol version but not the cipher, so pgswift prints the version alone.
                expect((s["tls"] or "").split("/")[0] == version, f"tls {s['tls']!r}; PostgreSQL reports {version} {cipher}")
        R.run("show_servers_tls_column", server_tls)

        def pools() -> None:
            p = one(con.rows("SHOW POOLS"), "SHOW POOLS", database="pgswift_test", user="scram_user")
            n = {k: int(v) for k, v in p.items() if k.startswith(("cl_", "sv_"))}
            expect(n["cl_active"] >= 2 and n["cl_waiting"] == 0, f"clients {n}")
            expect(n["sv_active"] == 1, f"servers {n} (the holder's transaction)")
            expect(sum(v for k, v in n.items() if k.startswith("sv_")) <= 2, f"more servers than the pool of 2: {n}")
            expect(p["pool_mode"] == "transaction", f"pool_mode {p['pool_mode']!r}")
            expect((int(p["maxwait"]), int(p["maxwait_us"])) == (0, 0), f"maxwait {p['maxwait']}.{p['maxwait_us']}")
        R.run("show_pools_values", pools)

        def databases() -> None:
            d = one(con.rows("SHOW DATABASES"), "SHOW DATABASES", name="pgswift_test")
            want = {"host": PG_HOST, "port": str(PG_PORT), "database": "pgswift_test", "force_user": None,
                    "pool_size": "2", "min_pool_size": "0", "pool_mode": None, "max_connections": "0",
                    "paused": "0", "disabled": "0"}
            got = {k: d.get(k) for k in want}
            expect(got == want, f"pgswift_test row {got}, want {want}")
            expect(int(d["current_connections"]) >= 1, f"current_connections {d['current_connections']}")
            if not PGB:
                expect(int(d["current_client_connections"]) >= 2,
                       f"current_client_connections {d['current_client_connections']}")
                expect(d["reserve_pool"] == d["reserve_pool_size"], "reserve_pool differs from reserve_pool_size")
        R.run("show_databases_values", databases)

        def config() -> None:
            rows = con.rows("SHOW CONFIG")
            kv = {r["key"]: r for r in rows}
            expect(kv["default_pool_size"]["value"] == "2", f"default_pool_size {kv['default_pool_size']}")
            expect(kv["pool_mode"]["value"] == "transaction", f"pool_mode {kv['pool_mode']}")
            admins = [u.strip() for u in (kv["admin_users"]["value"] or "").split(",")]
            expect(ADMIN in admins, f"admin_users {kv['admin_users']['value']!r}")
            expect(kv["stats_users"]["value"] == STATS, f"stats_users {kv['stats_users']['value']!r}")
            expect(all(r["changeable"] in ("yes", "no") for r in rows), "changeable not yes/no")
            expect(kv["listen_port"]["changeable"] == "no", f"listen_port {kv['listen_port']}")
            if not PGB:  # sorted from 1.25 on
                keys = [r["key"] for r in rows]
                expect(keys == sorted(keys), "SHOW CONFIG is not sorted by key")
        R.run("show_config_values", config)

        def users() -> None:
            names = {r["name"] for r in con.rows("SHOW USERS")}
            missing = {ADMIN, STATS, "scram_user", "bench"} - names
            expect(not missing, f"SHOW USERS lacks {missing}")
        R.run("show_users_values", users)

        def lists() -> None:
            r = con.ok("SHOW LISTS")
            names = [row[0] for row in r.rows]
            want = LISTS_118 if PGB else LISTS_125
            expect(names == want, f"rows {names}, want {want}")
            items = {row[0]: int(row[1]) for row in r.rows}
            expect(items["databases"] >= 3, f"databases {items['databases']}")
            expect(items["pools"] >= 1 and items["users"] >= 5, f"lists {items}")
            expect(items["used_clients"] >= 3, f"used_clients {items['used_clients']} with 3 clients connected")
            expect(items["used_servers"] >= 1, f"used_servers {items['used_servers']}")
        R.run("show_lists_values", lists)

        def mem() -> None:
            # Counts, not only columns: the clients this check holds are live objects of known size.
            rows = {r[0]: (int(r[1]), int(r[2]), int(r[4])) for r in con.ok("SHOW MEM").rows}
            size, used, total = rows.get("client_cache", (0, 0, 0))
            expect(used >= 3 and size > 0 and total == size * used, f"client_cache {rows.get('client_cache')}")
            expect(rows.get("server_cache", (0, 0, 0))[1] >= 1, f"server_cache {rows.get('server_cache')}")
        R.run("show_mem_values", mem, skip="PgBouncer: its slab caches count differently" if PGB else None)

        def state() -> None:
            r = con.ok("SHOW STATE")
            expect(r.rows == [("active", "yes"), ("paused", "no"), ("suspended", "no")], f"rows {r.rows}")
        R.run("show_state_values", state, skip="PgBouncer: 1.18 has no SHOW STATE" if PGB else None)

        def admin_rows() -> None:
            # PgBouncer lists its console as a fake database and pool "pgbouncer" (user pgbouncer, statement mode,
            # pool_size 2), so exporters see the console's own clients and queries.
            wrong = []
            pools = [r for r in con.rows("SHOW POOLS") if (r["database"], r["user"]) == ("pgbouncer", "pgbouncer")]
            if not (pools and pools[0]["pool_mode"] == "statement" and int(pools[0]["cl_active"]) >= 1):
                wrong.append(f"SHOW POOLS pgbouncer/pgbouncer: {pools}")
            dbs = [r for r in con.rows("SHOW DATABASES") if r["name"] == "pgbouncer"]
            want = {"host": None, "port": str(PROXY_PORT), "database": "pgbouncer", "force_user": "pgbouncer",
                    "pool_size": "2", "pool_mode": "statement"}
            if not (dbs and {k: dbs[0][k] for k in want} == want):
                wrong.append(f"SHOW DATABASES pgbouncer: {dbs and {k: dbs[0][k] for k in want}}")
            if "pgbouncer" not in {r["name"] for r in con.rows("SHOW USERS")}:
                wrong.append("SHOW USERS has no pgbouncer")
            if "pgbouncer" not in {r["database"] for r in con.rows("SHOW STATS")}:
                wrong.append("SHOW STATS has no pgbouncer row")
            expect(not wrong, " | ".join(wrong))
        R.run("show_admin_pool_rows", admin_rows)
        con.close()
    finally:
        for c in (holder, idle):
            if c is not None:
                c.close()

    # --- rights ---------------------------------------------------------------------
    def stats_may_show() -> None:
        c = Console(STATS, STATS_PW)
        try:
            for what in ("HELP", "VERSION", "CONFIG", "DATABASES", "POOLS", "USERS", "LISTS", "CLIENTS", "SERVERS"):
                c.ok(f"SHOW {what}")
        finally:
            c.close()
    R.run("stats_user_may_show", stats_may_show)

    def stats_refused(commands: list[str]) -> Callable[[], None]:
        def check() -> None:
            c = Console(STATS, STATS_PW)
            try:
                for sql in commands:
                    c.fails(sql, "admin access needed")
                # The grammar is checked before the rights.
                c.fails("RELOAD now", invalid("RELOAD now"))
            finally:
                c.close()
        return check
    built = ["PAUSE", "RESUME", "RELOAD", "SHUTDOWN", "PAUSE bench", "RESUME bench"]
    if not PGB:
        built.append("SHUTDOWN WAIT_FOR_CLIENTS")
    R.run("stats_user_admin_commands_refused", stats_refused(built))
    new = ["DISABLE bench", "ENABLE bench", "KILL bench", "RECONNECT", "RECONNECT bench", "SET default_pool_size = 3"]
    if not PGB:
        new.append("KILL_CLIENT 1")   # admin-only since 1.25.2; 1.18 has no KILL_CLIENT
    R.run("stats_user_new_commands_refused", stats_refused(new))

    # --- grammar --------------------------------------------------------------------
    con = Console()

    def valid_forms() -> None:
        for sql in ("show pools;", "   show   version   ;   ", "Show Version ;", "SHOW \"pools\"", "SELECT pools"):
            r = con.ok(sql)
            expect(r.columns is not None and r.columns[0][0] in ("database", "version"), f"{sql!r}: columns {r.names}")
        r = con.ok("SELECT version")
        expect(r.names == ["version"] and len(r.rows) == 1, f"SELECT version: {r.names} {r.rows}")
    R.run("grammar_valid_forms", valid_forms)

    def invalid_commands() -> None:
        texts = ["FOO", "SHOW", "SHOW FOO", "SELECT 1", ";", "SHOW VERSION; SHOW LISTS", "SHOW VERSION;;",
                 "SHOW pools extra", "RELOAD now", "SUSPEND now", "PAUSE my-db", "SET server_reset_query = DISCARD ALL"]
        if not PGB:  # not captured on 1.18, where SHUTDOWN with an argument is too risky to try
            texts.append("SHUTDOWN BOGUS")
        con.fails_all([(sql, invalid(sql)) for sql in texts])
        con.ok("SHOW VERSION")  # the session is still usable
    R.run("grammar_invalid_commands", invalid_commands)

    def quoted_names() -> None:
        con.fails('PAUSE "no-such-db"', "no such database: no-such-db")
        con.fails('PAUSE "a""b"', 'no such database: a"b')
    R.run("grammar_quoted_database", quoted_names)

    def long_argument() -> None:
        con.fails("PAUSE " + "a" * 78, "bad arguments")
    R.run("grammar_long_argument", long_argument)
    con.close()

    # --- extended protocol and other message types ------------------------------------
    def refused_message(msg: bytes, text: str) -> Callable[[], None]:
        def check() -> None:
            c = Console()
            c.conn.send(msg + pgwire.SYNC)
            frames, closed = c.conn.read_until_closed(5)
            c.conn.close()
            summary = [(f.type, f.error_fields() if f.type == "E" else f.body[:1]) for f in frames]
            print(f"reply to {msg[:1]!r}: {summary}, closed={closed}", file=sys.stderr)
            expect(closed, "the connection stayed open")
            expect([f.type for f in frames] == ["E", "Z", "E"], f"frames {summary}")
            e1, e2 = frames[0].error_fields(), frames[2].error_fields()
            expect((e1.get("S"), e1.get("C"), e1.get("M")) == ("ERROR", "08P01", text), f"first error {e1}")
            expect(frames[1].body == b"I", f"ReadyForQuery {frames[1].body!r}")
            expect((e2.get("S"), e2.get("C"), e2.get("M")) == ("FATAL", "08P01", "bad packet"), f"second error {e2}")
        return check
    ext = "extended query protocol not supported by admin console"
    R.run("extended_parse_refused", refused_message(pgwire.parse_msg("", "SHOW POOLS"), ext))
    R.run("extended_bind_refused", refused_message(pgwire.bind_msg("", ""), ext))
    R.run("extended_describe_refused", refused_message(pgwire.describe_msg("S", ""),
                                                       "unsupported packet type for admin console: 68"))
    R.run("extended_sync_refused", refused_message(b"", "unsupported packet type for admin console: 83"))

    def asyncpg_console() -> None:
        import asyncpg

        async def run() -> None:
            kw = dict(host=PROXY_HOST, port=PROXY_PORT, user=ADMIN, password=ADMIN_PW, database=CONSOLE_DB, ssl=False)
            c = await asyncio.wait_for(asyncpg.connect(**kw), 10)
            try:
                # execute() without arguments is a simple Query, which the console understands.
                expect(await asyncio.wait_for(c.execute("SHOW VERSION"), 10) == "SHOW", "execute tag")
                try:
                    await asyncio.wait_for(c.fetch("SHOW POOLS"), 10)
                    raise AssertionError("fetch (extended protocol) succeeded on the console")
                except asyncio.TimeoutError:
                    raise AssertionError("fetch hung instead of failing")
                except (asyncpg.PostgresError, asyncpg.InterfaceError, ConnectionError) as e:
                    print(f"asyncpg fetch failed as expected: {type(e).__name__}: {e}", file=sys.stderr)
            finally:
                c.terminate()
        asyncio.run(asyncio.wait_for(run(), 30))
    R.run("asyncpg_fails_cleanly", asyncpg_console)

    def psycopg_default_cursor() -> None:
        # psycopg's default cursor sends a query without parameters as a simple Query (so it works), and one
        # with parameters as Parse/Bind/Execute (refused, and the connection closed).
        with psycopg.connect(proxy_dsn(user=ADMIN, password=ADMIN_PW, dbname=CONSOLE_DB), autocommit=True) as c:
            expect(c.execute("SHOW VERSION").fetchone()[0], "SHOW VERSION without parameters")
            t0 = time.monotonic()
            try:
                c.execute("SHOW %s", ["VERSION"])
                raise AssertionError("a parameterised query (extended protocol) worked on the console")
            except psycopg.Error as e:
                print(f"psycopg refused after {time.monotonic() - t0:.2f}s: {e}", file=sys.stderr)
                expect(ext in str(e), f"error {e}")
            expect(c.closed or c.broken or _query_fails(c), "the connection survived the extended-protocol error")
    R.run("psycopg_default_cursor", psycopg_default_cursor)

    def psycopg_client_cursor() -> None:
        # ClientCursor sends simple Query messages, as psycopg's documentation advises for PgBouncer's console.
        with psycopg.connect(proxy_dsn(user=STATS, password=STATS_PW, dbname=CONSOLE_DB), autocommit=True,
                             cursor_factory=psycopg.ClientCursor) as c:
            cur = c.execute("SHOW POOLS")
            names = [d.name for d in cur.description]
            expect(names[:3] == ["database", "user", "cl_active"], f"columns {names}")
            expect(all(isinstance(r[2], int) for r in cur.fetchall()), "cl_active not read as an int")
    R.run("psycopg_client_cursor", psycopg_client_cursor)

    def psycopg2_console() -> None:
        import psycopg2
        c = psycopg2.connect(host=PROXY_HOST, port=PROXY_PORT, user=STATS, password=STATS_PW, dbname=CONSOLE_DB,
                             sslmode="disable", connect_timeout=10)
        try:
            c.autocommit = True
            with c.cursor() as cur:
                cur.execute("SHOW LISTS;")
                rows = dict(cur.fetchall())
                expect(isinstance(rows.get("databases"), int), f"SHOW LISTS {rows}")
                cur.execute("SHOW HELP")
                expect(any("Console usage" in n for n in c.notices), f"notices {c.notices}")
        finally:
            c.close()
    R.run("psycopg2_console", psycopg2_console)

    def psql_console() -> None:
        env = dict(os.environ, PGPASSWORD=ADMIN_PW)
        base = ["psql", "-X", "-At", "-h", PROXY_HOST, "-p", str(PROXY_PORT), "-U", ADMIN, "-d", CONSOLE_DB]
        p = subprocess.run(base + ["-c", "SHOW VERSION"], env=env, capture_output=True, text=True, timeout=30)
        expect(p.returncode == 0 and len(p.stdout.splitlines()) == 1, f"SHOW VERSION: {p.returncode} {p.stdout!r} {p.stderr!r}")
        p = subprocess.run(base + ["-c", "SHOW HELP"], env=env, capture_output=True, text=True, timeout=30)
        expect(p.returncode == 0 and "NOTICE:  Console usage" in p.stderr, f"SHOW HELP: {p.returncode} {p.stderr!r}")
        p = subprocess.run(base + ["-c", "FOO"], env=env, capture_output=True, text=True, timeout=30)
        expect(p.returncode != 0 and "invalid command 'FOO', use SHOW HELP;" in p.stderr, f"FOO: {p.stderr!r}")
    R.run("psql_console", psql_console)


# =====================================================================================
# load: SHOW POOLS / CLIENTS / SERVERS while pgbench runs
# =====================================================================================

def part_load() -> None:
    samples: list[dict[str, Any]] = []
    bench = Pgbench(seconds=6)
    try:
        con = Console()
        time.sleep(1.5)  # all 8 clients connected
        t_end = time.monotonic() + 3
        while time.monotonic() < t_end:
            pools = con.rows("SHOW POOLS")
            p = [r for r in pools if (r["database"], r["user"]) == ("pgswift_test", "bench")]
            cl = [r for r in con.rows("SHOW CLIENTS") if (r["database"], r["user"]) == ("pgswift_test", "bench")]
            sv = [r for r in con.rows("SHOW SERVERS") if (r["database"], r["user"]) == ("pgswift_test", "bench")]
            backends = set(bench_backends())
            samples.append(dict(pool=p, clients=cl, servers=sv, backends=backends))
            time.sleep(0.2)
        con.close()
    finally:
        processed, failed, _ = bench.result()

    def pools_consistent() -> None:
        expect(samples, "no samples")
        active_seen = 0
        for s in samples:
            expect(len(s["pool"]) == 1, f"{len(s['pool'])} pool rows for pgswift_test/bench")
            n = {k: int(v) for k, v in s["pool"][0].items() if k.startswith(("cl_", "sv_"))}
            servers = n["sv_active"] + n["sv_idle"] + n["sv_used"] + n["sv_tested"] + n["sv_login"]
            expect(servers <= 2, f"{servers} servers in a pool of 2: {n}")
            cl_total = n["cl_active"] + n["cl_waiting"] + n["cl_active_cancel_req"] + n["cl_waiting_cancel_req"]
            expect(cl_total == 8, f"SHOW POOLS counts {cl_total} clients for pgbench's 8: {n}")
            expect(len(s["clients"]) == 8, f"SHOW CLIENTS lists {len(s['clients'])} pgbench clients")
            states = {c["state"] for c in s["clients"]}
            expect(states <= {"active", "idle", "waiting"}, f"client states {states}")
            expect(all(c["application_name"] == "pgbench" for c in s["clients"]), "application_name is not pgbench")
            active_seen = max(active_seen, n["sv_active"])
        expect(active_seen >= 1, "no sample saw an active server")
        print(f"{len(samples)} samples, peak sv_active {active_seen}", file=sys.stderr)
    R.run("load_pools_consistent", pools_consistent)

    def real_pids() -> None:
        for s in samples:
            expect(len(s["servers"]) <= 2, f"{len(s['servers'])} server rows for a pool of 2")
            for r in s["servers"]:
                expect(int(r["remote_pid"]) in s["backends"],
                       f"remote_pid {r['remote_pid']} not among bench's backends {sorted(s['backends'])}")
        expect(any(s["servers"] for s in samples), "no server rows seen")
    R.run("load_servers_real_pids", real_pids)

    def pgbench_ok() -> None:
        expect(failed == 0 and processed > 0, f"{processed} processed, {failed} failed")
    R.run("load_pgbench", pgbench_ok)


# =====================================================================================
# stats: SHOW STATS / STATS_TOTALS / STATS_AVERAGES / TOTALS
# =====================================================================================

def stats_row(con: Console, db: str = "pgswift_test") -> dict[str, Any]:
    return one(con.rows("SHOW STATS"), "SHOW STATS", database=db)


def part_stats() -> None:
    con = Console(STATS, STATS_PW)

    def counts() -> None:
        before = stats_row(con)
        # One psql session, 100 autocommit statements: 100 transactions, 100 queries.
        script = "".join("SELECT 1;\n" for _ in range(100))
        env = dict(os.environ, PGPASSWORD="scram_pw")
        p = subprocess.run(["psql", "-X", "-q", "-At", "-h", PROXY_HOST, "-p", str(PROXY_PORT), "-U", "scram_user",
                            "-d", "pgswift_test"], input=script, env=env, capture_output=True, text=True, timeout=60)
        expect(p.returncode == 0 and p.stdout.split() == ["1"] * 100, f"psql: {p.returncode} {p.stderr[:200]!r}")
        got: dict[str, decimal.Decimal] = {}

        def grown() -> bool:
            after = stats_row(con)
            got.update({k: num(after[k]) - num(before[k]) for k in
                        ("total_xact_count", "total_query_count", "total_received", "total_sent")})
            return got["total_xact_count"] >= 100 and got["total_query_count"] >= 100
        ok = wait_for(grown, 5, 0.5)
        print(f"growth after 100 statements: {got}", file=sys.stderr)
        expect(ok, f"counters grew by {got}, want >= 100 transactions and queries")
        # "SELECT 1;" is a 15-byte Query message, its reply over 50 bytes.
        expect(got["total_received"] >= 1500 and got["total_sent"] >= 5000, f"byte counters grew by {got}")
    R.run("stats_counts_transactions", counts)

    def totals_agree() -> None:
        s = stats_row(con)
        t = one(con.rows("SHOW STATS_TOTALS"), "SHOW STATS_TOTALS", database="pgswift_test")
        for a, b in (("total_xact_count", "xact_count"), ("total_query_count", "query_count"),
                     ("total_received", "bytes_received"), ("total_sent", "bytes_sent")):
            expect(num(t[b]) >= num(s[a]), f"STATS_TOTALS {b} {t[b]} < STATS {a} {s[a]}")
        totals = {r[0]: num(r[1]) for r in con.ok("SHOW TOTALS").rows}
        names = TOTALS_NAMES_118 if PGB else TOTALS_NAMES_125
        expect(list(totals) == names, f"SHOW TOTALS rows {list(totals)}, want {names}")
        expect(totals["total_xact_count"] >= num(s["total_xact_count"]), "TOTALS total_xact_count below one database's")
        expect(totals["total_client_bytes"] >= num(s["total_received"]), "TOTALS total_client_bytes below one database's")
    R.run("stats_totals_agree", totals_agree)

    def averages() -> None:
        # stats_period is 2 s in this config: averages over a loaded period must be positive.
        bench = Pgbench(seconds=6)
        seen: dict[str, Any] = {}

        def positive() -> bool:
            a = one(con.rows("SHOW STATS_AVERAGES"), "SHOW STATS_AVERAGES", database="pgswift_test")
            s = stats_row(con)
            seen.update(avg_xact=a["xact_count"], avg_query=a["query_count"], stats_avg=s["avg_xact_count"])
            return num(a["xact_count"]) > 0 and num(a["query_count"]) > 0 and num(s["avg_xact_count"]) > 0
        try:
            ok = wait_for(positive, 5.5, 0.5)
        finally:
            processed, failed, _ = bench.result()
        expect(ok, f"averages stayed at {seen} under load")
        expect(failed == 0, f"pgbench: {failed} failed")
    R.run("stats_averages_under_load", averages)

    def logins() -> None:
        # Each completed login counts once for its database, the console's under "pgbouncer" (PgBouncer's way);
        # a refused one does not count.
        before, before_console = stats_row(con), stats_row(con, "pgbouncer")
        before_totals = one(con.rows("SHOW STATS_TOTALS"), "SHOW STATS_TOTALS", database="pgswift_test")
        for _ in range(3):
            psycopg.connect(proxy_dsn(), autocommit=True).close()
        try:
            psycopg.connect(proxy_dsn(password="wrong"), autocommit=True).close()
        except psycopg.OperationalError:
            pass
        Console(STATS, STATS_PW).close()
        got: dict[str, decimal.Decimal] = {}

        def counted() -> bool:
            after, after_console = stats_row(con), stats_row(con, "pgbouncer")
            totals = one(con.rows("SHOW STATS_TOTALS"), "SHOW STATS_TOTALS", database="pgswift_test")
            got.update(db=num(after["total_client_login_count"]) - num(before["total_client_login_count"]),
                       totals=num(totals["client_login_count"]) - num(before_totals["client_login_count"]),
                       console=num(after_console["total_client_login_count"])
                       - num(before_console["total_client_login_count"]))
            return got["db"] >= 3 and got["console"] >= 1
        wait_for(counted, 5, 0.2)
        print(f"client logins counted: {got}", file=sys.stderr)
        expect(got == {"db": 3, "totals": 3, "console": 1}, f"logins counted {got}, want 3 for pgswift_test (3 logins, "
                                                              "1 refused) and 1 for the console")
        totals = {r[0]: num(r[1]) for r in con.ok("SHOW TOTALS").rows}
        expect(totals["total_client_login_count"] >= num(stats_row(con)["total_client_login_count"]) + 1,
               f"SHOW TOTALS total_client_login_count {totals['total_client_login_count']} below the databases' sum")
    R.run("stats_client_logins", logins, skip="PgBouncer: 1.18 does not count client logins" if PGB else None)

    def login_average() -> None:
        # stats_period is 2 s: a burst of logins shows as a positive rate in the period after it.
        for _ in range(6):
            psycopg.connect(proxy_dsn(), autocommit=True).close()
        seen: dict[str, Any] = {}

        def positive() -> bool:
            s = stats_row(con)
            a = one(con.rows("SHOW STATS_AVERAGES"), "SHOW STATS_AVERAGES", database="pgswift_test")
            seen.update(stats=s["avg_client_login_count"], averages=a["client_login_count"])
            return num(s["avg_client_login_count"]) > 0 and num(a["client_login_count"]) > 0
        expect(wait_for(positive, 5, 0.25), f"login averages stayed at {seen}")
    R.run("stats_client_login_average", login_average, skip="PgBouncer: 1.18 does not count client logins" if PGB else None)

    def legacy() -> None:
        s = stats_row(con)
        expect("total_requests" in s, f"SHOW STATS has no total_requests: {list(s)}")
        expect(num(s["total_requests"]) >= num(s["total_query_count"]) > 0,
               f"total_requests {s['total_requests']}, total_query_count {s['total_query_count']}")
    R.run("stats_total_requests_legacy", legacy,
          skip="PgBouncer: total_requests was dropped in 1.8" if PGB else None)
    con.close()


# =====================================================================================
# exporter: Debian's Python prometheus-pgbouncer-exporter 1.7 scraping the console
# =====================================================================================

EXPORTER = "/usr/bin/prometheus-pgbouncer-exporter"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_metrics(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for line in text.splitlines():
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$", line)
        if m:
            labels = tuple(sorted(re.findall(r'(\w+)="([^"]*)"', m.group(2) or "")))
            out[(m.group(1), labels)] = float(m.group(3))
    return out


def part_exporter() -> None:
    if PGB:
        R.skip("exporter_metrics", "PgBouncer: the exporter reads SHOW STATS total_requests, gone since 1.8")
        return
    if not os.access(EXPORTER, os.X_OK):
        R.skip("exporter_metrics", f"{EXPORTER} missing (Debian package prometheus-pgbouncer-exporter)")
        return

    def check() -> None:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE")}
        env["PGPASSWORD"] = STATS_PW
        log = tempfile.TemporaryFile("w+")
        cmd = [EXPORTER, "--pgbouncer-host", PROXY_HOST, "--pgbouncer-port", str(PROXY_PORT), "--pgbouncer-user", STATS,
               "--host", "127.0.0.1", "--port", str(port)]
        print("--- " + " ".join(cmd), file=sys.stderr)
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        con = Console(STATS, STATS_PW)
        try:
            before = stats_row(con)
            text = ""
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    break
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
                        text = resp.read().decode()
                    break
                except OSError:
                    time.sleep(0.3)
            log.seek(0)
            out = log.read()
            expect(text, f"no /metrics (exporter exit {proc.poll()}): {' '.join(out.split())[-300:]}")
            m = parse_metrics(text)
            print("exporter metrics:\n  " + "\n  ".join(l for l in text.splitlines() if l.startswith("pgbouncer_")),
                  file=sys.stderr)
            db = (("database", "pgswift_test"),)
            lists = {r[0]: int(r[1]) for r in con.ok("SHOW LISTS").rows}
            pools = con.rows("SHOW POOLS")
            dbrow = one(con.rows("SHOW DATABASES"), "SHOW DATABASES", name="pgswift_test")
            expect(m.get(("pgbouncer_requests_total", db), -1) >= float(num(before["total_requests"])),
                   f"pgbouncer_requests_total {m.get(('pgbouncer_requests_total', db))}, SHOW STATS said {before['total_requests']}")
            for name in ("received_bytes_total", "sent_bytes_total", "query_microseconds_total"):
                expect(("pgbouncer_" + name, db) in m, f"pgbouncer_{name} missing")
            expect(m.get(("pgbouncer_pool_size", db)) == float(dbrow["pool_size"]),
                   f"pgbouncer_pool_size {m.get(('pgbouncer_pool_size', db))}, SHOW DATABASES {dbrow['pool_size']}")
            expect(("pgbouncer_reserve_pool", db) in m, "pgbouncer_reserve_pool missing")
            for p in pools:
                key = ("pgbouncer_active_clients", (("database", p["database"]), ("user", p["user"])))
                expect(key in m, f"no {key}")
                if p["database"] == "pgswift_test":  # quiet now; the console's own pool changes with the scrape
                    expect(m[key] == float(p["cl_active"]), f"{key} = {m[key]}, SHOW POOLS cl_active {p['cl_active']}")
            for name in ("databases", "users", "pools"):
                expect(m.get((f"pgbouncer_{name}", ())) == float(lists[name]),
                       f"pgbouncer_{name} {m.get((f'pgbouncer_{name}', ()))}, SHOW LISTS {lists[name]}")
            for name in LISTS_118:
                expect((f"pgbouncer_{name}", ()) in m, f"pgbouncer_{name} missing")
            expect(proc.poll() is None, "the exporter exited after the scrape")
        finally:
            con.close()
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
    R.run("exporter_metrics", check)


# =====================================================================================
# pause: PAUSE / RESUME while pgbench runs
# =====================================================================================

def part_pause() -> None:
    waiter = client()          # connected (and idle) before the pause: its next query must wait
    waiter.execute("SELECT 1")
    con = Console()
    bench = Pgbench(seconds=7)
    st: dict[str, Any] = {}
    try:
        time.sleep(2)
        t0 = time.monotonic()
        r = con.q("PAUSE", timeout=20)
        st["pause_secs"] = time.monotonic() - t0
        st["pause"] = r
        if r.error is None:
            st["active"] = []
            for _ in range(3):
                time.sleep(0.3)
                st["active"].append(bench_backends("active"))
            st["blocked"] = Background(lambda: waiter.execute("SELECT 42").fetchone())
            time.sleep(1.0)
            st["blocked_waiting"] = not st["blocked"].done()
            st["pool"] = one(con.rows("SHOW POOLS"), "SHOW POOLS", database="pgswift_test", user="bench")
            if not PGB:
                st["state"] = con.ok("SHOW STATE").rows
            st["again"] = con.q("PAUSE")
            t1 = time.monotonic()
            st["resume"] = con.q("RESUME")
            st["released"] = st["blocked"].wait(5)
            st["released_secs"] = time.monotonic() - t1
    finally:
        if not st.get("resume"):
            con.q("RESUME")
        processed, failed, _ = bench.result()
    st["resume_again"] = con.q("RESUME")
    con.close()
    waiter.close()

    def returns() -> None:
        r = st["pause"]
        expect(r.error is None and r.tag == "PAUSE" and r.status == "I", f"PAUSE: {r.error or r.tag}")
        expect(st["pause_secs"] < 5, f"PAUSE took {st['pause_secs']:.1f}s")
        print(f"PAUSE answered after {st['pause_secs']:.2f}s", file=sys.stderr)
    R.run("pause_returns", returns)

    def nothing_active() -> None:
        expect("active" in st, "not paused")
        expect(all(not a for a in st["active"]), f"bench backends active during the pause: {st['active']}")
    R.run("pause_no_active_queries", nothing_active)

    def blocks() -> None:
        expect(st.get("blocked_waiting"), "a query ran during the pause")
        expect(int(st["pool"]["cl_waiting"]) >= 1, f"SHOW POOLS during the pause: {st['pool']}")
    R.run("pause_blocks_queries", blocks)

    def state() -> None:
        expect(st.get("state") == [("active", "no"), ("paused", "yes"), ("suspended", "no")], f"SHOW STATE {st.get('state')}")
    R.run("pause_show_state", state, skip="PgBouncer: 1.18 has no SHOW STATE" if PGB else None)

    def twice() -> None:
        r = st["again"]
        expect(r.error and (r.error["C"], r.error["M"]) == ("08P01", "already suspended/paused"), f"second PAUSE: {r.error or r.tag}")
    R.run("pause_twice_refused", twice)

    def resumes() -> None:
        r = st["resume"]
        expect(r.error is None and r.tag == "RESUME", f"RESUME: {r.error or r.tag}")
        b = st["blocked"]
        expect(st["released"] and b.error is None and b.value == (42,), f"blocked query after RESUME: {b.value} {b.error}")
        print(f"blocked query done {st['released_secs']:.2f}s after RESUME", file=sys.stderr)
    R.run("resume_releases_queries", resumes)

    def not_paused() -> None:
        r = st["resume_again"]
        expect(r.error and (r.error["C"], r.error["M"]) == ("08P01", "pooler is not paused/suspended"),
               f"RESUME when not paused: {r.error or r.tag}")
    R.run("resume_not_paused", not_paused)

    def pgbench_ok() -> None:
        # Seven seconds of 8 clients with about two of them paused: far more than 100 when nothing is lost.
        expect(failed == 0, f"{failed} failed transactions")
        expect(processed >= 100, f"only {processed} transactions")
    R.run("pause_pgbench_no_failures", pgbench_ok)


# =====================================================================================
# reload: RELOAD raising default_pool_size under load, then a broken file
# =====================================================================================

def set_setting(path: str, key: str, value: str) -> None:
    with open(path) as f:
        lines = f.read().splitlines()
    hits = [i for i, l in enumerate(lines) if re.match(rf"^{key}\s*=", l)]
    expect(len(hits) == 1, f"{key} appears {len(hits)} times in {path}")
    lines[hits[0]] = f"{key} = {value}"
    with open(path, "w") as f:   # rewritten in place: owner and mode stay the proxy's
        f.write("\n".join(lines) + "\n")


def part_reload() -> None:
    config = arg("config")
    con = Console()
    bench = Pgbench(seconds=8)
    st: dict[str, Any] = {"before": [], "after": []}
    try:
        t_end = time.monotonic() + 2.5
        while time.monotonic() < t_end:
            st["before"].append(len(bench_backends()))
            time.sleep(0.1)
        set_setting(config, "default_pool_size", "4")
        st["reload"] = con.q("RELOAD")
        t_end = time.monotonic() + 3.5
        while time.monotonic() < t_end:
            st["after"].append(len(bench_backends()))
            time.sleep(0.1)
        st["db"] = one(con.rows("SHOW DATABASES"), "SHOW DATABASES", name="pgswift_test")
        st["cfg"] = one(con.rows("SHOW CONFIG"), "SHOW CONFIG", key="default_pool_size")
    finally:
        processed, failed, _ = bench.result()

    def grows() -> None:
        r = st.get("reload")
        expect(r is not None and r.error is None and r.tag == "RELOAD", f"RELOAD: {r and (r.error or r.tag)}")
        print(f"bench backends before {st['before']}, after {st['after']}", file=sys.stderr)
        expect(max(st["before"]) <= 2, f"{max(st['before'])} backends before the reload (pool of 2)")
        expect(max(st["after"]) <= 4, f"{max(st['after'])} backends after the reload (pool of 4)")
        expect(max(st["after"]) >= 3, f"the pool never grew past {max(st['after'])} after the reload")
    R.run("reload_pool_size_grows", grows)

    def shows() -> None:
        expect(st["db"]["pool_size"] == "4", f"SHOW DATABASES pool_size {st['db']['pool_size']}")
        expect(st["cfg"]["value"] == "4", f"SHOW CONFIG default_pool_size {st['cfg']['value']}")
    R.run("reload_show_new_values", shows)

    def pgbench_ok() -> None:
        expect(failed == 0 and processed > 0, f"{processed} processed, {failed} failed")
    R.run("reload_pgbench_no_failures", pgbench_ok)

    st2: dict[str, Any] = {}
    try:
        set_setting(config, "default_pool_size", "abc")
        st2["reload"] = con.q("RELOAD")
        st2["cfg"] = one(con.rows("SHOW CONFIG"), "SHOW CONFIG", key="default_pool_size")
        with client() as c:
            st2["query"] = c.execute("SELECT 5").fetchone()
    finally:
        set_setting(config, "default_pool_size", "4")

    def broken_error() -> None:
        r = st2["reload"]
        expect(r.error is not None, f"RELOAD of a broken file answered {r.tag!r}")
        got = (r.error.get("S"), r.error.get("C"), r.error.get("M"))
        expect(got == ("ERROR", "F0000", "RELOAD failed, see logs for additional details"), f"got {got}")
    R.run("reload_broken_config_error", broken_error,
          skip="PgBouncer: 1.18 answers RELOAD even when the file is broken (F0000 from 1.25)" if PGB else None)

    def still_serves() -> None:
        expect(st2["query"] == (5,), f"query after the failed reload: {st2['query']}")
        con.ok("SHOW VERSION")
    R.run("reload_broken_still_serves", still_serves)

    def keeps_old() -> None:
        expect(st2["cfg"]["value"] == "4", f"default_pool_size after the failed reload: {st2['cfg']['value']!r}")
    R.run("reload_broken_keeps_old_values", keeps_old,
          skip="PgBouncer: 1.18 resets the broken key to its default (20)" if PGB else None)
    con.close()


# =====================================================================================
# commands: PAUSE db / RESUME db, DISABLE / ENABLE, KILL, KILL_CLIENT, RECONNECT, SET
# =====================================================================================

def bench_client(**kw: Any) -> psycopg.Connection:
    return client(user="bench", password="bench", dbname="bench", **kw)


def db_row(con: Console, name: str) -> dict[str, Any]:
    return one(con.rows("SHOW DATABASES"), "SHOW DATABASES", name=name)


def part_commands() -> None:
    con = Console()

    def pause_db() -> None:
        b = bench_client()
        other = client()
        blocked = None
        try:
            b.execute("SELECT 1")
            r = con.q("PAUSE bench", timeout=10)
            expect(r.error is None and r.tag == "PAUSE", f"PAUSE bench: {r.error or r.tag}")
            try:
                expect(db_row(con, "bench")["paused"] == "1", "bench not paused=1 in SHOW DATABASES")
                expect(db_row(con, "pgswift_test")["paused"] == "0", "pgswift_test paused too")
                if not PGB:
                    expect(("paused", "no") in con.ok("SHOW STATE").rows, "a database pause changed SHOW STATE")
                blocked = Background(lambda: b.execute("SELECT 43").fetchone())
                expect(other.execute("SELECT 2").fetchone() == (2,), "another database was paused as well")
                time.sleep(1)
                expect(not blocked.done(), f"bench ran a query while paused: {blocked.value} {blocked.error}")
            finally:
                r = con.q("RESUME bench")
            expect(r.error is None and r.tag == "RESUME", f"RESUME bench: {r.error or r.tag}")
            expect(blocked.wait(5) and blocked.value == (43,), f"after RESUME bench: {blocked.value} {blocked.error}")
            con.fails("RESUME bench", "database bench is not paused")
            con.fails("PAUSE nosuchdb", "no such database: nosuchdb")
            con.fails("RESUME nosuchdb", "no such database: nosuchdb")
            con.fails("PAUSE pgbouncer", "cannot pause admin db: pgbouncer")
        finally:
            b.close()
            other.close()
    R.run("pause_resume_database", pause_db)

    def disable_enable() -> None:
        before = bench_client()
        try:
            r = con.q("DISABLE bench")
            expect(r.error is None and r.tag == "DISABLE", f"DISABLE bench: {r.error or r.tag}")
            try:
                expect(db_row(con, "bench")["disabled"] == "1", "disabled is not 1")
                try:
                    bench_client(connect_timeout=5).close()
                    raise AssertionError("a new login to a disabled database succeeded")
                except psycopg.OperationalError as e:
                    # Newer PgBouncers: "database does not allow connections: bench"; 1.18: 'database "bench" is disabled'.
                    expect("does not allow connections" in str(e) or "is disabled" in str(e), f"refusal: {e}")
                expect(before.execute("SELECT 3").fetchone() == (3,), "an existing client stopped working")
            finally:
                r = con.q("ENABLE bench")
            expect(r.error is None and r.tag == "ENABLE", f"ENABLE bench: {r.error or r.tag}")
            expect(db_row(con, "bench")["disabled"] == "0", "disabled is not 0 after ENABLE")
            with bench_client() as c:
                expect(c.execute("SELECT 4").fetchone() == (4,), "login after ENABLE")
        finally:
            before.close()
    R.run("disable_enable", disable_enable)

    def disable_enable_errors() -> None:
        con.fails_all([
            ("DISABLE", "a database is required"), ("ENABLE", "a database is required"),
            ("DISABLE nosuchdb", "no such database: nosuchdb"), ("ENABLE nosuchdb", "no such database: nosuchdb"),
            ("DISABLE pgbouncer", "cannot disable admin db: pgbouncer"),
        ])
        # 1.25 says "cannot disable admin db" here too (the wording was fixed to "enable" in 1.26): either is fine.
        r = con.q("ENABLE pgbouncer")
        expect(r.error is not None and r.error.get("M") in ("cannot disable admin db: pgbouncer",
                                                          "cannot enable admin db: pgbouncer"), f"ENABLE pgbouncer: {r.error}")
    R.run("disable_enable_errors", disable_enable_errors)

    def kill_client() -> None:
        victim = pgwire.RawConn.connect(PROXY_HOST, PROXY_PORT)
        try:
            victim.login("scram_user", "pgswift_test", "scram_pw", application_name="admin-it-victim")
            row = one(con.rows("SHOW CLIENTS"), "SHOW CLIENTS", application_name="admin-it-victim")
            con.ok(f"KILL_CLIENT {row['id']}", tag="KILL_CLIENT")
            frames, closed = victim.read_until_closed(5)
            errs = [f.error_fields() for f in frames if f.type == "E"]
            expect(closed, "the victim is still connected")
            expect(any((e.get("S"), e.get("C"), e.get("M")) == ("FATAL", "08P01", "admin forced disconnect") for e in errs),
                   f"victim got {errs}")
            expect(not [r for r in con.rows("SHOW CLIENTS") if r["application_name"] == "admin-it-victim"],
                   "the victim is still listed")
        finally:
            victim.close()
    R.run("kill_client", kill_client, skip="PgBouncer: KILL_CLIENT is new in 1.24" if PGB else None)

    def kill_client_errors() -> None:
        con.fails_all([("KILL_CLIENT 999999", "client not found"), ("KILL_CLIENT abc", "invalid client pointer supplied"),
                       ("KILL_CLIENT", "invalid client pointer supplied")])
    R.run("kill_client_errors", kill_client_errors, skip="PgBouncer: KILL_CLIENT is new in 1.24" if PGB else None)

    def reconnect() -> None:
        holder = client(autocommit=False)
        try:
            pid = holder.execute("SELECT pg_backend_pid()").fetchone()[0]
            con.ok("RECONNECT pgswift_test", tag="RECONNECT")
            s = one(con.rows("SHOW SERVERS"), "SHOW SERVERS", remote_pid=str(pid))
            expect(s["close_needed"] == "1", f"close_needed {s['close_needed']} after RECONNECT")
            expect(holder.execute("SELECT 6").fetchone() == (6,), "the transaction broke")
            holder.commit()   # released: the server must now be closed, not reused
            gone = wait_for(lambda: not pg("SELECT 1 FROM pg_stat_activity WHERE pid = %s", pid), 5)
            expect(gone, f"backend {pid} still there after its transaction ended")
            new_pid = holder.execute("SELECT pg_backend_pid()").fetchone()[0]
            expect(new_pid != pid, "the old server was reused")
            holder.commit()
            con.ok("RECONNECT", tag="RECONNECT")
            con.fails("RECONNECT nosuchdb", "no such database: nosuchdb")
            con.fails("RECONNECT pgbouncer", "cannot reconnect admin db: pgbouncer")
        finally:
            holder.close()
    R.run("reconnect", reconnect)

    def set_command() -> None:
        holders: list[psycopg.Connection] = []
        try:
            con.ok("SET default_pool_size = 3", tag="SET default_pool_size=3")
            expect(one(con.rows("SHOW CONFIG"), "SHOW CONFIG", key="default_pool_size")["value"] == "3", "SHOW CONFIG")
            # Three transactions at once now get three servers (with the pool of 2 the third would wait).
            for _ in range(3):
                h = client(autocommit=False)
                holders.append(h)
                got = Background(lambda h=h: h.execute("SELECT 1").fetchone())
                expect(got.wait(5), "a third transaction waited: the new pool size is not in effect")
            expect(db_row(con, "pgswift_test")["pool_size"] == "3", "SHOW DATABASES pool_size")
            for h in holders:
                h.rollback()
            con.ok("SET default_pool_size to 2", tag="SET default_pool_size=2")
            con.ok("set default_pool_size='2'", tag="SET default_pool_size=2")
            con.ok("SET server_reset_query = 'DISCARD ALL'", tag="SET server_reset_query=DISCARD ALL")
            con.fails("SET default_pool_size = abc", "SET failed")
            con.fails("SET nosuch = 1", "SET failed")
            con.fails("SET pool_mode = bogus", "SET failed")
        finally:
            for h in holders:
                h.close()
    R.run("set_setting", set_command)

    def config_sources() -> None:
        # pgswift's trailing column: where each value came from. default_pool_size was just SET above.
        config = arg("config")
        with open(config) as f:
            lines = {ln.split("=", 1)[0].strip(): i for i, ln in enumerate(f, 1) if "=" in ln}
        kv = {r["key"]: r for r in con.rows("SHOW CONFIG")}
        got = {k: kv[k]["source"] for k in ("listen_port", "pool_mode", "log_stats", "default_pool_size", "server_lifetime")}
        want = {"listen_port": f"{config}:{lines['listen_port']}", "pool_mode": f"{config}:{lines['pool_mode']}",
                "log_stats": "environment", "default_pool_size": "SET", "server_lifetime": "default"}
        expect(got == want, f"sources {got}, want {want}")
        expect(kv["log_stats"]["value"] == "0", f"log_stats {kv['log_stats']['value']!r} (PGSWIFT_LOG_STATS=0)")
    R.run("show_config_sources", config_sources,
          skip="PgBouncer: SHOW CONFIG has no source column" if PGB else None)

    def fake_parameters() -> None:
        # Drivers' SHOW/SET of session parameters get fixed answers (PgBouncer's compatibility stubs).
        r = con.ok("SHOW client_encoding")
        expect(r.names == ["client_encoding"] and r.rows == [("UTF-8",)], f"SHOW client_encoding: {r.names} {r.rows}")
        r = con.ok("SET client_encoding = 'LATIN1'", tag="SET")
        expect([(n.get("M")) for n in r.notices] == ["SET ignored"], f"notices {r.notices}")
        s = Console(STATS, STATS_PW)
        try:
            s.ok("SET datestyle TO ISO", tag="SET")
        finally:
            s.close()
    R.run("fake_session_parameters", fake_parameters)

    late: dict[str, Background] = {}

    def kill_db() -> None:
        victim = pgwire.RawConn.connect(PROXY_HOST, PROXY_PORT)
        try:
            victim.login(BENCH["user"], "bench", BENCH["password"])
            victim.simple_query("SELECT 1")
            con.ok("KILL bench", tag="KILL")
            try:
                frames, closed = victim.read_until_closed(5)
                errs = [f.error_fields() for f in frames if f.type == "E"]
                expect(closed, "the bench client is still connected after KILL bench")
                expect(any((e.get("S"), e.get("M")) == ("FATAL", "database removed") for e in errs), f"victim got {errs}")
                expect(wait_for(lambda: not pg("SELECT 1 FROM pg_stat_activity WHERE datname = 'bench' AND usename = 'bench'"), 5),
                       f"bench's server connections survived KILL: {pg('SELECT pid, state, application_name, backend_start, left(query, 60) FROM pg_stat_activity WHERE datname = %s AND usename = %s', 'bench', 'bench')}; "
                       f"SHOW SERVERS {[(r['database'], r['state'], r['remote_pid']) for r in con.rows('SHOW SERVERS')]}")
                expect(db_row(con, "bench")["paused"] == "1", "a killed database is not left paused")
                # A client arriving now must wait for RESUME.
                late["bg"] = Background(lambda: login_and_query(44))
                time.sleep(1.5)
                expect(not late["bg"].done(), f"a client got through to the killed database: {late['bg'].value} {late['bg'].error}")
            finally:
                r = con.q("RESUME bench")
            expect(r.error is None and r.tag == "RESUME", f"RESUME bench after KILL: {r.error or r.tag}")
            con.fails("KILL nosuchdb", "no such database: nosuchdb")
            con.fails("KILL pgbouncer", "cannot kill admin db: pgbouncer")
        finally:
            victim.close()
    R.run("kill_database", kill_db)

    def kill_then_resume() -> None:
        bg = late.get("bg")
        expect(bg is not None, "no client waited on the killed database")
        expect(bg.wait(10) and bg.value == (44,), f"the client that waited during the kill, after RESUME: {bg.value} {bg.error}")
        expect(login_and_query(45) == (45,), "a new client after RESUME")
    R.run("kill_database_resume_serves", kill_then_resume,
          skip="PgBouncer: 1.18 gives logins to a KILLed database no server after RESUME (they wait until "
               "connect_timeout)" if PGB else None)

    def kill_all() -> None:
        names = [r["name"] for r in con.rows("SHOW DATABASES") if r["name"] not in ("pgbouncer", "pgswift")]
        # A raw client: a survivor's query would wait on the paused database, so only its socket is watched.
        victim = pgwire.RawConn.connect(PROXY_HOST, PROXY_PORT)
        try:
            victim.login("scram_user", "pgswift_test", "scram_pw")
            victim.simple_query("SELECT 1")
            con.ok("KILL", tag="KILL")
            try:
                rows = {r["name"]: r["paused"] for r in con.rows("SHOW DATABASES")}
                expect(all(rows[n] == "1" for n in names), f"paused after KILL: {rows}")
                _, closed = victim.read_until_closed(5)
                expect(closed, "a pgswift_test client survived KILL")
                con.ok("SHOW VERSION")   # the console itself is not killed
            finally:
                for n in names:
                    con.q(f"RESUME {n}")
            expect(login_and_query(7) == (7,), "query after RESUME of every database")
        finally:
            victim.close()
    R.run("kill_all_databases", kill_all, skip="PgBouncer: KILL without a database is new in 1.25" if PGB else None)
    con.close()


def login_and_query(n: int) -> tuple:
    """Log in as bench to database bench, run SELECT n, log out."""
    with bench_client() as c:
        return c.execute("SELECT %s::int" % n).fetchone()


def _query_fails(c: psycopg.Connection) -> bool:
    try:
        c.execute("SELECT 1")
        return False
    except psycopg.Error:
        return True


# =====================================================================================
# shutdown
# =====================================================================================

def part_shutdown_wait_for_clients() -> None:
    pid = int(arg("pid"))
    if PGB:
        for n in ("refuses_new", "client_continues", "waits_for_clients", "exits"):
            R.skip(f"shutdown_wait_for_clients_{n}", "PgBouncer: 1.18 has no SHUTDOWN WAIT_FOR_CLIENTS (1.23+)")
        return
    c = client()
    c.execute("SELECT 1")
    con = Console()
    st: dict[str, Any] = {}
    try:
        st["reply"] = con.q("SHUTDOWN WAIT_FOR_CLIENTS", timeout=10)
        st["refused"] = wait_for(lambda: port_refuses(PROXY_HOST, PROXY_PORT), 3, 0.1)
        try:
            with c.transaction():
                c.execute("CREATE TEMP TABLE it_shutdown (a int)")
                c.execute("INSERT INTO it_shutdown VALUES (1), (2)")
                st["work"] = c.execute("SELECT count(*) FROM it_shutdown").fetchone()
            st["work2"] = c.execute("SELECT 8").fetchone()
        except psycopg.Error as e:
            st["work_error"] = e
        time.sleep(1)
        st["alive_with_clients"] = alive(pid)
    finally:
        c.close()
        con.close()
    t0 = time.monotonic()
    st["exited"] = wait_for(lambda: not alive(pid), 8, 0.05)
    st["exit_secs"] = time.monotonic() - t0

    def refuses() -> None:
        r = st["reply"]
        expect(r.error is None and r.tag == "SHUTDOWN", f"SHUTDOWN WAIT_FOR_CLIENTS: {r.error or r.tag}")
        expect(st["refused"], "new TCP connections still accepted")
    R.run("shutdown_wait_for_clients_refuses_new", refuses)

    def continues() -> None:
        expect("work_error" not in st, f"the existing client failed: {st.get('work_error')}")
        expect(st.get("work") == (2,) and st.get("work2") == (8,), f"results {st.get('work')} {st.get('work2')}")
    R.run("shutdown_wait_for_clients_client_continues", continues)

    def waits() -> None:
        expect(st["alive_with_clients"], "the proxy exited while clients were connected")
    R.run("shutdown_wait_for_clients_waits_for_clients", waits)

    def exits() -> None:
        expect(st["exited"], "the proxy is still running 8 s after its last client left")
        print(f"exited {st['exit_secs']:.2f}s after the last client", file=sys.stderr)
    R.run("shutdown_wait_for_clients_exits", exits)


def part_shutdown_immediate() -> None:
    pid = int(arg("pid"))

    def check() -> None:
        c = client()
        c.execute("SELECT 1")
        con = Console()
        try:
            con.conn.send(pgwire.message(b"Q", pgwire.cstr("SHUTDOWN")))
            frames, closed = con.conn.read_until_closed(8)
            kinds = [f.type for f in frames]
            expect(closed, "the console connection is still open")
            expect("C" not in kinds, f"SHUTDOWN was answered: {kinds}")
            expect(wait_for(lambda: not alive(pid), 8, 0.05), "the proxy is still running")
            expect(_query_fails(c), "a client still works after SHUTDOWN")
        finally:
            c.close()
            con.conn.close()
    R.run("shutdown_immediate", check)


PARTS: dict[str, Callable[[], None]] = {
    "console": part_console, "load": part_load, "stats": part_stats, "exporter": part_exporter,
    "pause": part_pause, "reload": part_reload, "commands": part_commands,
    "shutdown_wait_for_clients": part_shutdown_wait_for_clients, "shutdown_immediate": part_shutdown_immediate,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in PARTS:
        raise SystemExit(f"usage: admin_checks.py {'|'.join(PARTS)} [KEY=VALUE]...")
    PARTS[sys.argv[1]]()
    R.exit()
