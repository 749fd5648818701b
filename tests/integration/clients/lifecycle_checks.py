"""Life-cycle checks of a running proxy: reload, signals, limits, protocol negotiation.

usage: lifecycle_checks.py CHECK [KEY=VALUE]...
  Every CHECK acts on a proxy that checks/lifecycle.sh has just started with the
  config it needs, and prints its own result lines (see harness.py).  Common keys:
    pid=PID        the proxy's process id (the checks send it signals)
    config=PATH    its config file (the reload checks edit it)
    log=PATH       its log (stdout/stderr, or the logfile setting)
  Run `lifecycle_checks.py list` for the checks.

The raw client in pgwire.py is used wherever the exact bytes matter (SQLSTATEs of
refused logins, NegotiateProtocolVersion, CancelRequest, oversized messages,
logins that must not complete); psycopg where an ordinary client is enough.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from typing import Callable

import psycopg
from psycopg import errors

import pgwire
from harness import (PG_HOST, PG_PORT, PROXY_HOST, PROXY_PORT, Results, expect, is_pgbouncer,
                     proxy_dsn, superuser_dsn, wait_for)

CANCEL_REQUEST_CODE = 80877102
GSSENC_REQUEST_CODE = 80877104
PROTOCOL_3_2 = (3 << 16) | 2  # 196610

# The bench role logs in with a SCRAM secret in the userlist (pass-through to the server).
BENCH = dict(user="bench", password="bench", dbname="bench")


# --- helpers ---------------------------------------------------------------------

def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def wait_exit(pid: int, timeout: float) -> float | None:
    """Seconds until pid was gone (polled every 20 ms), or None if still alive after timeout."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if not alive(pid):
            return time.monotonic() - t0
        time.sleep(0.02)
    return None if alive(pid) else time.monotonic() - t0


def port_refuses(host: str, port: int) -> bool:
    """True if a TCP connect to host:port is refused (nothing listening)."""
    try:
        s = socket.create_connection((host, port), timeout=1)
    except ConnectionRefusedError:
        return True
    except OSError as e:
        print(f"connect to {host}:{port}: {e!r}", file=sys.stderr)
        return False
    s.close()
    return False


def raw_login(user: str = "scram_user", db: str = "pgswift_test", password: str = "scram_pw",
              timeout: float = 10.0, **kw) -> pgwire.RawConn:
    c = pgwire.RawConn.connect(PROXY_HOST, PROXY_PORT, timeout=timeout)
    try:
        c.login(user, db, password, timeout=timeout, **kw)
    except BaseException:
        c.close()
        raise
    return c


def raw_login_error(user: str = "scram_user", db: str = "pgswift_test",
                    password: str = "scram_pw", timeout: float = 10.0) -> dict[str, str]:
    """Log in with the raw client and return the fields of the ErrorResponse that refused it."""
    c = pgwire.RawConn.connect(PROXY_HOST, PROXY_PORT, timeout=timeout)
    try:
        c.login(user, db, password, timeout=timeout)
    except pgwire.ServerError as e:
        print(f"refused: {e.fields}", file=sys.stderr)
        return e.fields
    except pgwire.ConnectionClosed:
        raise AssertionError("connection closed without an ErrorResponse") from None
    finally:
        c.close()
    raise AssertionError(f"login of {user} to {db} succeeded, but should have been refused")


def select_one(**dsn) -> None:
    with psycopg.connect(proxy_dsn(**dsn), autocommit=True) as c:
        got = c.execute("SELECT 1").fetchone()
        expect(got == (1,), f"SELECT 1 returned {got}")


