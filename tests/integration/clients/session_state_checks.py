"""Session state in transaction pooling: settings follow their client from server to server, LISTEN/locks/cursors/temp tables/SQL PREPARE pin it.

usage: session_state_checks.py PART
  pool1    two or three clients taking turns on one server connection (default_pool_size = 1)
  startup  the same, for settings sent in the startup packet (options=-c ..., asyncpg's server_settings),
           on a proxy of its own: a value wrongly left on the server would otherwise reach later checks
  noreset  a pool of one with an empty server_reset_query: a pinned client's server must be closed when it leaves
  pool2    default_pool_size = 2: a pinned client keeps one server while the others share the second
  reported MODE  startup parameters come back (ParameterStatus) exactly as PostgreSQL itself reports them

checks/session_state.sh starts the proxy for each part (transaction pooling, admin_users =
pgswift_admin for SHOW CLIENTS).  Every client is in autocommit mode, so each statement is a
transaction of its own and gives its server back; explicit transactions are sent as BEGIN/COMMIT.
"""

from __future__ import annotations

import asyncio
import os
import socket
import struct
import subprocess
import sys
import threading
from typing import Any, Callable

import asyncpg
import psycopg
from psycopg import errors, sql

import pgwire
from harness import (PASSWORD, PG_HOST, PG_PORT, PROXY_HOST, PROXY_PORT, TEST_DB, USER, Results, expect, is_pgbouncer,
                     proxy_dsn, superuser_dsn, wait_for)

R = Results("ss")
PGB = is_pgbouncer()
# PgBouncer 1.18 forwards SQL untouched: only the parameters it reports (TimeZone, DateStyle, application_name...)
# follow a client, and nothing keeps a client on its server between transactions.
NO_TRACKING = "PgBouncer 1.18 does not track session state in transaction mode" if PGB else None

ADMIN, ADMIN_PW = "pgswift_admin", "admin_pw"
# TimeZone and DateStyle come back to the client as ParameterStatus and PgBouncer 1.18 already carries them;
# the others only the session-state tracking can carry (IntervalStyle is reported too, but 1.18 ignores it).
OTHER = ("search_path", "statement_timeout", "IntervalStyle")
REPORTED = ("TimeZone", "DateStyle")
TENANT = "app.tenant"


def connect(app: str, *, prepare_threshold: int | None = None, **dsn: Any) -> psycopg.Connection:
    """An autocommit psycopg client whose startup application_name is `app` (how SHOW CLIENTS tells them apart).

    prepare_threshold None by default: named protocol-level statements are the subject of
    prepared_interleave alone, so the other checks fail for one reason at a time.
    """
    return psycopg.connect(proxy_dsn(application_name=app, **dsn), autocommit=True, prepare_threshold=prepare_threshold)


class Clients:
    """Opens clients and closes them all at the end of a check, even a failed one, so a pool of one is never left held."""

    def __init__(self) -> None:
        self.conns: list[psycopg.Connection] = []

    def __enter__(self) -> "Clients":
        return self

    def open(self, app: str, **kw: Any) -> psycopg.Connection:
        c = connect(app, **kw)
        self.conns.append(c)
        return c

    def __exit__(self, *exc: Any) -> None:
        for c in self.conns:
            try:
                c.close()
            except Exception:  # noqa: BLE001 - best effort
                pass


def value(c: psycopg.Connection, query: str, params: tuple | None = None) -> Any:
    return c.execute(query, params).fetchone()[0]


def pid(c: psycopg.Connection) -> int:
    return value(c, "SELECT pg_backend_pid()")


STATE_SQL = ("SELECT pg_backend_pid(), " + ", ".join(f"current_setting('{n}')" for n in OTHER + REPORTED)
             + f", coalesce(current_setting('{TENANT}', true), ''), current_setting('application_name')")


def state(c: psycopg.Connection) -> dict[str, Any]:
    """The client's settings as its current server session has them (one transaction), with that server's pid.

    A custom setting that was never set reads as NULL, one that was RESET as '': both count as unset.
    """
    row = c.execute(STATE_SQL).fetchone()
    names = ("pid",) + OTHER + REPORTED + (TENANT, "application_name")
    return dict(zip(names, row))


def same(got: dict[str, Any], want: dict[str, Any], who: str) -> None:
    diff = {k: (got.get(k), v) for k, v in want.items() if got.get(k) != v}
    expect(not diff, f"{who}: (got, want) {diff}")


