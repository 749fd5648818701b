#!/usr/bin/env python3
"""pgwire-record: record PostgreSQL wire-protocol sessions as fixture files.

Recording mode
    pgwire-record.py --listen 55441 --server 127.0.0.1:55440 --out FILE [--label TEXT] [--note TEXT ...]

    Accepts client connections on 127.0.0.1:PORT, opens one connection to the
    real server for each of them, and relays bytes both ways.  Every protocol
    frame that passes is appended to FILE (one line per frame) *before* it is
    forwarded, so the order of lines within one connection is the order in
    which the relay saw the frames, and a reply is never written before the
    request that caused it.

    SSLRequest and GSSENCRequest are never forwarded: the relay itself answers
    with the single byte 'N' so that the session stays in plaintext (the byte
    is recorded as a `b 4e` line).  A CancelRequest arrives on a connection of
    its own and is forwarded like a StartupMessage.

Check mode
    pgwire-record.py --check FILE [FILE ...]

    Re-parses fixture files and verifies that every frame's length field
    matches the bytes on its line and that every type byte is one that the
    direction may carry.  Exits 1 on the first file with an error.

Fixture format (one frame per line; see pgwire-fixtures/README.md)
    # text           comment; "# connection N" marks that the frames below it
                     belong to the relay's N-th accepted connection
    f <hex>          untyped frontend packet: Int32 length + body
    F <hex>          typed frontend frame: type byte + Int32 length + body
    B <hex>          typed backend frame: type byte + Int32 length + body
    b <hex>          one single backend byte (the answer to SSL/GSSENC requests)
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import signal
import socket
import sys
import threading
import time

SSL_REQUEST_CODE = 80877103
GSSENC_REQUEST_CODE = 80877104
CANCEL_REQUEST_CODE = 80877102
SPECIAL_CODES = {SSL_REQUEST_CODE, GSSENC_REQUEST_CODE, CANCEL_REQUEST_CODE}

# Largest frame the relay will buffer; PostgreSQL itself caps messages at 1 GB.
MAX_FRAME = 1 << 30

# Type bytes of protocol 3.x, by direction.
FRONTEND_TYPES = set(b"BCdcfDEHFpPQSX")
BACKEND_TYPES = set(b"RK23CdcGHWDIEVvnNAtS1sZT")
SINGLE_BYTE_ANSWERS = set(b"NSG")


def log(msg: str) -> None:
    sys.stderr.write(f"pgwire-record: {msg}\n")
    sys.stderr.flush()


class Recorder:
    """Serialises frame lines from all relay threads into one file."""

    def __init__(self, path: str, label: str | None, notes: list[str], server: str):
        self.lock = threading.Lock()
        self.file = open(path, "a", encoding="ascii", newline="\n")
        self.last_connection: int | None = None
        self.closed = False
        if self.file.tell() == 0:
            when = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
            lines = ["# pgwire fixture (format 1): one protocol frame per line, see pgwire-fixtures/README.md"]
            if label:
                lines.append(f"# label: {label}")
            for note in notes:
                lines.append(f"# {note}")
            lines.append(f"# upstream server: {server}")
            lines.append(f"# recorded: {when}")
            self.file.write("\n".join(lines) + "\n")
            self.file.flush()

    def frame(self, connection: int, tag: str, data: bytes) -> None:
        line = f"{tag} {data.hex()}\n"
        with self.lock:
            if self.closed:
                return
            if connection != self.last_connection:
                self.file.write(f"# connection {connection}\n")
                self.last_connection = connection
            self.file.write(line)
            self.file.flush()

    def close(self) -> None:
        with self.lock:
            if not self.closed:
                self.closed = True
                self.file.close()


class ConnectionClosed(Exception):
    pass


def recv_exact(sock: socket.socket, count: int, at_boundary: bool) -> bytes | None:
    """Read exactly `count` bytes.  Returns None on a clean EOF before the first
    byte when `at_boundary` is true; raises ConnectionClosed on EOF mid-frame."""
    chunks = []
    remaining = count
    while remaining > 0:
        chunk = sock.recv(min(remaining, 1 << 20))
        if not chunk:
            if at_boundary and remaining == count:
                return None
            raise ConnectionClosed(f"EOF after {count - remaining} of {count} bytes")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def pipe_raw(src: socket.socket, dst: socket.socket) -> None:
    """Fallback after a framing error: copy bytes unrecorded until EOF."""
    while True:
        chunk = src.recv(65536)
        if not chunk:
            return
        dst.sendall(chunk)


class Relay:
    def __init__(self, listen_port: int, server_host: str, server_port: int, recorder: Recorder):
        self.listen_port = listen_port
        self.server = (server_host, server_port)
        self.recorder = recorder
        self.counter_lock = threading.Lock()
        self.next_id = 1
        self.active = 0

    # -- client -> server --------------------------------------------------
    def frontend_loop(self, cid: int, client: socket.socket, server: socket.socket) -> None:
        rec = self.recorder
        in_startup = True
        while True:
            if in_startup:
                header = recv_exact(client, 4, at_boundary=True)
                if header is None:
                    return
                length = int.from_bytes(header, "big")
                if length < 8 or length > MAX_FRAME:
                    log(f"connection {cid}: bad startup length {length}; passing raw")
                    server.sendall(header)
                    pipe_raw(client, server)
                    return
                body = recv_exact(client, length - 4, at_boundary=False)
                packet = header + body
                rec.frame(cid, "f", packet)
                code = int.from_bytes(body[:4], "big")
                if code in (SSL_REQUEST_CODE, GSSENC_REQUEST_CODE) and length == 8:
                    # Decline encryption ourselves; the client goes on in plaintext
                    # and sends another untyped packet.
                    rec.frame(cid, "b", b"N")
                    client.sendall(b"N")
                    continue
                server.sendall(packet)
                if code != CANCEL_REQUEST_CODE:
                    in_startup = False
                continue

            header = recv_exact(client, 5, at_boundary=True)
            if header is None:
                return
            length = int.from_bytes(header[1:5], "big")
            if length < 4 or length > MAX_FRAME:
                log(f"connection {cid}: bad frontend length {length}; passing raw")
                server.sendall(header)
                pipe_raw(client, server)
                return
            body = recv_exact(client, length - 4, at_boundary=False)
            frame = header + body
            rec.frame(cid, "F", frame)
            server.sendall(frame)

    # -- server -> client --------------------------------------------------
    def backend_loop(self, cid: int, client: socket.socket, server: socket.socket) -> None:
        rec = self.recorder
        while True:
            header = recv_exact(server, 5, at_boundary=True)
            if header is None:
                return
            length = int.from_bytes(header[1:5], "big")
            if length < 4 or length > MAX_FRAME:
                log(f"connection {cid}: bad backend length {length}; passing raw")
                client.sendall(header)
                pipe_raw(server, client)
                return
            body = recv_exact(server, length - 4, at_boundary=False)
            frame = header + body
            rec.frame(cid, "B", frame)
            client.sendall(frame)

    def run_direction(self, name: str, loop, cid: int, src: socket.socket, dst: socket.socket,
                      client: socket.socket, server: socket.socket) -> None:
        try:
            loop(cid, client, server)
        except (ConnectionClosed, OSError) as exc:
            log(f"connection {cid} {name}: {exc}")
        finally:
            # Propagate the half-close so the peer sees EOF too.
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def handle(self, cid: int, client: socket.socket) -> None:
        try:
            server = socket.create_connection(self.server)
        except OSError as exc:
            log(f"connection {cid}: cannot reach server: {exc}")
            client.close()
            self._done()
            return
        for s in (client, server):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        up = threading.Thread(
            target=self.run_direction,
            args=("frontend", self.frontend_loop, cid, client, server, client, server),
            daemon=True,
        )
        up.start()
        self.run_direction("backend", self.backend_loop, cid, server, client, client, server)
        # The server has gone; a well-behaved client closes too.  Do not wait
        # for ever on one that does not: closing the sockets ends its thread.
        up.join(timeout=5.0)
        client.close()
        server.close()
        self._done()

    def _done(self) -> None:
        with self.counter_lock:
            self.active -= 1

    def serve(self, stop: threading.Event) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.listen_port))
        listener.listen(128)
        listener.settimeout(0.2)
        log(f"listening on 127.0.0.1:{self.listen_port}, relaying to {self.server[0]}:{self.server[1]}")
        try:
            while not stop.is_set():
                try:
                    client, _ = listener.accept()
                except socket.timeout:
                    continue
                client.settimeout(None)
                with self.counter_lock:
                    cid = self.next_id
                    self.next_id += 1
                    self.active += 1
                threading.Thread(target=self.handle, args=(cid, client), daemon=True).start()
        finally:
            listener.close()
        # Give connections in flight a moment to finish so that their last
        # frames are on disk before the file is closed.
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            with self.counter_lock:
                if self.active == 0:
                    break
            time.sleep(0.05)


# -- check mode ---------------------------------------------------------------

def check_file(path: str) -> tuple[int, list[str]]:
    errors: list[str] = []
    frames = 0
    with open(path, "r", encoding="ascii") as fh:
        for lineno, raw in enumerate(fh, start=1):
            line = raw.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            where = f"{path}:{lineno}"
            if len(line) < 3 or line[1] != " " or line[0] not in "fFBb":
                errors.append(f"{where}: not a frame line")
                continue
            tag, hexpart = line[0], line[2:]
            if hexpart != hexpart.lower() or len(hexpart) % 2:
                errors.append(f"{where}: hex must be lowercase with an even number of digits")
                continue
            try:
                data = bytes.fromhex(hexpart)
            except ValueError:
                errors.append(f"{where}: invalid hex")
                continue
            frames += 1
            if tag == "b":
                if len(data) != 1 or data[0] not in SINGLE_BYTE_ANSWERS:
                    errors.append(f"{where}: 'b' must carry one byte N, S or G")
                continue
            if tag == "f":
                if len(data) < 8:
                    errors.append(f"{where}: untyped packet shorter than 8 bytes")
                    continue
                length = int.from_bytes(data[:4], "big")
                if length != len(data):
                    errors.append(f"{where}: length field {length} but {len(data)} bytes")
                    continue
                code = int.from_bytes(data[4:8], "big")
                if code not in SPECIAL_CODES and (code >> 16) != 3:
                    errors.append(f"{where}: unknown startup code {code}")
                continue
            # typed
            if len(data) < 5:
                errors.append(f"{where}: typed frame shorter than 5 bytes")
                continue
            length = int.from_bytes(data[1:5], "big")
            if length != len(data) - 1:
                errors.append(f"{where}: length field {length} but {len(data) - 1} bytes after the type byte")
                continue
            allowed = FRONTEND_TYPES if tag == "F" else BACKEND_TYPES
            if data[0] not in allowed:
                errors.append(f"{where}: type byte {chr(data[0])!r} is not a {'frontend' if tag == 'F' else 'backend'} message")
    return frames, errors


def run_check(paths: list[str]) -> int:
    status = 0
    for path in paths:
        frames, errors = check_file(path)
        if errors:
            status = 1
            for err in errors[:50]:
                print(err)
            if len(errors) > 50:
                print(f"{path}: ... {len(errors) - 50} more errors")
        else:
            print(f"{path}: {frames} frames OK")
    return status


# -- main -----------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Record PostgreSQL wire-protocol sessions as fixture files.")
    ap.add_argument("--listen", type=int, help="port to listen on (127.0.0.1)")
    ap.add_argument("--server", help="real server as HOST:PORT")
    ap.add_argument("--out", help="fixture file to append frames to")
    ap.add_argument("--label", help="first comment line of a new fixture file")
    ap.add_argument("--note", action="append", default=[], help="extra comment line for a new file (repeatable)")
    ap.add_argument("--check", nargs="+", metavar="FILE", help="verify fixture files instead of recording")
    args = ap.parse_args(argv)

    if args.check:
        return run_check(args.check)

    if args.listen is None or not args.server or not args.out:
        ap.error("--listen, --server and --out are required when recording")
    host, _, port = args.server.rpartition(":")
    if not host or not port.isdigit():
        ap.error("--server must be HOST:PORT")

    recorder = Recorder(args.out, args.label, args.note, args.server)
    relay = Relay(args.listen, host, int(port), recorder)
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        relay.serve(stop)
    finally:
        recorder.close()
    log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