def read_log(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def tail(path: str, n: int = 8) -> str:
    return " | ".join(read_log(path)[-n:])


def silently_closed(sock: socket.socket, timeout: float) -> None:
    """The peer must close sock within timeout without sending a byte."""
    sock.settimeout(timeout)
    got = b""
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            got += chunk
    except ConnectionResetError:
        pass
    except (socket.timeout, TimeoutError):
        raise AssertionError(f"connection still open after {timeout}s (received {got!r})") from None
    expect(got == b"", f"expected no reply, got {got[:80]!r}")


def cancel_request(pid: int, key: int) -> socket.socket:
    s = socket.create_connection((PROXY_HOST, PROXY_PORT), timeout=5)
    s.sendall(struct.pack("!IIIi", 16, CANCEL_REQUEST_CODE, pid, key))
    return s


def set_ini_line(path: str, key: str, value: str) -> int:
    """Set `key = value` in the settings section of an ini file in place; return its 1-based line."""
    with open(path) as f:
        lines = f.read().splitlines()
    for i, line in enumerate(lines):
        if re.match(rf"\s*{re.escape(key)}\s*=", line):
            lines[i] = f"{key} = {value}"
            break
    else:
        raise AssertionError(f"{key} not found in {path}")
    with open(path, "w") as f:          # rewrite in place: the file keeps its owner
        f.write("\n".join(lines) + "\n")
    return i + 1


def add_database_line(path: str, entry: str) -> None:
    with open(path) as f:
        text = f.read()
    expect("[databases]\n" in text, f"no [databases] section in {path}")
    with open(path, "w") as f:
        f.write(text.replace("[databases]\n", f"[databases]\n{entry}\n", 1))


# --- checks ----------------------------------------------------------------------

def reload_new_database(r: Results, a: dict[str, str]) -> None:
    pid, config = int(a["pid"]), a["config"]
    state: dict[str, object] = {}

    def unknown_db_refused() -> None:
        state["fields"] = raw_login_error(BENCH["user"], BENCH["dbname"], BENCH["password"])
        try:
            psycopg.connect(proxy_dsn(**BENCH)).close()
        except psycopg.OperationalError as e:
            print(f"psycopg refused as expected: {str(e).strip()}", file=sys.stderr)
        else:
            raise AssertionError("psycopg connected to bench, which the config does not list")

    def sqlstate() -> None:
        fields = state.get("fields")
        expect(isinstance(fields, dict), "no ErrorResponse was seen")
        expect(fields.get("C") == "3D000", f"SQLSTATE {fields.get('C')} ({fields.get('M')}), want 3D000")

    def reload() -> None:
        expect("fields" in state, "the unknown-database login was not refused; nothing to reload")
        old = psycopg.connect(proxy_dsn(), autocommit=True)   # opened before the reload
        try:
            expect(old.execute("SELECT 1").fetchone() == (1,), "client before reload: SELECT 1 failed")
            add_database_line(config, f"bench = host={PG_HOST} port={PG_PORT} dbname=bench")
            os.kill(pid, signal.SIGHUP)
            t0 = time.monotonic()
            last: Exception | None = None
            while True:
                try:
                    with psycopg.connect(proxy_dsn(connect_timeout=2, **BENCH), autocommit=True) as c:
                        got = c.execute("SELECT current_database()").fetchone()
                    expect(got == ("bench",), f"current_database() {got}")
                    break
                except psycopg.OperationalError as e:
                    last = e
                if time.monotonic() - t0 > 3:
                    raise AssertionError(f"bench still refused 3 s after SIGHUP: {last}")
                time.sleep(0.1)
            print(f"bench reachable {time.monotonic() - t0:.2f}s after SIGHUP", file=sys.stderr)
            expect(alive(pid), "proxy exited on SIGHUP")
            got = old.execute("SELECT 2").fetchone()
            expect(got == (2,), f"client opened before the reload: SELECT 2 returned {got}")
        finally:
            old.close()

    r.run("reload_new_database_unknown_refused", unknown_db_refused)
    r.run("reload_new_database_unknown_sqlstate", sqlstate,
          skip="PgBouncer: 1.18 reports an unknown database as SQLSTATE 08P01, not 3D000" if is_pgbouncer() else None)
    r.run("reload_new_database", reload)


def reload_invalid_keeps_old(r: Results, a: dict[str, str]) -> None:
    pid, config, log = int(a["pid"]), a["config"], a["log"]
    state: dict[str, object] = {}

    def check() -> None:
        state["before"] = before = len(read_log(log))
        line = set_ini_line(config, "listen_port", "abc")
        os.kill(pid, signal.SIGHUP)
        names = (config, os.path.basename(config))

        def matching() -> list[str]:
            return [l for l in read_log(log)[before:]
                    if "listen_port" in l and any(n in l for n in names)
                    and re.search(rf"(?<![0-9]){line}(?![0-9])", l)]
        state["found"] = wait_for(lambda: bool(matching()), 3, 0.1)
        state["line"] = line
        expect(alive(pid), "proxy exited after reloading an invalid config")
        select_one()
        expect(not port_refuses(PROXY_HOST, PROXY_PORT), "the old listen_port no longer accepts")

    def logged() -> None:
        expect("found" in state, "the reload did not happen")
        new = read_log(log)[int(state["before"]):]
        print("log after SIGHUP:\n  " + "\n  ".join(new), file=sys.stderr)
        expect(bool(state["found"]), f"no log line naming {os.path.basename(config)}, line {state['line']} "
                                     f"and listen_port; log after SIGHUP: {' | '.join(new)[:240]}")

    r.run("reload_invalid_keeps_old", check)
    r.run("reload_invalid_keeps_old_log", logged,
          skip="PgBouncer: 1.18 logs only 'got SIGHUP, re-reading config', nothing about the bad value"
          if is_pgbouncer() else None)


def pidfile_and_logfile(r: Results, a: dict[str, str]) -> None:
    pid, pidfile, logfile = int(a["pid"]), a["pidfile"], a["logfile"]
    log_connections = a.get("log_connections", "1") == "1"

    def login_lines() -> list[str]:
        return [l for l in read_log(logfile) if "login attempt" in l]

    def closing_lines() -> list[str]:
        return [l for l in read_log(logfile) if "closing because" in l]

    def names_client(l: str) -> bool:
        return "pgswift_test" in l and "scram_user" in l and "127.0.0.1" in l

    def with_logging() -> None:
        expect(wait_for(lambda: os.path.exists(pidfile), 3, 0.1), f"pidfile {pidfile} not written")
        with open(pidfile) as f:
            content = f.read().strip()
        expect(content == str(pid), f"pidfile holds {content!r}, the proxy's pid is {pid}")
        select_one()
        ok = wait_for(lambda: any(names_client(l) for l in login_lines())
                      and any(names_client(l) for l in closing_lines()), 3, 0.1)
        print(f"logfile {logfile}:\n  " + "\n  ".join(read_log(logfile)[-12:]), file=sys.stderr)
        expect(ok, "logfile lacks a 'login attempt' and a 'closing because' line naming "
                   f"pgswift_test, scram_user and 127.0.0.1; tail: {tail(logfile)}")

    def without_login_lines() -> None:
        before = len(login_lines())
        select_one()
        time.sleep(1)
        expect(read_log(logfile), f"logfile {logfile} is empty: logging does not reach it at all")
        print(f"logfile {logfile}:\n  " + "\n  ".join(read_log(logfile)[-12:]), file=sys.stderr)
        new = login_lines()[before:]
        expect(not new, f"log_connections=0, but the logfile has: {new[0][:200] if new else ''}")

    if log_connections:
        r.run("pidfile_and_logfile", with_logging)
    else:
        r.run("pidfile_and_logfile_no_log_connections", without_login_lines)


def sigterm_waits_for_clients(r: Results, a: dict[str, str]) -> None:
    pid = int(a["pid"])

    def check() -> None:
        c = raw_login()
        try:
            c.send(pgwire.message(b"Q", pgwire.cstr("SELECT 'done' FROM pg_sleep(3)")))
            time.sleep(0.5)                      # the query is running in the server
            os.kill(pid, signal.SIGTERM)
            t0 = time.monotonic()
            refused = wait_for(lambda: port_refuses(PROXY_HOST, PROXY_PORT), 1, 0.05)
            expect(refused, "new connections still accepted 1 s after SIGTERM")
            print(f"port refused {time.monotonic() - t0:.2f}s after SIGTERM", file=sys.stderr)
            rows, error = [], None
            while True:
                f = c.read_frame(10)
                if f.type == "D":
                    rows.append(f.body)
                elif f.type == "E":
                    error = f.error_fields()
                elif f.type == "Z":
                    break
            expect(error is None, f"the running query failed: {error}")
            expect(len(rows) == 1 and rows[0].endswith(b"done"), f"rows {rows}, want one row 'done'")
            print(f"query finished {time.monotonic() - t0:.2f}s after SIGTERM", file=sys.stderr)
            expect(alive(pid), "proxy exited before the client left")
        finally:
            c.terminate()
        took = wait_exit(pid, 5)
        expect(took is not None, "proxy still running 5 s after its last client left")
        print(f"proxy exited {took:.2f}s after the client left", file=sys.stderr)
        expect(took < 3, f"proxy exited only {took:.1f}s after its last client left")

    r.run("sigterm_waits_for_clients", check)


def sigterm_timeout_closes_clients(r: Results, a: dict[str, str]) -> None:
    pid = int(a["pid"])

    def check() -> None:
        c = raw_login()
        try:
            expect(c.simple_query("SELECT 1") == [("1",)], "SELECT 1 failed")
            os.kill(pid, signal.SIGTERM)
            took = wait_exit(pid, 6)
            expect(took is not None, "proxy still running 6 s after SIGTERM (shutdown_timeout = 2)")
            print(f"proxy exited {took:.2f}s after SIGTERM", file=sys.stderr)
            expect(took <= 4.5, f"proxy exited {took:.1f}s after SIGTERM, want ~2 s (shutdown_timeout = 2)")
            _, closed = c.read_until_closed(2)
            expect(closed, "the idle client's connection was not closed")
        finally:
            c.close()

    r.run("sigterm_timeout_closes_clients", check)


def sigquit_immediate(r: Results, a: dict[str, str]) -> None:
    pid = int(a["pid"])

    def check() -> None:
        c = raw_login()
        try:
            expect(c.simple_query("SELECT 1") == [("1",)], "SELECT 1 failed")
            os.kill(pid, signal.SIGQUIT)
            took = wait_exit(pid, 3)
            expect(took is not None, "proxy still running 3 s after SIGQUIT")
            print(f"proxy exited {took:.2f}s after SIGQUIT", file=sys.stderr)
            expect(took <= 1, f"proxy exited {took:.2f}s after SIGQUIT, want < 1 s")
        finally:
            c.close()

    r.run("sigquit_immediate", check)


def sigusr1_pause_sigusr2_resume(r: Results, a: dict[str, str]) -> None:
    pid = int(a["pid"])

    def check() -> None:
        os.kill(pid, signal.SIGUSR1)
        time.sleep(0.3)
        expect(alive(pid), "proxy exited on SIGUSR1")
        c = pgwire.RawConn.connect(PROXY_HOST, PROXY_PORT)
        done: dict[str, object] = {}

        def login() -> None:
            try:
                c.login("scram_user", "pgswift_test", "scram_pw", timeout=20)
                done["at"] = time.monotonic()
            except BaseException as e:  # noqa: BLE001 - reported below
                done["error"] = e

        t = threading.Thread(target=login, daemon=True)
        t.start()
        t.join(2)
        try:
            expect("error" not in done, f"login failed while paused: {done.get('error')!r}")
            expect(t.is_alive(), "a new client got ReadyForQuery within 2 s while paused")
            os.kill(pid, signal.SIGUSR2)
            t0 = time.monotonic()
            t.join(5)
            expect("error" not in done, f"login failed after resume: {done.get('error')!r}")
            expect("at" in done, "no ReadyForQuery 5 s after SIGUSR2")
            print(f"login completed {float(done['at']) - t0:.2f}s after SIGUSR2", file=sys.stderr)
            expect(c.simple_query("SELECT 1") == [("1",)], "SELECT 1 after resume failed")
        finally:
            c.close()
        select_one()

    r.run("sigusr1_pause_sigusr2_resume", check)


def max_client_conn(r: Results, a: dict[str, str]) -> None:
    state: dict[str, object] = {}

    def check() -> None:
        held = [raw_login() for _ in range(3)]
        try:
            state["fields"] = fields = raw_login_error()
            expect(fields.get("S") == "FATAL", f"severity {fields.get('S')}, want FATAL")
            held.pop().terminate()
            # A slot is free again once the proxy has seen the close.
            last: Exception | None = None
            t0 = time.monotonic()
            while time.monotonic() - t0 < 3:
                try:
                    held.append(raw_login())
                    break
                except (pgwire.ServerError, pgwire.ConnectionClosed) as e:
                    last = e
                    time.sleep(0.1)
            else:
                raise AssertionError(f"no connection possible after one of three left: {last}")
        finally:
            for c in held:
                c.terminate()

    def sqlstate() -> None:
        fields = state.get("fields")
        expect(isinstance(fields, dict), "no ErrorResponse was seen")
        expect(fields.get("C") == "53300", f"SQLSTATE {fields.get('C')} ({fields.get('M')}), want 53300")

    def libpq(sslmode: str) -> Callable[[], None]:
        # libpq sends an SSLRequest first (sslmode prefer, the default); an ErrorResponse in place of the answer to it
        # is reported as "received invalid response to SSL negotiation" and the reason is lost.
        def run() -> None:
            held = [raw_login() for _ in range(3)]
            try:
                p = subprocess.run(["psql", "-X", "-At", "-c", "SELECT 1",
                                    f"host={PROXY_HOST} port={PROXY_PORT} dbname=pgswift_test user=scram_user "
                                    f"password=scram_pw connect_timeout=10 sslmode={sslmode}"],
                                   capture_output=True, text=True, timeout=30)
            finally:
                for c in held:
                    c.terminate()
            print(f"psql sslmode={sslmode}: exit {p.returncode}, stderr {p.stderr.strip()!r}", file=sys.stderr)
            expect(p.returncode != 0, f"psql logged in past max_client_conn: {p.stdout!r}")
            expect("no more connections allowed (max_client_conn)" in p.stderr and "SSL" not in p.stderr,
                   f"psql (sslmode={sslmode}) said {p.stderr.strip()!r}, want the max_client_conn reason")
        return run

    def console() -> None:
        # The admin console is not limited (PgBouncer's rule): the pooler is full exactly when it is needed.
        held = [raw_login() for _ in range(3)]
        try:
            c = pgwire.RawConn.connect(PROXY_HOST, PROXY_PORT)
            try:
                c.login("pgswift_admin", "pgbouncer", "admin_pw")
                rows = c.simple_query("SHOW VERSION")
                expect(len(rows) == 1, f"SHOW VERSION gave {rows}")
            finally:
                c.terminate()
        finally:
            for c in held:
                c.terminate()

    tls = a.get("tls") == "yes"
    r.run("max_client_conn_tls" if tls else "max_client_conn", check)
    if not tls:
        r.run("max_client_conn_sqlstate", sqlstate,
              skip="PgBouncer: 1.18 refuses the extra client with SQLSTATE 08P01, not 53300" if is_pgbouncer() else None)
        r.run("max_client_conn_console", console)
    r.run("max_client_conn_libpq_tls" if tls else "max_client_conn_libpq_prefer", libpq("prefer"))
    if tls:
        r.run("max_client_conn_libpq_require", libpq("require"))


def server_unreachable(r: Results, a: dict[str, str]) -> None:
    db = a["db"]
    state: dict[str, object] = {}

    def check() -> None:
        t0 = time.monotonic()
        first = raw_login_error(db=db, timeout=20)
        t1 = time.monotonic()
        second = raw_login_error(db=db, timeout=20)
        t2 = time.monotonic()
        state["fields"] = (first, second)
        print(f"first refused after {t1 - t0:.2f}s, second after {t2 - t1:.2f}s", file=sys.stderr)
        expect(t2 - t1 < 1, f"second client waited {t2 - t1:.2f}s for its error, want < 1 s")

    def sqlstate() -> None:
        pair = state.get("fields")
        expect(isinstance(pair, tuple), "no ErrorResponses were seen")
        for which, fields in zip(("first", "second"), pair):
            expect(fields.get("C") == "08006", f"{which} client: SQLSTATE {fields.get('C')} "
                                               f"({fields.get('M')}), want 08006")

    # PgBouncer 1.18 keeps each client waiting for the server until client_login_timeout,
    # then sends 08P01 "client_login_timeout (server down)".
    skip = ("PgBouncer: 1.18 keeps every client waiting until client_login_timeout, then sends "
            "08P01 'client_login_timeout (server down)'") if is_pgbouncer() else None
    r.run("server_unreachable", check, skip=skip)
    r.run("server_unreachable_sqlstate", sqlstate, skip=skip)


def max_db_connections(r: Results, a: dict[str, str]) -> None:
    def check() -> None:
        events: dict[int, dict[str, float]] = {i: {} for i in range(3)}
        failures: list[str] = []

        def client(i: int) -> None:
            try:
                with psycopg.connect(proxy_dsn(application_name=f"lc-maxdb-{i}", connect_timeout=20,
                                               **BENCH), autocommit=True) as c:
                    events[i]["connected"] = time.monotonic()
                    c.execute("SELECT pg_sleep(1)")
                    events[i]["done"] = time.monotonic()
                events[i]["closed"] = time.monotonic()
            except Exception as e:  # noqa: BLE001 - collected and reported
                failures.append(f"client {i}: {type(e).__name__}: {e}")

        peak, samples = 0, 0
        with psycopg.connect(superuser_dsn(), autocommit=True) as su:
            threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(3)]
            t0 = time.monotonic()
            for t in threads:
                t.start()
            while any(t.is_alive() for t in threads) and time.monotonic() - t0 < 30:
                (n,) = su.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = 'bench' "
                                  "AND usename = 'bench' AND backend_type = 'client backend'").fetchone()
                peak, samples = max(peak, n), samples + 1
                time.sleep(0.05)
        for t in threads:
            t.join(1)
        rel = {i: {k: round(v - t0, 2) for k, v in e.items()} for i, e in events.items()}
        print(f"peak {peak} bench backends over {samples} samples; client timings (s): {rel}", file=sys.stderr)
        expect(not failures, "; ".join(failures))
        expect(all("closed" in e for e in events.values()), f"not every client finished in 30 s: {rel}")
        expect(peak <= 2, f"{peak} server backends for bench with max_db_connections = 2")
        first_close = min(e["closed"] for e in events.values())
        last_done = max(e["done"] for e in events.values())
        expect(last_done >= first_close - 0.05,
               f"all three queries ran at once (last done at {last_done - t0:.2f}s, "
               f"first session closed at {first_close - t0:.2f}s)")
        expect(peak == 2, f"at most {peak} server backend(s) seen at once, want 2 (pool did not use its budget)")

    r.run("max_db_connections", check)