def within(seconds: float, fn: Callable[[], Any], what: str) -> Any:
    """Runs fn in a thread; fails if it has not finished in time (a client waiting for a server that never comes)."""
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - re-raised below
            out["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    expect(not t.is_alive(), f"{what}: no answer within {seconds:.0f}s")
    if "error" in out:
        raise out["error"]
    return out.get("value")


def scrub(*conns: psycopg.Connection) -> None:
    """DISCARD ALL from the clients of a check that may have left state the proxy did not see: the session really
    is reset then, so a failure here does not spill into the checks after it on the same server."""
    for c in conns:
        try:
            c.execute("DISCARD ALL")
        except Exception:  # noqa: BLE001 - best effort, the check's own result stands
            pass


# --- the admin console's SHOW CLIENTS, read with the raw client (it takes simple queries only) -----------

def show_clients() -> list[dict[str, str | None]]:
    conn = pgwire.RawConn.connect(PROXY_HOST, PROXY_PORT)
    try:
        conn.login(ADMIN, "pgswift", ADMIN_PW)
        conn.send(pgwire.message(b"Q", pgwire.cstr("SHOW CLIENTS")))
        names: list[str] = []
        rows: list[tuple[str | None, ...]] = []
        for f in conn.read_until_ready():
            if f.type == "T":
                (n,) = struct.unpack("!H", f.body[:2])
                pos = 2
                for _ in range(n):
                    end = f.body.index(b"\0", pos)
                    names.append(f.body[pos:end].decode())
                    pos = end + 19
            elif f.type == "D":
                rows.append(pgwire.data_row_values(f.body))
            elif f.type == "E":
                raise pgwire.ServerError(f.error_fields())
        return [dict(zip(names, r)) for r in rows]
    finally:
        conn.terminate()


def pinned(app: str) -> str | None:
    """The `pinned` column of the one client whose application_name is `app`."""
    rows = [r for r in show_clients() if r.get("application_name") == app]
    expect(len(rows) == 1, f"SHOW CLIENTS has {len(rows)} rows for application_name {app!r}")
    expect("pinned" in rows[0], f"SHOW CLIENTS has no pinned column: {sorted(rows[0])}")
    return rows[0]["pinned"]


def expect_pinned(c: psycopg.Connection, app: str, want: str) -> None:
    # The probe that decides runs after the client got its answer: one more transaction waits for it.
    c.execute("SELECT 1")
    got = pinned(app)
    expect(got == want, f"SHOW CLIENTS pinned for {app}: {got!r}, want {want!r}")


# --- defaults --------------------------------------------------------------------------------------------

BASELINE: dict[str, Any] = {}


def read_baseline() -> None:
    """What a fresh client sees before any check ran: the server defaults every untouched client must keep seeing."""
    with Clients() as cs:
        s = state(cs.open("ss-baseline"))
    BASELINE.update({k: s[k] for k in OTHER + REPORTED + (TENANT,)})
    print(f"baseline settings: {BASELINE}", file=sys.stderr)
    expect(BASELINE[TENANT] == "", f"{TENANT} already set for a fresh client: {BASELINE[TENANT]!r}")


def defaults(app: str) -> dict[str, Any]:
    return {**BASELINE, "application_name": app}


# ---------------------------------------------------------------------------
# pool1: clients taking turns on a single server connection

def one_server() -> None:
    # Everything below relies on this: with a pool of one, every client's transaction runs on the same backend.
    with Clients() as cs:
        pids = {pid(c) for c in (cs.open("ss-one-a"), cs.open("ss-one-b"), cs.open("ss-one-c"))}
        expect(len(pids) == 1, f"three clients on a pool of one ran on backends {pids}")


def other_values(who: str, i: int) -> dict[str, str]:
    off = 0 if who == "a" else 1
    return {
        "search_path": f"ss_{who}{i}, public",
        # Odd millisecond counts: PostgreSQL shows them back as written (2000ms would read "2s").
        "statement_timeout": f"{1001 + 2 * i + 500 * off}ms",
        "IntervalStyle": ("sql_standard", "iso_8601", "postgres_verbose")[(i + off) % 3],
        TENANT: f"{who}-{i}",
    }


def apply_other(c: psycopg.Connection, v: dict[str, str], i: int) -> None:
    """The same settings sent three ways in turn: one multi-statement Query, separate Queries, extended protocol."""
    tenant_sql = (f"SET {TENANT} = '{v[TENANT]}'" if i % 2 else f"SELECT set_config('{TENANT}', '{v[TENANT]}', false)")
    stmts = [f"SET search_path = {v['search_path']}",
             f"SET SESSION statement_timeout = '{v['statement_timeout']}'",
             f"SET IntervalStyle TO {v['IntervalStyle']}", tenant_sql]
    if i % 3 == 0:
        c.execute("; ".join(stmts))
    elif i % 3 == 1:
        for s in stmts:
            c.execute(s)
    else:
        for s in stmts[:3]:
            c.execute(s, binary=True)  # binary results force Parse/Bind/Execute for a query without parameters
        c.execute(f"SELECT set_config('{TENANT}', %s, false)", (v[TENANT],))


def set_interleave() -> None:
    # A and B set the same settings to different values, alternating on one server; C never sets
    # anything and must always find the defaults (the server was reset for it).
    with Clients() as cs:
        a, b, cl = cs.open("ss-int-a"), cs.open("ss-int-b"), cs.open("ss-int-c")
        want = {"a": defaults("ss-int-a"), "b": defaults("ss-int-b")}
        same(state(a), want["a"], "A before any SET")
        for i in range(24):
            for who, c, other, other_c in (("a", a, "b", b), ("b", b, "a", a)):
                apply_other(c, v := other_values(who, i), i)
                want[who].update(v)
                same(state(other_c), want[other], f"round {i}: {other.upper()} after {who.upper()}'s SET")
                same(state(cl), defaults("ss-int-c"), f"round {i}: C after {who.upper()}'s SET")
                same(state(c), want[who], f"round {i}: {who.upper()} after its own SET")


def reported_interleave() -> None:
    # The same for TimeZone and DateStyle (see REPORTED), through SET, SET TIME ZONE and set_config.
    zones = ("Asia/Kolkata", "Asia/Kathmandu", "Asia/Tokyo", "Europe/Lisbon", "America/Sao_Paulo", "Australia/Eucla")
    styles = ("SQL, DMY", "German, DMY", "Postgres, MDY", "ISO, YMD", "Postgres, DMY", "SQL, MDY")
    with Clients() as cs:
        a, b, cl = cs.open("ss-rep-a"), cs.open("ss-rep-b"), cs.open("ss-rep-c")
        want = {"a": defaults("ss-rep-a"), "b": defaults("ss-rep-b")}
        for i in range(18):
            for who, c, k, other, other_c in (("a", a, 0, "b", b), ("b", b, 3, "a", a)):
                tz, ds = zones[(i + k) % 6], styles[(i + k) % 6]
                if i % 2:
                    c.execute(f"SET TIME ZONE '{tz}'; SET DateStyle = '{ds}'")
                else:
                    c.execute(f"SET TimeZone = '{tz}'", binary=True)
                    c.execute("SELECT set_config('DateStyle', %s, false)", (ds,))
                want[who].update({"TimeZone": tz, "DateStyle": ds})
                same(state(other_c), want[other], f"round {i}: {other.upper()} after {who.upper()}'s SET")
                same(state(cl), defaults("ss-rep-c"), f"round {i}: C after {who.upper()}'s SET")
                same(state(c), want[who], f"round {i}: {who.upper()} after its own SET")


def setting_changed_in_function() -> None:
    # The SQL only calls a function; the function changes TimeZone (a reported setting). PostgreSQL's ParameterStatus
    # tells the proxy, which must then treat it as the client's own SET: carried for it, reset for the others.
    fn = "it_ss_set_zone"
    with Clients() as cs:
        a, cl = cs.open("ss-fn-a"), cs.open("ss-fn-c")
        a.execute(f"CREATE OR REPLACE FUNCTION {fn}(z text) RETURNS text LANGUAGE plpgsql AS "
                  "$f$ BEGIN PERFORM set_config('TimeZone', z, false); RETURN z; END $f$")
        try:
            for zone in ("Asia/Tokyo", "Pacific/Chatham"):
                expect(value(a, f"SELECT {fn}(%s)", (zone,)) == zone, "the function's answer")
                same(state(cl), defaults("ss-fn-c"), f"the other client after {zone}")
                same(state(a), {**defaults("ss-fn-a"), "TimeZone": zone}, f"the calling client after {zone}")
        finally:
            a.execute(f"DROP FUNCTION IF EXISTS {fn}(text)")
            scrub(a)


def set_application_name() -> None:
    # Each client also sent application_name at startup (as libpq does): its later SET must win over that.
    with Clients() as cs:
        a, b = cs.open("ss-app-a"), cs.open("ss-app-b")
        want_b = "ss-app-b"
        for i in range(10):
            a.execute(f"SET application_name = 'ss-app-a-set{i}'")
            got = value(b, "SHOW application_name")
            expect(got == want_b, f"round {i}: B's application_name {got!r}, want {want_b!r}")
            got = value(a, "SHOW application_name")
            expect(got == f"ss-app-a-set{i}", f"round {i}: A's application_name {got!r}, want its SET 'ss-app-a-set{i}'")
            if i % 2:
                want_b = f"ss-app-b-set{i}"
                b.execute(f"SET application_name = '{want_b}'")


def reset_application_name() -> None:
    # RESET goes back to the value the client sent at startup, as on a session of its own, whichever
    # client's startup packet opened the server connection.
    with Clients() as cs:
        a, b = cs.open("ss-appreset-a"), cs.open("ss-appreset-b")
        for i in range(3):
            a.execute(f"SET application_name = 'ss-appreset-a-set{i}'")
            a.execute("RESET application_name")
            got_b = value(b, "SHOW application_name")
            expect(got_b == "ss-appreset-b", f"round {i}: B's application_name after A's RESET: {got_b!r}")
            got = value(a, "SHOW application_name")
            expect(got == "ss-appreset-a", f"round {i}: A's application_name after RESET: {got!r}, want its startup value")


def timezone_rendering() -> None:
    # timestamptz output follows each client's own zone on every transaction (fixed-offset zones, no DST).
    with Clients() as cs:
        a, b, cl = cs.open("ss-tz-a"), cs.open("ss-tz-b"), cs.open("ss-tz-c")
        default_offset = value(cl, "SELECT to_char(now(), 'OF')")
        a.execute("SET TIME ZONE 'Asia/Kolkata'")
        b.execute("SET TimeZone = 'Asia/Kathmandu'")
        fixed = "SELECT '2024-01-01 12:00:00+00'::timestamptz::text, now()::text"
        for i in range(12):
            for c, instant, suffix in ((a, "2024-01-01 17:30:00+05:30", "+05:30"), (b, "2024-01-01 17:45:00+05:45", "+05:45")):
                got = c.execute(fixed).fetchone()
                expect(got[0] == instant and got[1].endswith(suffix), f"round {i}: {got}, want {instant} and now() in {suffix}")
            got_c = value(cl, "SELECT now()::text")
            expect(got_c.endswith(default_offset), f"round {i}: C's now() {got_c!r} not in the default zone {default_offset}")


def reset_settings() -> None:
    with Clients() as cs:
        a, b = cs.open("ss-reset-a"), cs.open("ss-reset-b")
        wa = defaults("ss-reset-a") | {"search_path": "ss_r, public", "statement_timeout": "1234ms",
                                        "TimeZone": "Asia/Tokyo", TENANT: "r"}
        a.execute("SET search_path = ss_r, public; SET statement_timeout = '1234ms'; SET TimeZone = 'Asia/Tokyo';"
                  f" SET {TENANT} = 'r'")
        wb = defaults("ss-reset-b") | {"statement_timeout": "4321ms", TENANT: "rb"}
        b.execute(f"SET statement_timeout = '4321ms'; SELECT set_config('{TENANT}', 'rb', false)")
        same(state(a), wa, "A after its SETs")
        a.execute("RESET statement_timeout")
        wa["statement_timeout"] = BASELINE["statement_timeout"]
        for i in range(3):
            same(state(a), wa, f"A after RESET statement_timeout ({i})")
            same(state(b), wb, f"B after A's RESET statement_timeout ({i})")
        a.execute(f"RESET {TENANT}")
        wa[TENANT] = ""
        same(state(b), wb, f"B after A's RESET {TENANT}")
        same(state(a), wa, f"A after RESET {TENANT}")
        a.execute("RESET ALL")
        for i in range(3):
            same(state(a), defaults("ss-reset-a"), f"A after RESET ALL ({i})")
            same(state(b), wb, f"B after A's RESET ALL ({i})")


def set_local_not_carried() -> None:
    with Clients() as cs:
        a, b = cs.open("ss-local-a"), cs.open("ss-local-b")
        a.execute("SET statement_timeout = '1111ms'")
        a.execute("BEGIN")
        a.execute(f"SET LOCAL statement_timeout = '2222ms'; SET LOCAL search_path = ss_local; SET LOCAL {TENANT} = 'local'")
        inside = state(a)
        a.execute("COMMIT")
        expect((inside["statement_timeout"], inside["search_path"], inside[TENANT]) == ("2222ms", "ss_local", "local"),
               f"inside the transaction: {inside}")
        want = defaults("ss-local-a") | {"statement_timeout": "1111ms"}
        for i in range(3):
            same(state(a), want, f"A after COMMIT ({i})")
            same(state(b), defaults("ss-local-b"), f"B ({i})")


def set_role_carried() -> None:
    """SET ROLE follows its client and never stays on the server for the next one (pg_settings does not list it)."""
    with psycopg.connect(superuser_dsn(TEST_DB), autocommit=True) as su:
        su.execute("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ss_role') THEN CREATE ROLE ss_role NOLOGIN; END IF; END $$")
        su.execute(f"GRANT ss_role TO {USER}")
    with Clients() as cs:
        a, b = cs.open("ss-role-a"), cs.open("ss-role-b")
        a.execute("SET ROLE ss_role")
        for i in range(3):
            expect(value(a, "SELECT current_user") == "ss_role", f"A lost its role ({i})")
            expect(value(b, "SELECT current_user") == USER, f"B got A's role ({i})")
        a.execute("RESET ROLE")
        expect(value(a, "SELECT current_user") == USER, "A's RESET ROLE")


def rollback_not_carried() -> None:
    # PostgreSQL undoes a SET made in a transaction that rolls back (or in a savepoint rolled back to).
    with Clients() as cs:
        a, b = cs.open("ss-rb-a"), cs.open("ss-rb-b")
        a.execute("BEGIN")
        a.execute(f"SET statement_timeout = '3333ms'; SET {TENANT} = 'rolled-back'; SET TimeZone = 'Asia/Tokyo'")
        a.execute("ROLLBACK")
        same(state(b), defaults("ss-rb-b"), "B after A's rolled-back SET")
        same(state(a), defaults("ss-rb-a"), "A after ROLLBACK")
        with a.transaction():
            a.execute("SET search_path = ss_kept, public")
            a.execute("SAVEPOINT s1")
            a.execute("SET statement_timeout = '4444ms'; SET search_path = ss_undone")
            a.execute("ROLLBACK TO SAVEPOINT s1")
        want = defaults("ss-rb-a") | {"search_path": "ss_kept, public"}
        for i in range(3):
            same(state(b), defaults("ss-rb-b"), f"B after A's savepoint ({i})")
            same(state(a), want, f"A after the savepoint rolled back ({i})")


def failed_set_changes_nothing() -> None:
    with Clients() as cs:
        a, b = cs.open("ss-fail-a"), cs.open("ss-fail-b")
        a.execute("SET statement_timeout = '1500ms'; SET TimeZone = 'Asia/Tokyo'")
        want = defaults("ss-fail-a") | {"statement_timeout": "1500ms", "TimeZone": "Asia/Tokyo"}
        for bad in ("SET statement_timeout = 'soon'", "SET TimeZone = 'Mars/Olympus_Mons'",
                    # One Query is one implicit transaction: the valid SET before the failing one is undone too.
                    "SET search_path = ss_never; SET statement_timeout = 'soon'",
                    f"SET {TENANT} = 'never'; SELECT 1/0"):
            try:
                a.execute(bad)
                raise AssertionError(f"{bad!r} did not fail")
            except (errors.InvalidParameterValue, errors.DivisionByZero):
                pass
            same(state(b), defaults("ss-fail-b"), f"B after A's failed {bad!r}")
            same(state(a), want, f"A after its failed {bad!r}")


def psycopg_extended() -> None:
    # psycopg's own ways of sending a SET: a composed statement, a parameterised set_config, both in a
    # transaction block, all over the extended protocol (unnamed statements). set_config comes first here;
    # custom_setting_later_in_transaction is about custom names in later statements.
    with Clients() as cs:
        a, b = cs.open("ss-ext-a"), cs.open("ss-ext-b")
        want = defaults("ss-ext-a")
        for i in range(8):
            with a.transaction():
                a.execute(f"SELECT set_config('{TENANT}', %s, false), set_config('search_path', %s, false)",
                          (f"ext-{i}", f"ss_ext{i}"))
                a.execute(sql.SQL("SET statement_timeout = {}").format(sql.Literal(f"{2001 + 2 * i}ms")), binary=True)
            want |= {"statement_timeout": f"{2001 + 2 * i}ms", TENANT: f"ext-{i}", "search_path": f"ss_ext{i}"}
            b.execute(f"SELECT set_config('{TENANT}', %s, false)", (f"b-{i}",))
            same(state(a), want, f"round {i}: A")
            same(state(b), defaults("ss-ext-b") | {TENANT: f"b-{i}"}, f"round {i}: B")


def custom_setting_later_in_transaction() -> None:
    # A custom setting is asked for by name, so its name must be picked up from every statement of the
    # transaction, not only from the first one that may change the session.
    with Clients() as cs:
        a, b = cs.open("ss-later-a"), cs.open("ss-later-b")
        try:
            a.execute("BEGIN")
            a.execute("SET statement_timeout = '2468ms'")
            a.execute(f"SET {TENANT} = 'later'")
            a.execute("SELECT set_config('app.second', 'also-later', false)")
            a.execute("COMMIT")
            got_b = b.execute(f"SELECT coalesce(current_setting('{TENANT}', true), ''),"
                              " coalesce(current_setting('app.second', true), '')").fetchone()
            expect(got_b == ("", ""), f"B sees A's custom settings {got_b}")
            same(state(a), defaults("ss-later-a") | {"statement_timeout": "2468ms", TENANT: "later"}, "A")
            got = value(a, "SELECT current_setting('app.second', true)")
            expect(got == "also-later", f"A's app.second is {got!r}")
        finally:
            scrub(a)


def startup_options_apply() -> None:
    # options=-c search_path=... is a startup parameter: it must hold on every transaction, whatever the
    # clients before it on that server did.
    with Clients() as cs:
        a = cs.open("ss-opt-a", options="-c search_path=ss_opt,public -c statement_timeout=7001ms")
        b = cs.open("ss-opt-b")
        # PostgreSQL keeps a startup value as sent ("ss_opt,public", two schemas); a SET with that quoted
        # string would make it one schema named "ss_opt,public".
        want = defaults("ss-opt-a") | {"search_path": "ss_opt,public", "statement_timeout": "7001ms"}
        try:
            for i in range(6):
                same(state(a), want, f"round {i}: A")
                b.execute(f"SET search_path = ss_optb{i}; SET statement_timeout = '{3001 + 2 * i}ms'")
                same(state(b), defaults("ss-opt-b") | {"search_path": f"ss_optb{i}", "statement_timeout": f"{3001 + 2 * i}ms"},
                     f"round {i}: B")
        finally:
            scrub(a, b)


def startup_option_not_leaked() -> None:
    # The other direction: a client without the option must not inherit it from the server's last client.
    with Clients() as cs:
        a = cs.open("ss-optleak-a", options="-c search_path=ss_opt_only_a")
        b = cs.open("ss-optleak-b")
        try:
            for i in range(4):
                expect(value(a, "SHOW search_path") == "ss_opt_only_a", f"round {i}: A's search_path")
                got = value(b, "SHOW search_path")
                expect(got == BASELINE["search_path"], f"round {i}: B (no options) sees search_path {got!r}")
        finally:
            scrub(a, b)


def set_overrides_startup_option() -> None:
    # A SET made after login replaces the startup value (as it would on a plain PostgreSQL session).
    with Clients() as cs:
        a = cs.open("ss-optset-a", options="-c search_path=ss_from_options")
        b = cs.open("ss-optset-b")
        try:
            a.execute("SET search_path = ss_from_set")
            for i in range(4):
                got = value(a, "SHOW search_path")
                expect(got == "ss_from_set", f"round {i}: A's search_path {got!r} after SET, want 'ss_from_set'")
                b.execute(f"SET search_path = ss_b{i}")
            a.execute("RESET search_path")
            got = value(a, "SHOW search_path")
            expect(got == "ss_from_options", f"after RESET A's search_path is {got!r}, want its startup value")
        finally:
            scrub(a, b)


# PGOPTIONS as people write them (libpq sends it as the startup packet's options), and ones PostgreSQL refuses.
PGOPTIONS_CASES = [
    "-c datestyle=German,\\ YMD",
    "-c   datestyle=SQL    -c statement_timeout=4321ms",
    "-cstatement_timeout=1234ms",
    "--statement-timeout=2345ms -c search_path=ss_a,\\ ss_b",
    "-c datestyle=German -- ",
    "-c datestyle",
    "--statement_timeout",
    "-c datestyle=ISO stray",
    "-x",
    "-xc datestyle=ISO",
    "-c datestyle=ISO -xc search_path=x",
    "\\",
]


def psql_with_options(host: str, port: int, options: str) -> str:
    """psql's answer to three SHOWs with PGOPTIONS set, or the FATAL line it was refused with and its HINT."""
    env = dict(os.environ, PGOPTIONS=options, PGPASSWORD=PASSWORD)
    p = subprocess.run(["psql", "-X", "-At", "-h", host, "-p", str(port), "-U", USER, "-d", TEST_DB, "-c",
                        "SELECT current_setting('datestyle'), current_setting('statement_timeout'), "
                        "current_setting('search_path')"], env=env, capture_output=True, text=True, timeout=30)
    if p.returncode == 0:
        return p.stdout.strip()
    # The rest of the line names the host and port, which differ.
    lines = p.stderr.splitlines()
    fatal = next((line[line.index("FATAL:"):] for line in lines if "FATAL:" in line), p.stderr.strip())
    # libpq may try twice (with TLS, then without) and print each attempt's lines; one HINT is enough.
    hint = next((line for line in lines if line.startswith("HINT:")), "")
    return f"{fatal} {hint}".strip()


def pgoptions_as_postgresql() -> None:
    wrong = []
    for options in PGOPTIONS_CASES:
        want = psql_with_options(PG_HOST, PG_PORT, options)
        got = psql_with_options(PROXY_HOST, PROXY_PORT, options)
        print(f"PGOPTIONS={options!r}: PostgreSQL {want!r}, proxy {got!r}", file=sys.stderr)
        if got != want:
            wrong.append(f"PGOPTIONS={options!r}: {got!r}, PostgreSQL {want!r}")
    expect(not wrong, "; ".join(wrong))


async def asyncpg_connect(**kw: Any) -> asyncpg.Connection:
    return await asyncpg.connect(host=PROXY_HOST, port=PROXY_PORT, user=USER, password=PASSWORD, database=TEST_DB,
                                 ssl=False, **kw)


async def a_scrub_close(a: asyncpg.Connection) -> None:
    # As scrub(), for an asyncpg client.
    try:
        await a.execute("DISCARD ALL")
    except Exception:  # noqa: BLE001 - best effort
        pass
    await a.close()


def asyncpg_server_settings() -> None:
    # asyncpg's server_settings travel in the startup packet; they hold on every transaction while a psycopg
    # client sets the same names to other values on the shared server.
    async def run() -> None:
        a = await asyncpg_connect(server_settings={"search_path": "ss_async, public", "application_name": "ss-async",
                                                   "statement_timeout": "6001ms"})
        try:
            with Clients() as cs:
                b = cs.open("ss-async-b")
                for i in range(6):
                    row = await a.fetchrow("SELECT current_setting('search_path'), current_setting('application_name'),"
                                           " current_setting('statement_timeout')")
                    # The search_path exactly as sent: PostgreSQL keeps a startup value as written.
                    expect(tuple(row) == ("ss_async, public", "ss-async", "6001ms"), f"round {i}: asyncpg sees {tuple(row)}")
                    b.execute(f"SET search_path = ss_ab{i}; SET application_name = 'ss-async-b{i}';"
                              f" SET statement_timeout = '{8001 + 2 * i}ms'")
                scrub(b)
        finally:
            await a_scrub_close(a)
    asyncio.run(run())


def asyncpg_set() -> None:
    # SET over asyncpg's execute() (simple protocol) and set_config through a prepared statement (first use).
    async def run() -> None:
        a = await asyncpg_connect()
        try:
            with Clients() as cs:
                b = cs.open("ss-aset-b")
                await a.execute("SET statement_timeout = '2345ms'; SET TimeZone = 'Asia/Kathmandu'")
                got = await a.fetchval(f"SELECT set_config('{TENANT}', $1, false)", "async-tenant")
                expect(got == "async-tenant", f"set_config returned {got!r}")
                async with a.transaction():
                    await a.execute("SET LOCAL search_path = ss_async_local")
                for i in range(6):
                    same(state(b), defaults("ss-aset-b"), f"round {i}: B")
                    row = await a.fetchrow("SELECT current_setting('statement_timeout'), current_setting('TimeZone'),"
                                           f" current_setting('{TENANT}', true), current_setting('search_path')")
                    expect(tuple(row) == ("2345ms", "Asia/Kathmandu", "async-tenant", BASELINE["search_path"]),
                           f"round {i}: asyncpg sees {tuple(row)}")
                    b.execute(f"SET statement_timeout = '{9001 + 2 * i}ms'")
                    b.execute("RESET ALL")
        finally:
            await a.close()
    asyncio.run(run())


def asyncpg_set_config_repeated() -> None:
    # The usual per-request pattern: the same parameterised set_config every time. asyncpg parses it once and
    # then only binds the cached statement, so the later calls carry no SQL text a proxy can look at.
    async def run() -> None:
        a = await asyncpg_connect()
        try:
            with Clients() as cs:
                b = cs.open("ss-arep-b")
                for i in range(8):
                    await a.fetchval(f"SELECT set_config('{TENANT}', $1, false)", f"req-{i}")
                    got_b = value(b, f"SELECT coalesce(current_setting('{TENANT}', true), '')")
                    expect(got_b == "", f"round {i}: B sees {TENANT} = {got_b!r}")
                    got = await a.fetchval(f"SELECT current_setting('{TENANT}', true)")
                    expect(got == f"req-{i}", f"round {i}: asyncpg sees {TENANT} = {got!r}, want 'req-{i}'")
        finally:
            await a_scrub_close(a)
    asyncio.run(run())


def prepared_interleave() -> None:
    # psycopg with prepare_threshold=0 names every statement, so from the second run on the same SET or
    # set_config text is only Bind/Execute. Each client still keeps its own settings, and named statements
    # at the protocol level do not pin anyone.
    with Clients() as cs:
        a = cs.open("ss-prep-a", prepare_threshold=0)
        b = cs.open("ss-prep-b", prepare_threshold=0)
        try:
            prepared_rounds(a, b)
        finally:
            scrub(a, b)


def prepared_rounds(a: psycopg.Connection, b: psycopg.Connection) -> None:
    for i in range(8):
        a.execute("SET statement_timeout = '5001ms'")
        b.execute(f"SELECT set_config('{TENANT}', %s, false)", (f"pb-{i}",))
        same(state(a), defaults("ss-prep-a") | {"statement_timeout": "5001ms"}, f"round {i}: A after SET")
        same(state(b), defaults("ss-prep-b") | {TENANT: f"pb-{i}"}, f"round {i}: B after set_config")
        a.execute("RESET statement_timeout")
        b.execute(f"RESET {TENANT}")
        same(state(a), defaults("ss-prep-a"), f"round {i}: A after RESET")
        same(state(b), defaults("ss-prep-b"), f"round {i}: B after RESET")
    expect_pinned(a, "ss-prep-a", "")
    expect_pinned(b, "ss-prep-b", "")


def pinned_client_waits() -> None:
    # A pinned client keeps the only server: another client's query waits until the pin is undone.
    with Clients() as cs:
        a, b = cs.open("ss-wait-a"), cs.open("ss-wait-b")
        a.execute("LISTEN ss_wait")
        pa = pid(a)
        waiter: dict[str, Any] = {}

        def b_query() -> None:
            waiter["pid"] = pid(b)

        t = threading.Thread(target=b_query, daemon=True)
        t.start()
        t.join(1.5)
        expect(t.is_alive(), "B's query ran although A holds the only server with LISTEN")
        a.execute("UNLISTEN *")
        t.join(10)
        expect(not t.is_alive(), "B's query still waits after A's UNLISTEN *")
        expect(waiter.get("pid") == pa, f"B ran on {waiter.get('pid')}, A's server was {pa}")


def temp_table_disconnect() -> None:
    # A client leaves while its temp table pins the server: the next client gets that server reset (or a new one).
    with Clients() as cs:
        b = cs.open("ss-gone-b")
        a = cs.open("ss-gone-a")
        a.execute("CREATE TEMP TABLE ss_gone (a int); INSERT INTO ss_gone VALUES (1)")
        pa = pid(a)
        a.close()
        got = within(10, lambda: b.execute("SELECT to_regclass('ss_gone'), pg_backend_pid()").fetchone(), "B after A left")
        print(f"A's server {pa}, next client on {got[1]} ({'reset' if got[1] == pa else 'new server'})", file=sys.stderr)
        expect(got[0] is None, f"B sees A's temp table ({got})")
        same(state(b), defaults("ss-gone-b"), "B's settings")


def pinned_client_vanishes() -> None:
    # The socket just closes (no Terminate) while the client holds a session advisory lock.
    with Clients() as cs:
        b = cs.open("ss-vanish-b")
        a = cs.open("ss-vanish-a")
        expect(value(a, "SELECT pg_advisory_lock(31337) IS NOT NULL"), "lock")
        a.execute(f"SET {TENANT} = 'vanished'")
        sock = socket.socket(fileno=os.dup(a.pgconn.socket))
        sock.shutdown(socket.SHUT_RDWR)
        sock.close()
        got = within(10, lambda: value(b, "SELECT pg_try_advisory_lock(31337)"), "B after A vanished")
        expect(got is True, "B cannot take the lock A held when it vanished")
        b.execute("SELECT pg_advisory_unlock_all()")
        same(state(b), defaults("ss-vanish-b"), "B's settings")


# ---------------------------------------------------------------------------
# noreset: server_reset_query is empty, so a pinned client's server cannot be cleaned and must be closed

def temp_table_disconnect_closed() -> None:
    with Clients() as cs, psycopg.connect(superuser_dsn(), autocommit=True) as su:
        b = cs.open("ss-closed-b")
        a = cs.open("ss-closed-a")
        a.execute("CREATE TEMP TABLE ss_closed (a int)")
        pa = pid(a)
        a.close()
        got = within(10, lambda: b.execute("SELECT to_regclass('ss_closed'), pg_backend_pid()").fetchone(), "B after A left")
        expect(got[0] is None and got[1] != pa, f"B got {got}; A's server {pa} should have been closed")
        expect(wait_for(lambda: su.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pa,)).fetchone()[0] == 0, 5),
               f"A's backend {pa} still exists")


