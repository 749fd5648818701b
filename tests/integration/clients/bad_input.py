"""Hostile and broken clients/servers, driven over raw sockets (pgwire.py).

Each check also proves afterwards that the proxy still accepts a normal login.
Needs client_login_timeout = 2 in the proxy's configuration (run.sh sets it).
"""

from __future__ import annotations

import os
import socket
import struct
import sys
import time

import psycopg

import pgwire
from harness import (PASSWORD, PROXY_HOST, PROXY_PORT, TEST_DB, USER, Results, expect, is_pgbouncer,
                     superuser_dsn, wait_for)

R = Results("bad")


def raw() -> pgwire.RawConn:
    return pgwire.RawConn.connect(PROXY_HOST, PROXY_PORT, timeout=10)


def still_serving() -> None:
    c = raw()
    try:
        c.login(USER, TEST_DB, PASSWORD)
        expect(c.simple_query("SELECT 'alive'") == [("alive",)], "fresh client query failed")
    finally:
        c.terminate()


def expect_rejected(payload: bytes, what: str, timeout: float = 5.0) -> None:
    """Send payload as the first bytes of a connection: the proxy must hang up, without
    ever offering authentication; anything it sends first must be an ErrorResponse."""
    c = raw()
    t0 = time.monotonic()
    try:
        c.send(payload)
        frames, closed = c.read_until_closed(timeout)
    except ValueError as e:  # bytes that are not frames at all
        raise AssertionError(f"{what}: unparseable reply: {e}") from None
    finally:
        c.close()
    elapsed = time.monotonic() - t0
    for f in frames:
        print(f"{what}: got {f.type!r} {f.error_fields() if f.type == 'E' else f.body[:40]!r}", file=sys.stderr)
    expect(closed, f"{what}: connection still open after {timeout}s")
    expect(all(f.type in ("E", "N") for f in frames), f"{what}: unexpected frames {[f.type for f in frames]}")
    for f in frames:
        if f.type == "E":
            fields = f.error_fields()
            expect("S" in fields and "C" in fields and "M" in fields, f"{what}: ErrorResponse lacks S/C/M: {fields}")
    print(f"{what}: closed after {elapsed:.2f}s", file=sys.stderr)
    still_serving()


def short_startup() -> None:
    # A length of 3 cannot even cover the length field itself.
    expect_rejected(struct.pack("!I", 3), "length 3")


def huge_length() -> None:
    # 2^31: must be refused at once, not buffered for.
    expect_rejected(struct.pack("!I", 2**31) + struct.pack("!I", pgwire.PROTOCOL_3_0) + b"user\0x\0\0",
                    "length 2^31")


def garbage_prefix() -> None:
    expect_rejected(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n" + pgwire.startup_packet(USER, TEST_DB),
                    "http request")
    # Plausible length, nonsense protocol number, then a real startup packet.
    expect_rejected(struct.pack("!II", 16, 0x12345678) + b"\x07" * 8 + pgwire.startup_packet(USER, TEST_DB),
                    "bogus protocol")


def silent_client() -> None:
    c = raw()
    t0 = time.monotonic()
    try:
        frames, closed = c.read_until_closed(8.0)
    finally:
        c.close()
    elapsed = time.monotonic() - t0
    print(f"silent client closed={closed} after {elapsed:.2f}s, frames {[f.type for f in frames]}", file=sys.stderr)
    expect(closed, "proxy kept a silent client for 8 s (client_login_timeout = 2)")
    expect(elapsed <= 4.5, f"closed only after {elapsed:.2f}s (client_login_timeout = 2)")
    still_serving()


def _marker(tag: str) -> str:
    return f"pgswift_it_{tag}_{os.getpid()}_{int(time.time() * 1000)}"


def _backend_pids(su: psycopg.Connection, marker: str) -> list[int]:
    rows = su.execute(
        "SELECT pid FROM pg_stat_activity WHERE state = 'active' AND query LIKE %s AND pid <> pg_backend_pid()",
        (f"%{marker}%",)).fetchall()
    return [r[0] for r in rows]


def disconnect_mid_query() -> None:
    """The client hangs up (RST) while its query runs; the proxy must survive and keep serving.
    Returns whether the server-side query was gone within 5 s (checked separately)."""
    marker = _marker("disconnect")
    with psycopg.connect(superuser_dsn(), autocommit=True) as su:
        c = raw()
        c.login(USER, TEST_DB, PASSWORD)
        c.send(pgwire.message(b"Q", pgwire.cstr(f"SELECT pg_sleep(30) /* {marker} */")))
        expect(wait_for(lambda: bool(_backend_pids(su, marker)), 5), "query never reached the server")
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        t0 = time.monotonic()
        c.close()
        still_serving()
        gone = wait_for(lambda: not _backend_pids(su, marker), 5)
        print(f"server query gone={gone} after {time.monotonic() - t0:.2f}s", file=sys.stderr)
        DISCONNECT["query_gone"] = gone
        DISCONNECT["pids"] = _backend_pids(su, marker)
        # Tidy up for PgBouncer, which leaves the query running.
        su.execute("SELECT pg_cancel_backend(p) FROM unnest(%s::int[]) AS p", (DISCONNECT["pids"],))


DISCONNECT: dict = {}


def disconnect_query_stopped() -> None:
    expect("query_gone" in DISCONNECT, "the disconnect check did not get that far")
    expect(DISCONNECT["query_gone"],
           f"pg_sleep still running on the server 5 s after the client left: pids {DISCONNECT['pids']}")
    still_serving()


def server_terminated() -> None:
    marker = _marker("terminate")
    with psycopg.connect(superuser_dsn(), autocommit=True) as su:
        c = raw()
        try:
            c.login(USER, TEST_DB, PASSWORD)
            c.send(pgwire.message(b"Q", pgwire.cstr(f"SELECT pg_sleep(30) /* {marker} */")))
            expect(wait_for(lambda: bool(_backend_pids(su, marker)), 5), "query never reached the server")
            pids = _backend_pids(su, marker)
            su.execute("SELECT pg_terminate_backend(p) FROM unnest(%s::int[]) AS p", (pids,))
            t0 = time.monotonic()
            frames, closed = c.read_until_closed(5.0)
            elapsed = time.monotonic() - t0
        finally:
            c.close()
    errors = [f.error_fields() for f in frames if f.type == "E"]
    print(f"after terminate ({elapsed:.2f}s, closed={closed}): {errors}", file=sys.stderr)
    expect(errors, f"no ErrorResponse reached the client (frames {[f.type for f in frames]}, closed={closed})")
    codes = [e.get("C", "") for e in errors]
    expect(any(code.startswith("08") or code == "57P01" for code in codes), f"SQLSTATEs {codes}")
    still_serving()


def main() -> None:
    R.run("short_startup_packet", short_startup)
    R.run("huge_length", huge_length)
    R.run("garbage_before_startup", garbage_prefix)
    R.run("silent_client_login_timeout", silent_client)
    R.run("client_disconnect_mid_query", disconnect_mid_query)
    # PgBouncer cannot pass this one: 1.18 drops the server connection of a client that
    # vanished mid-query but does not cancel the query, so pg_sleep runs on to the end.
    R.run("client_disconnect_query_stopped", disconnect_query_stopped,
          skip="PgBouncer: does not cancel a vanished client's running query" if is_pgbouncer() else None)
    R.run("server_backend_terminated", server_terminated)
    R.exit()


if __name__ == "__main__":
    main()
