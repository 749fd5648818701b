"""Log in through the proxy with given credentials and check the outcome.

usage: auth_checks.py PREFIX CASE...
  CASE = NAME:USER:PASSWORD:DBNAME:EXPECT
  EXPECT = ok      psycopg connects and current_user is USER
         | ok/METHOD   the same, and the raw client's login was asked for exactly METHOD
                   (cleartext, md5, scram, or none for no password request)
         | SQLSTATE (e.g. 28P01, 3D000)
                   two results: NAME (psycopg fails to connect; the raw client gets a
                   FATAL ErrorResponse with S, C and M fields) and NAME_sqlstate (its C
                   field is that SQLSTATE)
  "pgbouncer-skip=REASON|EXPECT" (e.g. "pgbouncer-skip=sends 08P01|3D000") skips the
  SQLSTATE result (or the whole "ok" case) when PROXY_KIND=pgbouncer.

libpq does not hand the SQLSTATE of a connection-time error to psycopg (e.sqlstate
is None for every failed connect), so the SQLSTATE is read by logging in again with
the raw client in pgwire.py, which parses the ErrorResponse fields itself.
"""

from __future__ import annotations

import sys

import psycopg

import pgwire
from harness import PROXY_HOST, PROXY_PORT, Results, expect, is_pgbouncer, proxy_dsn


def login_ok(user: str, password: str, db: str, method: str | None) -> None:
    with psycopg.connect(proxy_dsn(user=user, password=password, dbname=db)) as c:
        who = c.execute("SELECT current_user").fetchone()[0]
        expect(who == user, f"current_user {who}")
    if method is None:
        return
    raw = pgwire.RawConn.connect(PROXY_HOST, PROXY_PORT)
    try:
        raw.login(user, db, password)
        expect(raw.simple_query("SELECT current_user") == [(user,)], "raw client: wrong current_user")
    finally:
        raw.terminate()
    seen = "+".join(raw.auth_methods) or "none"
    print(f"{user}: authentication requests seen: {seen}", file=sys.stderr)
    expect(seen == method, f"proxy asked for {seen}, want {method}")


def raw_login_error(user: str, password: str, db: str) -> dict[str, str]:
    """Log in with the raw client; return the fields of the ErrorResponse that refused it."""
    raw = pgwire.RawConn.connect(PROXY_HOST, PROXY_PORT)
    try:
        raw.login(user, db, password)
    except pgwire.ServerError as e:
        print(f"raw ErrorResponse fields: {e.fields}", file=sys.stderr)
        return e.fields
    except pgwire.ConnectionClosed:
        raise AssertionError("connection closed without an ErrorResponse") from None
    finally:
        raw.close()
    raise AssertionError("raw login succeeded")


def login_refused(user: str, password: str, db: str) -> None:
    try:
        psycopg.connect(proxy_dsn(user=user, password=password, dbname=db)).close()
    except psycopg.OperationalError as e:
        print(f"psycopg refused as expected: {str(e).strip()}", file=sys.stderr)
    else:
        raise AssertionError("psycopg connected, but the login should have been refused")
    fields = raw_login_error(user, password, db)
    expect(fields.get("S") == "FATAL", f"severity {fields.get('S')}, want FATAL")
    expect(all(k in fields for k in "SCM"), f"ErrorResponse lacks S/C/M: {fields}")


def login_sqlstate(user: str, password: str, db: str, want: str) -> None:
    fields = raw_login_error(user, password, db)
    expect(fields.get("C") == want, f"SQLSTATE {fields.get('C')} ({fields.get('M')}), want {want}")


def main() -> None:
    prefix, cases = sys.argv[1], sys.argv[2:]
    r = Results(prefix)
    for case in cases:
        name, user, password, db, want = case.split(":", 4)
        skip = None
        if want.startswith("pgbouncer-skip="):
            reason, want = want[len("pgbouncer-skip="):].split("|", 1)
            if is_pgbouncer():
                skip = reason
        if want == "ok" or want.startswith("ok/"):
            method = want[3:] if want.startswith("ok/") else None
            r.run(name, lambda: login_ok(user, password, db, method), skip=skip)
        else:
            # Two results: the login is refused at all, and refused with the right SQLSTATE
            # (only the latter is skipped for PgBouncer).
            r.run(name, lambda: login_refused(user, password, db))
            r.run(f"{name}_sqlstate", lambda: login_sqlstate(user, password, db, want), skip=skip)
    r.exit()


if __name__ == "__main__":
    main()