# ---------------------------------------------------------------------------
# pool2: two servers

def on_other_server(a: psycopg.Connection, last_pid: int, h1: psycopg.Connection, h2: psycopg.Connection,
                    holder_app: tuple[str, str]) -> dict[str, Any]:
    """Holds the server `a` last ran on with a holder in a transaction, so that a's next transaction lands on the
    other one; returns a's state there. Holders check their own (default) settings while they hold."""
    h1.execute("BEGIN")
    held = [h1]
    try:
        s1 = state(h1)
        same(s1, defaults(holder_app[0]), "holder 1")
        if s1["pid"] != last_pid:
            h2.execute("BEGIN")
            held.append(h2)
            s2 = state(h2)
            same(s2, defaults(holder_app[1]), "holder 2")
            expect(s2["pid"] == last_pid, f"holder 2 on {s2['pid']}, expected the remaining server {last_pid}")
            h1.execute("COMMIT")
            held.remove(h1)
        s = state(a)
        expect(s["pid"] != last_pid, f"client ran on the held server {last_pid}")
        return s
    finally:
        for h in held:
            h.execute("COMMIT")


def settings_follow_client() -> None:
    with Clients() as cs:
        a, h1, h2 = cs.open("ss-follow-a"), cs.open("ss-follow-h1"), cs.open("ss-follow-h2")
        a.execute("SET search_path = ss_follow, public; SET statement_timeout = '6543ms'; SET IntervalStyle = iso_8601;"
                  f" SET TimeZone = 'Asia/Kolkata'; SET DateStyle = 'SQL, DMY'; SELECT set_config('{TENANT}', 'f', false)")
        want = defaults("ss-follow-a") | {"search_path": "ss_follow, public", "statement_timeout": "6543ms",
                                          "IntervalStyle": "iso_8601", "TimeZone": "Asia/Kolkata",
                                          "DateStyle": "SQL, DMY", TENANT: "f"}
        s = state(a)
        same(s, want, "A")
        seen = {s["pid"]}
        for i in range(8):
            s = on_other_server(a, s["pid"], h1, h2, ("ss-follow-h1", "ss-follow-h2"))
            same(s, want, f"A on server {s['pid']} (move {i})")
            seen.add(s["pid"])
        expect(len(seen) == 2, f"A ran on servers {seen}")


