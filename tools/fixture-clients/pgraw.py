#!/usr/bin/env python3
"""Raw-socket PostgreSQL sessions for fixtures that ordinary clients do not produce.

Only the standard library is used.  Each subcommand opens its own connection(s)
to HOST:PORT (normally the pgwire-record relay) and speaks the protocol by hand:

  functioncall  FunctionCall / FunctionCallResponse (text, binary and NULL)
  negotiate     StartupMessage asking for protocol 3.2 plus a _pq_ option,
                so that the server answers NegotiateProtocolVersion
  gssenc        GSSENCRequest first, then cleartext-password authentication
  extended      Parse/Describe/Flush, PortalSuspended, Close, NoData,
                EmptyQueryResponse, CopyFail, an error in extended mode
  replication   physical replication connection: IDENTIFY_SYSTEM,
                START_REPLICATION (CopyBothResponse), standby status update,
                CopyDone in both directions

Usage: pgraw.py SUBCOMMAND --host 127.0.0.1 --port 55441 --user U --password P --database D
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import os
import socket
import struct
import sys
import time

PROTOCOL_3_0 = 3 << 16
PROTOCOL_3_2 = (3 << 16) | 2
GSSENC_REQUEST_CODE = 80877104


class ProtocolError(Exception):
    pass


def cstr(text: str) -> bytes:
    return text.encode() + b"\x00"


def int16(v: int) -> bytes:
    return struct.pack("!h", v)


def int32(v: int) -> bytes:
    return struct.pack("!i", v)


class RawConnection:
    def __init__(self, host: str, port: int, timeout: float = 15.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""
        self.backend_pid = None
        self.secret_key = None

    # -- low level -------------------------------------------------------------
    def _fill(self, n: int) -> None:
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ProtocolError("server closed the connection")
            self.buffer += chunk

    def read_byte(self) -> bytes:
        self._fill(1)
        b, self.buffer = self.buffer[:1], self.buffer[1:]
        return b

    def read_message(self) -> tuple[str, bytes]:
        self._fill(5)
        mtype = chr(self.buffer[0])
        length = struct.unpack("!i", self.buffer[1:5])[0]
        self._fill(1 + length)
        body = self.buffer[5:1 + length]
        self.buffer = self.buffer[1 + length:]
        return mtype, body

    def send_untyped(self, body: bytes) -> None:
        self.sock.sendall(int32(len(body) + 4) + body)

    def send(self, mtype: str, body: bytes = b"") -> None:
        self.sock.sendall(mtype.encode() + int32(len(body) + 4) + body)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    # -- startup -----------------------------------------------------------------
    def startup(self, user: str, password: str, database: str, version: int = PROTOCOL_3_0,
                extra: dict[str, str] | None = None) -> list[tuple[str, bytes]]:
        params = {"user": user, "database": database, "application_name": "pgraw-fixture"}
        params.update(extra or {})
        body = int32(version)
        for key, value in params.items():
            body += cstr(key) + cstr(value)
        body += b"\x00"
        self.send_untyped(body)
        return self.authenticate(user, password)

    def authenticate(self, user: str, password: str) -> list[tuple[str, bytes]]:
        seen: list[tuple[str, bytes]] = []
        scram = None
        while True:
            mtype, body = self.read_message()
            seen.append((mtype, body))
            if mtype == "E":
                raise ProtocolError(f"server error during startup: {parse_fields(body)}")
            if mtype == "v":
                continue  # NegotiateProtocolVersion: carry on with 3.0
            if mtype == "K":
                self.backend_pid, self.secret_key = struct.unpack("!ii", body[:8])
                continue
            if mtype == "Z":
                return seen
            if mtype != "R":
                continue
            code = struct.unpack("!i", body[:4])[0]
            if code == 0:
                continue
            if code == 3:  # cleartext
                self.send("p", cstr(password))
            elif code == 5:  # md5
                salt = body[4:8]
                inner = hashlib.md5((password + user).encode()).hexdigest()
                outer = hashlib.md5(inner.encode() + salt).hexdigest()
                self.send("p", cstr("md5" + outer))
            elif code == 10:  # SASL
                mechanisms = [m.decode() for m in body[4:].split(b"\x00") if m]
                if "SCRAM-SHA-256" not in mechanisms:
                    raise ProtocolError(f"no supported SASL mechanism in {mechanisms}")
                scram = ScramClient(password)
                first = scram.client_first()
                self.send("p", cstr("SCRAM-SHA-256") + int32(len(first)) + first)
            elif code == 11:  # SASL continue
                self.send("p", scram.client_final(body[4:]))
            elif code == 12:  # SASL final
                scram.verify_server_final(body[4:])
            else:
                raise ProtocolError(f"unsupported authentication request {code}")

    # -- helpers -----------------------------------------------------------------
    def read_until_ready(self) -> list[tuple[str, bytes]]:
        out = []
        while True:
            mtype, body = self.read_message()
            out.append((mtype, body))
            if mtype == "Z":
                return out

    def simple_query(self, sql: str) -> list[tuple[str, bytes]]:
        self.send("Q", cstr(sql))
        return self.read_until_ready()

    def terminate(self) -> None:
        self.send("X")
        self.close()


class ScramClient:
    """SCRAM-SHA-256 as PostgreSQL uses it (no channel binding, empty username)."""

    def __init__(self, password: str):
        self.password = password.encode()
        self.nonce = base64.b64encode(os.urandom(18)).decode()
        self.first_bare = f"n=,r={self.nonce}"
        self.auth_message = b""
        self.salted = b""

    def client_first(self) -> bytes:
        return ("n,," + self.first_bare).encode()

    def client_final(self, server_first: bytes) -> bytes:
        attrs = dict(part.split("=", 1) for part in server_first.decode().split(","))
        nonce, salt, iterations = attrs["r"], base64.b64decode(attrs["s"]), int(attrs["i"])
        if not nonce.startswith(self.nonce):
            raise ProtocolError("server nonce does not extend ours")
        self.salted = hashlib.pbkdf2_hmac("sha256", self.password, salt, iterations)
        client_key = hmac.new(self.salted, b"Client Key", hashlib.sha256).digest()
        stored_key = hashlib.sha256(client_key).digest()
        without_proof = f"c=biws,r={nonce}"
        self.auth_message = f"{self.first_bare},{server_first.decode()},{without_proof}".encode()
        signature = hmac.new(stored_key, self.auth_message, hashlib.sha256).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()

    def verify_server_final(self, server_final: bytes) -> None:
        server_key = hmac.new(self.salted, b"Server Key", hashlib.sha256).digest()
        expected = hmac.new(server_key, self.auth_message, hashlib.sha256).digest()
        text = server_final.decode()
        if not text.startswith("v=") or base64.b64decode(text[2:]) != expected:
            raise ProtocolError("server signature mismatch")


def parse_fields(body: bytes) -> dict[str, str]:
    fields = {}
    for item in body.split(b"\x00"):
        if item:
            fields[chr(item[0])] = item[1:].decode(errors="replace")
    return fields


def expect_types(got: list[tuple[str, bytes]], wanted: str, what: str) -> None:
    types = "".join(t for t, _ in got)
    if types != wanted:
        raise ProtocolError(f"{what}: expected message types {wanted!r}, got {types!r}")


def first_value(messages: list[tuple[str, bytes]]) -> bytes | None:
    for mtype, body in messages:
        if mtype == "D":
            count = struct.unpack("!h", body[:2])[0]
            if count == 0:
                return None
            length = struct.unpack("!i", body[2:6])[0]
            return None if length < 0 else body[6:6 + length]
    return None


# -- sessions ------------------------------------------------------------------

def session_functioncall(args) -> None:
    conn = RawConnection(args.host, args.port)
    conn.startup(args.user, args.password, args.database)
    oid = int(first_value(conn.simple_query("select 'int4abs'::regproc::oid")))

    # Text argument, text result: int4abs('-42') = '42'
    body = int32(oid) + int16(1) + int16(0) + int16(1) + int32(3) + b"-42" + int16(0)
    conn.send("F", body)
    expect_types(conn.read_until_ready(), "VZ", "FunctionCall text")

    # Binary argument, binary result: int4abs(-7) = 7
    body = int32(oid) + int16(1) + int16(1) + int16(1) + int32(4) + int32(-7) + int16(1)
    conn.send("F", body)
    expect_types(conn.read_until_ready(), "VZ", "FunctionCall binary")

    # NULL argument: int4abs is strict, so the result is NULL (length -1)
    body = int32(oid) + int16(0) + int16(1) + int32(-1) + int16(0)
    conn.send("F", body)
    expect_types(conn.read_until_ready(), "VZ", "FunctionCall null")

    # A function oid that does not exist gives an ErrorResponse
    body = int32(1) + int16(0) + int16(0) + int16(0)
    conn.send("F", body)
    expect_types(conn.read_until_ready(), "EZ", "FunctionCall bad oid")
    conn.terminate()


def session_negotiate(args) -> None:
    conn = RawConnection(args.host, args.port)
    seen = conn.startup(args.user, args.password, args.database, version=PROTOCOL_3_2,
                        extra={"_pq_.some_option": "on"})
    if not any(t == "v" for t, _ in seen):
        raise ProtocolError("server did not send NegotiateProtocolVersion")
    conn.simple_query("select current_setting('server_version') as v")
    conn.terminate()


def session_gssenc(args) -> None:
    conn = RawConnection(args.host, args.port)
    conn.send_untyped(int32(GSSENC_REQUEST_CODE))
    answer = conn.read_byte()
    if answer != b"N":
        raise ProtocolError(f"expected 'N' to GSSENCRequest, got {answer!r}")
    conn.startup(args.user, args.password, args.database)
    conn.simple_query("select 'after GSSENCRequest' as note")
    conn.terminate()


def parse_msg(name: str, sql: str, param_oids: list[int]) -> bytes:
    body = cstr(name) + cstr(sql) + int16(len(param_oids))
    for oid in param_oids:
        body += int32(oid)
    return body


def bind_msg(portal: str, stmt: str, params: list[bytes | None], result_formats: list[int]) -> bytes:
    body = cstr(portal) + cstr(stmt) + int16(0) + int16(len(params))
    for p in params:
        body += int32(-1) if p is None else int32(len(p)) + p
    body += int16(len(result_formats))
    for f in result_formats:
        body += int16(f)
    return body


def session_extended(args) -> None:
    conn = RawConnection(args.host, args.port)
    conn.startup(args.user, args.password, args.database)

    # Parse + Describe(statement) + Flush: replies arrive without a Sync.
    conn.send("P", parse_msg("s1", "select n, repeat('x', n) as xs from generate_series(1, $1::int) n", [0]))
    conn.send("D", b"S" + cstr("s1"))
    conn.send("H")
    got = [conn.read_message() for _ in range(3)]
    expect_types(got, "1tT", "Parse/Describe/Flush")

    # Bind + Execute with a row limit -> PortalSuspended, then the rest.
    conn.send("B", bind_msg("p1", "s1", [b"5"], [0, 1]))
    conn.send("E", cstr("p1") + int32(2))
    conn.send("E", cstr("p1") + int32(0))
    conn.send("C", b"P" + cstr("p1"))
    conn.send("C", b"S" + cstr("s1"))
    conn.send("S")
    expect_types(conn.read_until_ready(), "2DDsDDDC33Z", "Bind/Execute/Close")

    # A statement without a result: Describe gives ParameterDescription + NoData.
    conn.send("P", parse_msg("", "set application_name = 'pgraw-extended'", []))
    conn.send("D", b"S" + cstr(""))
    conn.send("B", bind_msg("", "", [], []))
    conn.send("D", b"P" + cstr(""))
    conn.send("E", cstr("") + int32(0))
    conn.send("S")
    expect_types(conn.read_until_ready(), "1tn2nCSZ", "utility statement")

    # Empty query string, simple and extended.
    expect_types(conn.simple_query(""), "IZ", "empty simple query")
    conn.send("P", parse_msg("", "", []))
    conn.send("B", bind_msg("", "", [], []))
    conn.send("D", b"P" + cstr(""))
    conn.send("E", cstr("") + int32(0))
    conn.send("S")
    expect_types(conn.read_until_ready(), "12nIZ", "empty extended query")

    # An error in extended mode: the server skips to Sync.
    conn.send("P", parse_msg("", "select n / (n - $1::int) from generate_series(1, 1) as n", [23]))
    conn.send("B", bind_msg("", "", [b"1"], []))
    conn.send("E", cstr("") + int32(0))
    conn.send("S")
    expect_types(conn.read_until_ready(), "12EZ", "division by zero")

    # COPY FROM STDIN abandoned with CopyFail.
    conn.simple_query("create temp table raw_copy(a int, b text)")
    conn.send("Q", cstr("copy raw_copy from stdin"))
    mtype, _ = conn.read_message()
    if mtype != "G":
        raise ProtocolError(f"expected CopyInResponse, got {mtype!r}")
    conn.send("d", b"1\tone\n")
    conn.send("f", cstr("pgraw gave up on purpose"))
    expect_types(conn.read_until_ready(), "EZ", "CopyFail")
    conn.terminate()


def session_replication(args) -> None:
    conn = RawConnection(args.host, args.port)
    conn.startup(args.user, args.password, args.database, extra={"replication": "true"})
    system = conn.simple_query("IDENTIFY_SYSTEM")
    expect_types(system, "TDCZ", "IDENTIFY_SYSTEM")
    # Columns: systemid, timeline, xlogpos, dbname
    body = next(b for t, b in system if t == "D")
    pos = 2
    values = []
    for _ in range(struct.unpack("!h", body[:2])[0]):
        n = struct.unpack("!i", body[pos:pos + 4])[0]
        pos += 4
        values.append(None if n < 0 else body[pos:pos + n].decode())
        pos += max(n, 0)
    xlogpos = values[2]
    conn.send("Q", cstr(f"START_REPLICATION PHYSICAL {xlogpos}"))
    mtype, _ = conn.read_message()
    if mtype != "W":
        raise ProtocolError(f"expected CopyBothResponse, got {mtype!r}")
    hi, lo = (int(x, 16) for x in xlogpos.split("/"))
    lsn = (hi << 32) | lo
    # Standby status update asking for an immediate reply (a keepalive).
    now_us = int((time.time() - 946684800) * 1_000_000)
    status = b"r" + struct.pack("!qqqqB", lsn, lsn, lsn, now_us, 1)
    conn.send("d", status)
    while True:
        mtype, body = conn.read_message()
        if mtype == "d" and body[:1] == b"k":
            break
    conn.send("c")
    # Server answers CopyDone, then finishes the command.
    rest = conn.read_until_ready()
    types = "".join(t for t, _ in rest)
    if "c" not in types:
        raise ProtocolError(f"no CopyDone from server after ours: {types!r}")
    conn.terminate()


SESSIONS = {
    "functioncall": session_functioncall,
    "negotiate": session_negotiate,
    "gssenc": session_gssenc,
    "extended": session_extended,
    "replication": session_replication,
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("session", choices=sorted(SESSIONS))
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--database", required=True)
    args = ap.parse_args()
    SESSIONS[args.session](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