def negotiate_body(host: str, port: int, protocol: int, params: dict[str, str]) -> bytes | None:
    """Log in with the raw client; the body of the NegotiateProtocolVersion received (None: none came)."""
    c = pgwire.RawConn.connect(host, port)
    try:
        c.login("scram_user", "pgswift_test", "scram_pw", protocol=protocol, **params)
        expect(c.simple_query("SELECT 1") == [("1",)], f"SELECT 1 failed on port {port}")
        return c.negotiate_body
    finally:
        c.terminate()


def refusal(host: str, port: int, protocol: int) -> dict[str, str]:
    c = pgwire.RawConn.connect(host, port)
    try:
        c.login("scram_user", "pgswift_test", "scram_pw", protocol=protocol)
    except pgwire.ServerError as e:
        return e.fields
    finally:
        c.close()
    raise AssertionError(f"protocol {protocol >> 16}.{protocol & 0xFFFF} was accepted on port {port}")


def protocol_negotiation(r: Results, a: dict[str, str]) -> None:
    # The same StartupMessages go to PostgreSQL itself: NegotiateProtocolVersion must be the bytes it sends
    # (libpq 18 reads the first field as a whole version and refuses anything below 3.0).
    startups = [
        (PROTOCOL_3_2, {"_pq_.foo": "bar"}),
        (PROTOCOL_3_2, {}),
        (pgwire.PROTOCOL_3_0, {"_pq_.b": "1", "_pq_.a": "2"}),
    ]

    def negotiate() -> None:
        for protocol, params in startups:
            want = negotiate_body(PG_HOST, PG_PORT, protocol, params)
            got = negotiate_body(PROXY_HOST, PROXY_PORT, protocol, params)
            print(f"{protocol >> 16}.{protocol & 0xFFFF} {params}: PostgreSQL {want!r}, proxy {got!r}", file=sys.stderr)
            expect(want is not None and want[:4] == struct.pack("!i", pgwire.PROTOCOL_3_0),
                   f"PostgreSQL itself sent {want!r}: the check's premise is wrong")
            expect(got == want, f"{protocol >> 16}.{protocol & 0xFFFF} {params}: NegotiateProtocolVersion {got!r}, "
                                f"PostgreSQL sends {want!r}")

    def unsupported_major() -> None:
        want = refusal(PG_HOST, PG_PORT, 4 << 16)
        got = refusal(PROXY_HOST, PROXY_PORT, 4 << 16)
        print(f"protocol 4.0: PostgreSQL {want}, proxy {got}", file=sys.stderr)
        expect((got.get("S"), got.get("C"), got.get("M")) == (want.get("S"), want.get("C"), want.get("M")),
               f"refused with {got.get('C')} {got.get('M')!r}, PostgreSQL says {want.get('C')} {want.get('M')!r}")

    def gssenc() -> None:
        c = pgwire.RawConn.connect(PROXY_HOST, PROXY_PORT)
        try:
            c.send(struct.pack("!II", 8, GSSENC_REQUEST_CODE))
            c.sock.settimeout(5)
            answer = c.sock.recv(1)
            expect(answer == b"N", f"GSSENCRequest answered {answer!r}, want b'N'")
            c.login("scram_user", "pgswift_test", "scram_pw")
            expect(c.simple_query("SELECT 1") == [("1",)], "SELECT 1 failed")
        finally:
            c.terminate()

    r.run("protocol_negotiation", negotiate,
          skip="PgBouncer: 1.18 refuses a protocol 3.2 StartupMessage (08P01 'bad packet header') "
               "instead of sending NegotiateProtocolVersion"
          if is_pgbouncer() else None)
    r.run("protocol_negotiation_unsupported_major", unsupported_major,
          skip="PgBouncer: 1.18 answers 08P01 'bad packet header'" if is_pgbouncer() else None)
    r.run("protocol_negotiation_gssenc", gssenc)