def prepared_statements_follow_with_settings() -> None:
    # Named protocol-level statements (psycopg prepare_threshold=0) and settings both follow A to a server that
    # has seen neither; the SETs themselves go unnamed (prepare=False), so only the carrying is tested here.
    with Clients() as cs:
        a = cs.open("ss-pfollow-a", prepare_threshold=0)
        h1, h2 = cs.open("ss-pfollow-h1"), cs.open("ss-pfollow-h2")
        want = defaults("ss-pfollow-a")
        s = state(a)
        for i in range(8):
            a.execute(f"SET statement_timeout = '{3003 + 2 * i}ms'; SET {TENANT} = 'pf-{i}'", prepare=False)
            want |= {"statement_timeout": f"{3003 + 2 * i}ms", TENANT: f"pf-{i}"}
            s = on_other_server(a, s["pid"], h1, h2, ("ss-pfollow-h1", "ss-pfollow-h2"))
            same(s, want, f"A on server {s['pid']} (move {i})")
            expect(value(a, "SELECT %s::int * 2", (i,)) == 2 * i, f"move {i}: a parameterised prepared query")
        expect_pinned(a, "ss-pfollow-a", "")


def listen_pins() -> None:
    with Clients() as cs:
        a, b, c = cs.open("ss-listen-a"), cs.open("ss-listen-b"), cs.open("ss-listen-c")
        a.execute("LISTEN ss_chan")
        pa = pid(a)
        expect_pinned(a, "ss-listen-a", "listen")
        for i in range(6):
            # The other server serves B and C in turn while A keeps its own.
            pb = within(10, lambda: pid(b), f"round {i}: B")
            pc = within(10, lambda: pid(c), f"round {i}: C")
            expect(pa not in (pb, pc), f"round {i}: B on {pb}, C on {pc}, A's server is {pa}")
            expect(pid(a) == pa, f"round {i}: A moved off its LISTEN server")
        b.execute("NOTIFY ss_chan, 'from-b'")
        c.execute("SELECT pg_notify('ss_chan', 'from-c')")
        got = [n.payload for n in a.notifies(timeout=5, stop_after=2)]
        expect(sorted(got) == ["from-b", "from-c"], f"A received {got}")
        a.execute("UNLISTEN *")
        expect_pinned(a, "ss-listen-a", "")
        # Shared again: with B holding one server in a transaction, C must get the other, and A's is one of them.
        b.execute("BEGIN")
        try:
            pb = pid(b)
            pc = within(10, lambda: pid(c), "C with B in a transaction")
        finally:
            b.execute("COMMIT")
        expect(pa in (pb, pc) and pb != pc, f"B on {pb}, C on {pc}: A's former server {pa} is not shared")


