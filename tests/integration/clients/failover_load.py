"""Write and read load through the proxy while its primary fails over (checks/routing.sh rt_failover,
scripts/bench-nodes --failover).  Not a check by itself: it records what happened, the caller judges.

usage: failover_load.py --db DATABASE --table TABLE --out FILE --stop FILE [--max-seconds S] [--no-reads]
                        [--pause S] [--retry S]

The writer: one psycopg connection (autocommit, so each transaction is BEGIN / INSERT / COMMIT sent by it), one
row per transaction, INSERT INTO TABLE (id) VALUES (n) RETURNING inet_server_port(), n = 1, 2, 3 ... (every
attempt takes a new n, so no id is ever written twice).  On an error it rolls back when the connection is still
usable, or opens a new one when it is not, waits --retry seconds and goes on.  The reader (unless --no-reads):
another connection, SELECT inet_server_port(), pg_is_in_recovery() outside a transaction every 20 ms.  Both stop
when FILE --stop exists (or after --max-seconds).  One line per event in --out, times in epoch seconds (the
clock `date +%s.%N` reads), fields separated by one space, the message last:

  ack N START END PORT              COMMIT of n acknowledged; PORT is the server that ran the INSERT
  fail N START END STAGE CODE MSG   the attempt failed before its COMMIT was sent: nothing of n was committed
  doubt N START END commit CODE MSG COMMIT was sent and no answer came: n may or may not be committed
  reconnect END CODE MSG            the writer's connection broke, or opening a new one failed
  read START END PORT RECOVERY      a read answered
  readfail START END CODE MSG       a read failed
  done ACKS FAILS DOUBTS RECONNECTS READS READFAILS

CODE is the SQLSTATE, or - when there was none (a connection error).  The connection settings are harness's
(PROXY_HOST, PROXY_PORT, TEST_USER, TEST_PASSWORD from the environment).
"""

from __future__ import annotations

import argparse
import os
import threading
import time

import psycopg

from harness import PASSWORD, PROXY_HOST, PROXY_PORT, USER

p = argparse.ArgumentParser()
p.add_argument("--db", required=True)
p.add_argument("--table", required=True)
p.add_argument("--out", required=True)
p.add_argument("--stop", required=True)
p.add_argument("--max-seconds", type=float, default=300.0)
p.add_argument("--no-reads", action="store_true")
p.add_argument("--pause", type=float, default=0.0, help="seconds between two transactions")
p.add_argument("--retry", type=float, default=0.02, help="seconds to wait after a failed attempt")
args = p.parse_args()

out = open(args.out, "a", buffering=1)
lock = threading.Lock()
deadline = time.monotonic() + args.max_seconds
counts = {"ack": 0, "fail": 0, "doubt": 0, "reconnect": 0, "read": 0, "readfail": 0}


def emit(kind: str, *fields: object) -> None:
    line = " ".join([kind, *(str(f) for f in fields)])
    with lock:
        counts[kind] += 1
        out.write(line + "\n")


def stopping() -> bool:
    return os.path.exists(args.stop) or time.monotonic() > deadline


def code_msg(e: BaseException) -> str:
    code = getattr(e, "sqlstate", None) or "-"
    msg = " ".join(str(e).split())[:200] or type(e).__name__
    return f"{code} {msg}"


def connect() -> psycopg.Connection:
    return psycopg.connect(host=PROXY_HOST, port=PROXY_PORT, dbname=args.db, user=USER, password=PASSWORD,
                           connect_timeout=5, sslmode="disable", autocommit=True, application_name="failover-load")


def usable(conn: psycopg.Connection | None) -> bool:
    return conn is not None and not conn.closed and not conn.broken


def writer() -> None:
    insert = f"INSERT INTO {args.table} (id) VALUES (%s) RETURNING inet_server_port()"
    conn: psycopg.Connection | None = None
    n = 0
    while not stopping():
        if not usable(conn):
            try:
                if conn is not None:
                    conn.close()
                conn = connect()
            except psycopg.Error as e:
                conn = None
                emit("reconnect", f"{time.time():.6f}", code_msg(e))
                time.sleep(args.retry)
                continue
        n += 1
        stage = "begin"
        t0 = time.time()
        try:
            conn.execute("BEGIN")
            stage = "insert"
            port = conn.execute(insert, (n,)).fetchone()[0]
            stage = "commit"
            conn.execute("COMMIT")
            emit("ack", n, f"{t0:.6f}", f"{time.time():.6f}", port)
        except psycopg.Error as e:
            t1 = time.time()
            emit("doubt" if stage == "commit" else "fail", n, f"{t0:.6f}", f"{t1:.6f}", stage, code_msg(e))
            if usable(conn) and conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                try:
                    conn.execute("ROLLBACK")
                except psycopg.Error:
                    pass
            if not usable(conn):
                emit("reconnect", f"{t1:.6f}", code_msg(e))
            time.sleep(args.retry)
            continue
        if args.pause:
            time.sleep(args.pause)
    if conn is not None:
        conn.close()


def reader() -> None:
    conn: psycopg.Connection | None = None
    while not stopping():
        t0 = time.time()
        try:
            if not usable(conn):
                conn = connect()
            port, recovery = conn.execute("SELECT inet_server_port(), pg_is_in_recovery()").fetchone()
            emit("read", f"{t0:.6f}", f"{time.time():.6f}", port, "t" if recovery else "f")
        except psycopg.Error as e:
            emit("readfail", f"{t0:.6f}", f"{time.time():.6f}", code_msg(e))
        time.sleep(0.02)
    if conn is not None:
        conn.close()


threads = [threading.Thread(target=writer)]
if not args.no_reads:
    threads.append(threading.Thread(target=reader))
for t in threads:
    t.start()
for t in threads:
    t.join()
emit_line = " ".join(str(counts[k]) for k in ("ack", "fail", "doubt", "reconnect", "read", "readfail"))
out.write(f"done {emit_line}\n")
out.close()