def max_packet_size(r: Results, a: dict[str, str]) -> None:
    def check() -> None:
        c = raw_login()
        try:
            sql = "SELECT '" + "x" * (20000 - 20) + "'"
            query = pgwire.message(b"Q", pgwire.cstr(sql))
            print(f"sending a Query of {len(query)} bytes", file=sys.stderr)
            try:
                c.send(query)
            except OSError as e:          # the proxy may close before taking all bytes
                print(f"send: {e!r}", file=sys.stderr)
            frames, closed = c.read_until_closed(5)
            print(f"frames: {[(f.type, f.body[:200]) for f in frames]}, closed {closed}", file=sys.stderr)
            errs = [f.error_fields() for f in frames if f.type == "E"]
            expect(errs, f"no ErrorResponse; frames {[f.type for f in frames]}")
            state["error"] = errs[0]
            expect(errs[0].get("C") == "08P01", f"SQLSTATE {errs[0].get('C')} ({errs[0].get('M')}), want 08P01")
            expect(not any(f.type == "D" for f in frames), "the oversized query was executed")
            expect(closed, "connection still open 5 s after the error")
        finally:
            c.close()
        select_one()

    def names_setting() -> None:
        err = state.get("error")
        expect(isinstance(err, dict), "no ErrorResponse was seen")
        expect("max_packet_size" in err.get("M", "") + err.get("D", ""),
               f"error does not name max_packet_size: {err}")

    state: dict[str, object] = {}
    r.run("max_packet_size", check)
    r.run("max_packet_size_names_setting", names_setting,
          skip="PgBouncer: 1.18 says only 'bad packet header'" if is_pgbouncer() else None)