def listen_asyncpg_idle() -> None:
    """asyncpg's add_listener, then NOTIFY from another client at once: the notification reaches the idle listener
    (it once arrived while pgswift probed the server and was lost), and one the listener's own session sends
    carries the pid the listener was given (pgswift's BackendKeyData pid), as it would from PostgreSQL."""
    async def run() -> None:
        async def conn() -> asyncpg.Connection:
            return await asyncpg.connect(host=PROXY_HOST, port=PROXY_PORT, user=USER, password=PASSWORD, database=TEST_DB,
                                         ssl=False, timeout=10, statement_cache_size=0)
        listener, sender = await conn(), await conn()
        try:
            for i in range(5):
                got: asyncio.Future = asyncio.get_running_loop().create_future()

                def on_notify(_c: Any, pid: int, _ch: str, payload: str, got: asyncio.Future = got) -> None:
                    if not got.done():
                        got.set_result((pid, payload))
                channel = f"ss_idle_{i}"
                await listener.add_listener(channel, on_notify)
                await sender.execute(f"NOTIFY {channel}, 'round {i}'")
                try:
                    pid, payload = await asyncio.wait_for(got, 5)
                except asyncio.TimeoutError:
                    raise AssertionError(f"round {i}: the idle listener never received NOTIFY {channel}")
                expect(payload == f"round {i}", f"round {i}: payload {payload!r}")
                expect(pid != listener.get_server_pid(), f"round {i}: another session's notification carries the listener's pid")
                await listener.remove_listener(channel, on_notify)
            own: asyncio.Future = asyncio.get_running_loop().create_future()

            def on_own(_c: Any, pid: int, _ch: str, _p: str) -> None:
                if not own.done():
                    own.set_result(pid)
            await listener.add_listener("ss_own", on_own)
            await listener.execute("NOTIFY ss_own, 'me'")
            pid = await asyncio.wait_for(own, 5)
            expect(pid == listener.get_server_pid(), f"own notification carries pid {pid}, the client was told {listener.get_server_pid()}")
            await listener.remove_listener("ss_own", on_own)
        finally:
            await listener.close()
            await sender.close()
    asyncio.run(run())


