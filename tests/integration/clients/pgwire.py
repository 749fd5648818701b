"""Minimal PostgreSQL wire-protocol client for the bad-input and prepared-statement tests (stdlib only).

It speaks just enough of protocol 3.0 over a raw socket to log in (trust,
cleartext, md5, SCRAM-SHA-256 without channel binding), send simple queries,
build extended-query messages (Parse/Bind/Describe/Execute/Close/Sync/Flush,
text format only) and read back frames, so the tests can send malformed bytes
or exact message sequences and look at exactly what comes back, including
every field of an ErrorResponse.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import socket
import struct
import time
from dataclasses import dataclass, field

PROTOCOL_3_0 = 196608  # 3 << 16


class ConnectionClosed(Exception):
    """The peer closed the connection (recv returned no bytes, or a reset)."""


class ServerError(Exception):
    """An ErrorResponse arrived; .fields holds its fields keyed by their type letter."""

    def __init__(self, fields: dict[str, str]):
        self.fields = fields
        super().__init__(f"{fields.get('S', '?')} {fields.get('C', '?')}: {fields.get('M', '')}")

    @property
    def sqlstate(self) -> str | None:
        return self.fields.get("C")


@dataclass
class Frame:
    type: str          # one ASCII letter, e.g. 'R', 'E', 'Z'
    body: bytes

    def error_fields(self) -> dict[str, str]:
        return parse_error_fields(self.body)


def parse_error_fields(body: bytes) -> dict[str, str]:
    """Decode the body of an ErrorResponse/NoticeResponse: (type byte, C string)* then a 0 byte."""
    fields: dict[str, str] = {}
    pos = 0
    while pos < len(body) and body[pos] != 0:
        code = chr(body[pos])
        end = body.index(b"\0", pos + 1)
        fields[code] = body[pos + 1:end].decode("utf-8", "replace")
        pos = end + 1
    return fields


def startup_packet(user: str, database: str, *, protocol: int = PROTOCOL_3_0, **params: str) -> bytes:
    payload = struct.pack("!I", protocol)
    items = {"user": user, "database": database, **params}
    for k, v in items.items():
        payload += k.encode() + b"\0" + v.encode() + b"\0"
    payload += b"\0"
    return struct.pack("!I", len(payload) + 4) + payload


def message(type_: bytes, body: bytes = b"") -> bytes:
    return type_ + struct.pack("!I", len(body) + 4) + body


def cstr(s: str) -> bytes:
    return s.encode() + b"\0"


def data_row_values(body: bytes) -> tuple[str | None, ...]:
    """Decode a DataRow body (text format): None for SQL NULL."""
    (n,) = struct.unpack("!H", body[:2])
    pos, vals = 2, []
    for _ in range(n):
        (ln,) = struct.unpack("!i", body[pos:pos + 4])
        pos += 4
        if ln < 0:
            vals.append(None)
        else:
            vals.append(body[pos:pos + ln].decode())
            pos += ln
    return tuple(vals)


# --- extended query messages (frontend), all parameters and results in text format

def parse_msg(name: str, sql: str, param_oids: tuple[int, ...] = ()) -> bytes:
    body = cstr(name) + cstr(sql) + struct.pack("!H", len(param_oids))
    body += b"".join(struct.pack("!I", oid) for oid in param_oids)
    return message(b"P", body)


def bind_msg(portal: str, statement: str, params: tuple[str | None, ...] = ()) -> bytes:
    body = cstr(portal) + cstr(statement) + struct.pack("!H", 0) + struct.pack("!H", len(params))
    for p in params:
        if p is None:
            body += struct.pack("!i", -1)
        else:
            raw = p.encode()
            body += struct.pack("!i", len(raw)) + raw
    return message(b"B", body + struct.pack("!H", 0))


def describe_msg(kind: str, name: str) -> bytes:
    """kind 'S' (statement) or 'P' (portal)."""
    return message(b"D", kind.encode() + cstr(name))


def execute_msg(portal: str = "", max_rows: int = 0) -> bytes:
    return message(b"E", cstr(portal) + struct.pack("!I", max_rows))


def close_msg(kind: str, name: str) -> bytes:
    """kind 'S' (statement) or 'P' (portal)."""
    return message(b"C", kind.encode() + cstr(name))


SYNC = message(b"S")
FLUSH = message(b"H")


@dataclass
class RawConn:
    """A raw socket with a frame reader.  Timeouts raise socket.timeout (TimeoutError)."""

    sock: socket.socket
    buf: bytearray = field(default_factory=bytearray)
    # Authentication requests seen during login: "cleartext", "md5", "scram" (empty: none asked).
    auth_methods: list[str] = field(default_factory=list)
    # From login: BackendKeyData (pid, secret key), and NegotiateProtocolVersion
    # (newest version supported, as PostgreSQL sends it: major << 16 | minor; options not
    # recognised) if one was sent, with its body as received.
    backend_key: tuple[int, int] | None = None
    negotiated: tuple[int, list[str]] | None = None
    negotiate_body: bytes | None = None

    @classmethod
    def connect(cls, host: str, port: int, timeout: float = 10.0, unix_dir: str | None = None) -> "RawConn":
        if unix_dir:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(timeout)
            s.connect(os.path.join(unix_dir, f".s.PGSQL.{port}"))
        else:
            s = socket.create_connection((host, port), timeout=timeout)
        return cls(s)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def _fill(self, need: int, deadline: float) -> None:
        while len(self.buf) < need:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("timed out waiting for data")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError as e:
                raise ConnectionClosed("connection reset") from e
            if not chunk:
                raise ConnectionClosed("connection closed by peer")
            self.buf += chunk

    def read_frame(self, timeout: float = 10.0) -> Frame:
        deadline = time.monotonic() + timeout
        self._fill(5, deadline)
        type_ = chr(self.buf[0])
        (length,) = struct.unpack("!I", self.buf[1:5])
        if length < 4 or length > 64 * 1024 * 1024:
            raise ValueError(f"implausible frame length {length} for type {type_!r}")
        self._fill(1 + length, deadline)
        body = bytes(self.buf[5:1 + length])
        del self.buf[:1 + length]
        return Frame(type_, body)

    def read_until_closed(self, timeout: float) -> tuple[list[Frame], bool]:
        """Read frames until the peer closes.  Returns (frames, closed_in_time)."""
        frames: list[Frame] = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                frames.append(self.read_frame(max(0.01, deadline - time.monotonic())))
            except ConnectionClosed:
                return frames, True
            except TimeoutError:
                return frames, False

    # --- login -------------------------------------------------------------

    def login(self, user: str, database: str, password: str | None = None, timeout: float = 10.0,
              *, protocol: int = PROTOCOL_3_0, **params: str) -> dict[str, str]:
        """Run the startup/authentication exchange; return the ParameterStatus values.

        Raises ServerError on an ErrorResponse, ConnectionClosed if the peer hangs up.
        """
        self.send(startup_packet(user, database, protocol=protocol, **params))
        scram: _Scram | None = None
        status: dict[str, str] = {}
        while True:
            f = self.read_frame(timeout)
            if f.type == "E":
                raise ServerError(f.error_fields())
            if f.type == "R":
                (code,) = struct.unpack("!I", f.body[:4])
                if code == 0:
                    continue
                if code in (11, 12):
                    pass
                elif password is None:
                    raise ValueError(f"server asks for authentication (code {code}) but no password given")
                else:
                    self.auth_methods.append({3: "cleartext", 5: "md5", 10: "scram"}.get(code, str(code)))
                if code == 3:  # cleartext
                    self.send(message(b"p", cstr(password)))
                elif code == 5:  # md5
                    salt = f.body[4:8]
                    inner = hashlib.md5(password.encode() + user.encode()).hexdigest()
                    outer = hashlib.md5(inner.encode() + salt).hexdigest()
                    self.send(message(b"p", cstr("md5" + outer)))
                elif code == 10:  # SASL: mechanism list
                    mechs = [m for m in f.body[4:].split(b"\0") if m]
                    if b"SCRAM-SHA-256" not in mechs:
                        raise ValueError(f"no SCRAM-SHA-256 among {mechs}")
                    scram = _Scram(password)
                    first = scram.client_first().encode()
                    self.send(message(b"p", cstr("SCRAM-SHA-256") + struct.pack("!i", len(first)) + first))
                elif code == 11:  # SASLContinue
                    assert scram is not None
                    self.send(message(b"p", scram.client_final(f.body[4:].decode()).encode()))
                elif code == 12:  # SASLFinal
                    assert scram is not None
                    scram.verify_server_final(f.body[4:].decode())
                else:
                    raise ValueError(f"unsupported authentication request {code}")
            elif f.type == "S":
                name, value, _ = f.body.split(b"\0", 2)
                status[name.decode()] = value.decode()
            elif f.type == "K":
                self.backend_key = struct.unpack("!Ii", f.body[:8])
            elif f.type == "v":
                (version, count) = struct.unpack("!ii", f.body[:8])
                options = [o.decode() for o in f.body[8:].split(b"\0")[:count]]
                self.negotiated = (version, options)
                self.negotiate_body = f.body
            elif f.type == "Z":
                return status
            elif f.type == "N":
                pass
            else:
                raise ValueError(f"unexpected frame {f.type!r} during login")

    def simple_query(self, sql: str, timeout: float = 30.0) -> list[tuple[str | None, ...]]:
        """Send a Query and return all data rows (as text); raises ServerError on error."""
        self.send(message(b"Q", cstr(sql)))
        rows: list[tuple[str | None, ...]] = []
        error: ServerError | None = None
        while True:
            f = self.read_frame(timeout)
            if f.type == "D":
                rows.append(data_row_values(f.body))
            elif f.type == "E":
                error = ServerError(f.error_fields())
            elif f.type == "Z":
                if error:
                    raise error
                return rows

    def read_until_ready(self, timeout: float = 30.0) -> list[Frame]:
        """Read frames up to and including the next ReadyForQuery (after a Sync or a simple query)."""
        frames: list[Frame] = []
        deadline = time.monotonic() + timeout
        while not frames or frames[-1].type != "Z":
            frames.append(self.read_frame(max(0.01, deadline - time.monotonic())))
        return frames

    def terminate(self) -> None:
        try:
            self.send(message(b"X"))
        except OSError:
            pass
        self.close()


class _Scram:
    """SCRAM-SHA-256 client side (RFC 5802/7677), no channel binding ("n,,")."""

    def __init__(self, password: str):
        self.password = password.encode()
        self.nonce = base64.b64encode(os.urandom(18)).decode()
        self.first_bare = f"n=,r={self.nonce}"
        self.server_signature = b""

    def client_first(self) -> str:
        return "n,," + self.first_bare

    def client_final(self, server_first: str) -> str:
        attrs = dict(item.split("=", 1) for item in server_first.split(","))
        if not attrs["r"].startswith(self.nonce):
            raise ValueError("server nonce does not extend ours")
        salt = base64.b64decode(attrs["s"])
        iterations = int(attrs["i"])
        salted = hashlib.pbkdf2_hmac("sha256", self.password, salt, iterations)
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        stored_key = hashlib.sha256(client_key).digest()
        final_no_proof = f"c=biws,r={attrs['r']}"
        auth_message = f"{self.first_bare},{server_first},{final_no_proof}".encode()
        client_sig = hmac.new(stored_key, auth_message, hashlib.sha256).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, client_sig))
        server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
        self.server_signature = hmac.new(server_key, auth_message, hashlib.sha256).digest()
        return f"{final_no_proof},p={base64.b64encode(proof).decode()}"

    def verify_server_final(self, server_final: str) -> None:
        attrs = dict(item.split("=", 1) for item in server_final.split(","))
        if "e" in attrs:
            raise ValueError(f"SCRAM error from server: {attrs['e']}")
        if base64.b64decode(attrs["v"]) != self.server_signature:
            raise ValueError("SCRAM server signature mismatch")