def cancel_wrong_key_dropped(r: Results, a: dict[str, str]) -> None:
    def wrong_key() -> None:
        c = raw_login()
        try:
            expect(c.backend_key is not None, "no BackendKeyData at login")
            bpid, key = c.backend_key
            c.send(pgwire.message(b"Q", pgwire.cstr("SELECT 'done' FROM pg_sleep(1.5)")))
            time.sleep(0.3)
            # The right process id with a wrong key, then a random pair.
            for p, k in ((bpid, key ^ 0x5A5A5A5A), (int.from_bytes(os.urandom(4), "big"),
                                                  int.from_bytes(os.urandom(4), "big", signed=True))):
                s = cancel_request(p, k)
                try:
                    silently_closed(s, 3)
                finally:
                    s.close()
            rows, error = [], None
            while True:
                f = c.read_frame(10)
                if f.type == "D":
                    rows.append(f.body)
                elif f.type == "E":
                    error = f.error_fields()
                elif f.type == "Z":
                    break
            expect(error is None, f"query failed after the wrong-key cancels: {error}")
            expect(len(rows) == 1 and rows[0].endswith(b"done"), f"rows {rows}, want one row 'done'")
        finally:
            c.terminate()

    def real_cancel() -> None:
        with psycopg.connect(proxy_dsn(), autocommit=True) as conn:
            timer = threading.Timer(0.5, conn.cancel)
            timer.start()
            t0 = time.monotonic()
            try:
                conn.execute("SELECT pg_sleep(10)")
            except errors.QueryCanceled:
                took = time.monotonic() - t0
                print(f"cancelled after {took:.2f}s", file=sys.stderr)
                expect(took < 5, f"the cancel took {took:.1f}s")
            else:
                raise AssertionError("pg_sleep(10) was not cancelled")
            finally:
                timer.cancel()
            expect(conn.execute("SELECT 1").fetchone() == (1,), "connection unusable after cancel")

    r.run("cancel_wrong_key_dropped", wrong_key)
    r.run("cancel_wrong_key_dropped_real_cancel", real_cancel)


CHECKS: dict[str, Callable[[Results, dict[str, str]], None]] = {
    f.__name__: f for f in (
        reload_new_database, reload_invalid_keeps_old, pidfile_and_logfile, sigterm_waits_for_clients,
        sigterm_timeout_closes_clients, sigquit_immediate, sigusr1_pause_sigusr2_resume,
        max_client_conn, server_unreachable, max_db_connections, protocol_negotiation,
        max_packet_size, cancel_wrong_key_dropped)
}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in CHECKS:
        print(__doc__, file=sys.stderr)
        print("checks: " + " ".join(CHECKS), file=sys.stderr)
        sys.exit(0 if sys.argv[1:] == ["list"] else 2)
    args = dict(kv.split("=", 1) for kv in sys.argv[2:])
    r = Results("")
    CHECKS[sys.argv[1]](r, args)
    r.exit()


if __name__ == "__main__":
    main()