def advisory_lock_pins() -> None:
    with Clients() as cs:
        a, b = cs.open("ss-lock-a"), cs.open("ss-lock-b")
        a.execute("SELECT pg_advisory_lock(4242), pg_advisory_lock(4243)")
        pa = pid(a)
        expect_pinned(a, "ss-lock-a", "advisory lock")
        for i in range(4):
            expect(value(b, "SELECT pg_try_advisory_lock(4242)") is False, f"round {i}: B took the lock A holds")
            expect(pid(a) == pa, f"round {i}: A moved off its server")
        expect(value(a, "SELECT pg_advisory_unlock(4242)") is True, "unlock 4242")
        expect_pinned(a, "ss-lock-a", "advisory lock")   # 4243 still held
        expect(value(a, "SELECT pg_advisory_unlock(4243)") is True, "unlock 4243")
        expect_pinned(a, "ss-lock-a", "")
        expect(value(b, "SELECT pg_try_advisory_lock(4242)") is True, "B cannot take the released lock")
        expect_pinned(b, "ss-lock-b", "advisory lock")
        expect(value(a, "SELECT pg_try_advisory_lock(4242)") is False, "A took the lock B holds")
        b.execute("SELECT pg_advisory_unlock_all()")
        expect_pinned(b, "ss-lock-b", "")
        expect(value(a, "SELECT pg_try_advisory_lock(4242)") is True, "A cannot take the lock after B's unlock_all")
        a.execute("SELECT pg_advisory_unlock_all()")
        # A transaction-level lock ends with its transaction: nothing to pin.
        with a.transaction():
            a.execute("SELECT pg_advisory_xact_lock(4244)")
        expect_pinned(a, "ss-lock-a", "")
        expect(value(b, "SELECT pg_try_advisory_lock(4244)") is True, "B cannot take the transaction lock A's COMMIT released")
        b.execute("SELECT pg_advisory_unlock_all()")


def temp_table_pins() -> None:
    with Clients() as cs:
        a, b, c = cs.open("ss-temp-a"), cs.open("ss-temp-b"), cs.open("ss-temp-c")
        a.execute("CREATE TEMP TABLE ss_tmp (n int)")
        pa = pid(a)
        expect_pinned(a, "ss-temp-a", "temporary table")
        for i in range(4):
            a.execute("INSERT INTO ss_tmp VALUES (%s)", (i,))
            expect(value(a, "SELECT count(*) FROM ss_tmp") == i + 1, f"round {i}: A's rows")
            for who, o in (("B", b), ("C", c)):
                got = o.execute("SELECT to_regclass('ss_tmp'), pg_backend_pid()").fetchone()
                expect(got[0] is None and got[1] != pa, f"round {i}: {who} got {got} (A's server {pa})")
        a.execute("DROP TABLE ss_tmp")
        expect_pinned(a, "ss-temp-a", "")
        # ON COMMIT DROP: gone when its transaction ends, so nothing is left to pin.
        with a.transaction():
            a.execute("CREATE TEMP TABLE ss_tmp_tx (n int) ON COMMIT DROP")
        expect_pinned(a, "ss-temp-a", "")


def cursor_with_hold_pins() -> None:
    with Clients() as cs:
        a, b = cs.open("ss-cur-a"), cs.open("ss-cur-b")
        a.execute("BEGIN")
        a.execute("DECLARE ss_cur CURSOR WITH HOLD FOR SELECT g FROM generate_series(1, 9) AS g")
        a.execute("COMMIT")
        expect_pinned(a, "ss-cur-a", "cursor with hold")
        for k in range(3):
            rows = [r[0] for r in a.execute("FETCH 3 FROM ss_cur").fetchall()]
            expect(rows == [3 * k + 1, 3 * k + 2, 3 * k + 3], f"fetch {k}: {rows}")
            expect(b.execute("SELECT count(*) FROM pg_cursors WHERE name = 'ss_cur'").fetchone()[0] == 0,
                   f"fetch {k}: B sees A's cursor")
        a.execute("CLOSE ss_cur")
        expect_pinned(a, "ss-cur-a", "")
        # psycopg's own named cursor with withhold=True sends the same DECLARE ... WITH HOLD.
        cur = a.cursor("ss_named", withhold=True)
        cur.execute("SELECT g FROM generate_series(1, 4) AS g")
        expect_pinned(a, "ss-cur-a", "cursor with hold")
        got = [r[0] for r in cur.fetchmany(2)] + [r[0] for r in cur.fetchmany(2)]
        expect(got == [1, 2, 3, 4], f"named cursor rows {got}")
        cur.close()
        expect_pinned(a, "ss-cur-a", "")


def sql_prepare_pins() -> None:
    with Clients() as cs:
        a, b = cs.open("ss-sqlprep-a"), cs.open("ss-sqlprep-b")
        a.execute("PREPARE ss_double(int) AS SELECT $1 * 2")
        expect_pinned(a, "ss-sqlprep-a", "sql prepare")
        for i in range(4):
            expect(value(a, f"EXECUTE ss_double({i})") == 2 * i, f"round {i}: EXECUTE")
            try:
                b.execute("EXECUTE ss_double(1)")
                raise AssertionError(f"round {i}: B can EXECUTE A's statement")
            except errors.InvalidSqlStatementName:
                pass
        a.execute("DEALLOCATE ss_double")
        expect_pinned(a, "ss-sqlprep-a", "")
        a.execute("PREPARE ss_one AS SELECT 1; PREPARE ss_two AS SELECT 2")
        expect_pinned(a, "ss-sqlprep-a", "sql prepare")
        a.execute("DEALLOCATE ALL")
        expect_pinned(a, "ss-sqlprep-a", "")


def discard_all() -> None:
    # Every kind of session state at once, then DISCARD ALL: settings gone on every server, nothing pinned.
    with Clients() as cs:
        a, h1, h2 = cs.open("ss-discard-a"), cs.open("ss-discard-h1"), cs.open("ss-discard-h2")
        a.execute(f"SET statement_timeout = '1357ms'; SET {TENANT} = 'd'; SET search_path = ss_discard")
        a.execute("LISTEN ss_discard; SELECT pg_advisory_lock(5150); CREATE TEMP TABLE ss_dtmp (n int);"
                  " PREPARE ss_dprep AS SELECT 1")
        a.execute("BEGIN")
        a.execute("DECLARE ss_dcur CURSOR WITH HOLD FOR SELECT 1")
        a.execute("COMMIT")
        expect_pinned(a, "ss-discard-a", "listen, advisory lock, cursor with hold, temporary table, sql prepare")
        a.execute("DISCARD ALL")
        expect_pinned(a, "ss-discard-a", "")
        s = state(a)
        same(s, defaults("ss-discard-a"), "A after DISCARD ALL")
        for i in range(4):
            s = on_other_server(a, s["pid"], h1, h2, ("ss-discard-h1", "ss-discard-h2"))
            same(s, defaults("ss-discard-a"), f"A on server {s['pid']} after DISCARD ALL (move {i})")
        expect(value(h1, "SELECT pg_try_advisory_lock(5150)") is True, "the lock survived DISCARD ALL")
        h1.execute("SELECT pg_advisory_unlock_all()")


def refused_statements() -> None:
    # session_pinning = refuse: each statement that would pin is answered with 0A000 by the server itself, the
    # transaction it was in fails like any failed statement, and the client stays free to move between servers.
    statements = ["LISTEN ss_refused", "SELECT pg_advisory_lock(4242)", "CREATE TEMP TABLE ss_refused_t (a int)",
                  "PREPARE ss_refused_p AS SELECT 1", "DECLARE ss_c CURSOR WITH HOLD FOR SELECT 1"]
    with connect("ss-refuse-a") as a:
        a.autocommit = True
        for sql in statements:
            try:
                a.execute(sql)
                raise AssertionError(f"{sql!r} was allowed")
            except psycopg.errors.FeatureNotSupported as e:
                expect("session_pinning = refuse" in str(e), f"{sql!r}: {e}")
        expect(a.execute("SELECT 1").fetchone() == (1,), "the client works after the refusals")
        # Inside a transaction the refusal fails the transaction, as any error would.
        a.autocommit = False
        try:
            a.execute("SELECT 1")
            a.execute("LISTEN ss_refused")
            raise AssertionError("LISTEN was allowed inside a transaction")
        except psycopg.errors.FeatureNotSupported:
            a.rollback()
        a.autocommit = True
        # What does not pin still works: settings, a plain cursor, UNLISTEN, advisory unlock.
        a.execute("SET statement_timeout = '9s'")
        expect(a.execute("SHOW statement_timeout").fetchone() == ("9s",), "SET still carried")
        expect(a.execute("SELECT pg_try_advisory_xact_lock(4242)").fetchone() == (True,), "transaction-level lock")
        a.execute("UNLISTEN *")
        listening = a.execute("SELECT count(*) FROM pg_listening_channels()").fetchone()[0]
        expect(listening == 0, f"{listening} channels listened to after the refusals")


# Startup parameters whose ParameterStatus PostgreSQL rewrites (or keeps as given), and ones it refuses.
REPORTED_STARTUPS: list[dict[str, str]] = [
    {"client_encoding": "utf-8"}, {"client_encoding": "utf8"}, {"client_encoding": "eucjp"},
    {"client_encoding": "UNICODE"}, {"client_encoding": "Unicode"}, {"client_encoding": "iso-8859-15"},
    {"TimeZone": "utc"}, {"datestyle": "iso,dmy"}, {"IntervalStyle": "POSTGRES"},
    {"application_name": "ss-h\u00e9llo"}, {"application_name": "ss-Plain"},
    {"client_encoding": "no-such-encoding"}, {"TimeZone": "No/Such_Zone"},
]


def raw_welcome(host: str, port: int, params: dict[str, str]) -> dict[str, str] | tuple[str | None, str | None]:
    """The ParameterStatus values of a login (a SELECT 1 is run on it), or (SQLSTATE, message) of its refusal."""
    c = pgwire.RawConn.connect(host, port)
    try:
        status = c.login(USER, TEST_DB, PASSWORD, **params)
        expect(c.simple_query("SELECT 1") == [("1",)], f"SELECT 1 after a login with {params} on port {port}")
        return status
    except pgwire.ServerError as e:
        return (e.sqlstate, e.fields.get("M"))
    finally:
        c.terminate()


def reported_as_postgresql() -> None:
    # Warm the pool first, so that outside session mode the welcome comes from what the pool knows, not from a server.
    raw_welcome(PROXY_HOST, PROXY_PORT, {})
    wrong = []
    for params in REPORTED_STARTUPS:
        want = raw_welcome(PG_HOST, PG_PORT, params)
        got = raw_welcome(PROXY_HOST, PROXY_PORT, params)
        if isinstance(want, dict) and isinstance(got, dict):
            names = {n for n in want if n.lower() in {p.lower() for p in params}}
            want = {n: want[n] for n in names}
            got = {n: got.get(n) for n in names}
        print(f"{params}: PostgreSQL {want}, proxy {got}", file=sys.stderr)
        if got != want:
            wrong.append(f"{params}: {got}, PostgreSQL {want}")
    expect(not wrong, "; ".join(wrong))


def main() -> None:
    part = sys.argv[1]
    if part == "reported":
        R.run(f"reported_as_postgresql_{sys.argv[2]}", reported_as_postgresql)
        return
    if part == "refuse":
        R.run("refused_statements", refused_statements, skip="PgBouncer has no session_pinning" if PGB else None)
        return
    if part == "pool1":
        R.run("baseline", read_baseline)
        R.run("one_server", one_server)
        R.run("set_interleave", set_interleave, skip=NO_TRACKING)
        R.run("reported_interleave", reported_interleave)
        R.run("setting_changed_in_function", setting_changed_in_function, skip=NO_TRACKING)
        R.run("set_application_name", set_application_name)
        R.run("reset_application_name", reset_application_name,
              skip="PgBouncer 1.18 lets RESET return the server connection's own startup value" if PGB else None)
        R.run("timezone_rendering", timezone_rendering)
        R.run("reset", reset_settings, skip=NO_TRACKING)
        R.run("set_role", set_role_carried, skip=NO_TRACKING)
        R.run("set_local_not_carried", set_local_not_carried, skip=NO_TRACKING)
        R.run("rollback_not_carried", rollback_not_carried, skip=NO_TRACKING)
        R.run("failed_set_changes_nothing", failed_set_changes_nothing, skip=NO_TRACKING)
        R.run("psycopg_extended", psycopg_extended, skip=NO_TRACKING)
        R.run("custom_setting_later_in_transaction", custom_setting_later_in_transaction, skip=NO_TRACKING)
        R.run("asyncpg_set", asyncpg_set, skip=NO_TRACKING)
        R.run("asyncpg_set_config_repeated", asyncpg_set_config_repeated, skip=NO_TRACKING)
        R.run("prepared_interleave", prepared_interleave, skip=NO_TRACKING)
        R.run("pinned_client_waits", pinned_client_waits, skip=NO_TRACKING)
        R.run("temp_table_disconnect", temp_table_disconnect,
              skip="PgBouncer 1.18 runs server_reset_query only in session mode" if PGB else None)
        R.run("pinned_client_vanishes", pinned_client_vanishes,
              skip="PgBouncer 1.18 runs server_reset_query only in session mode" if PGB else None)
    elif part == "startup":
        R.run("baseline_startup", read_baseline)
        opts = "PgBouncer 1.18 refuses the options startup parameter" if PGB else None
        R.run("startup_option_not_leaked", startup_option_not_leaked, skip=opts)
        R.run("startup_options_apply", startup_options_apply, skip=opts)
        R.run("set_overrides_startup_option", set_overrides_startup_option, skip=opts)
        R.run("pgoptions_as_postgresql", pgoptions_as_postgresql, skip=opts)
        R.run("asyncpg_server_settings", asyncpg_server_settings,
              skip="PgBouncer 1.18 refuses search_path as a startup parameter" if PGB else None)
    elif part == "noreset":
        R.run("temp_table_disconnect_closed", temp_table_disconnect_closed, skip=NO_TRACKING)
    elif part == "pool2":
        R.run("baseline_pool2", read_baseline)
        R.run("settings_follow_client", settings_follow_client, skip=NO_TRACKING)
        R.run("prepared_statements_follow_with_settings", prepared_statements_follow_with_settings, skip=NO_TRACKING)
        R.run("listen_pins", listen_pins, skip=NO_TRACKING)
        R.run("listen_asyncpg_idle", listen_asyncpg_idle, skip=NO_TRACKING)
        R.run("advisory_lock_pins", advisory_lock_pins, skip=NO_TRACKING)
        R.run("temp_table_pins", temp_table_pins, skip=NO_TRACKING)
        R.run("cursor_with_hold_pins", cursor_with_hold_pins, skip=NO_TRACKING)
        R.run("sql_prepare_pins", sql_prepare_pins, skip=NO_TRACKING)
        R.run("discard_all", discard_all, skip=NO_TRACKING)
    else:
        raise SystemExit(f"unknown part {part!r}")


main()
R.exit()
