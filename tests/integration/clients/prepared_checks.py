"""Protocol-level prepared statements through a transaction-pooling proxy: driver caches, raw Parse/Bind/Close, DEALLOCATE, eviction.

usage: prepared_checks.py pool2|pool1|evict|untracked
  pool2  pool_mode=transaction, default_pool_size=2: asyncpg, psycopg 3, statements carried to a server that never saw them
  pool1  default_pool_size=1: raw-protocol clients taking turns on one server connection
  evict  default_pool_size=1, max_prepared_statements=3: more statements than a server may keep
  untracked  default_pool_size=1, max_prepared_statements=0: statements not carried (COPY by Execute)

PROXY_KIND=postgres (with PROXY_HOST/PROXY_PORT pointing at PostgreSQL itself) validates the checks
against plain session semantics; checks that look at the proxy's pool are then skipped.
"""

from __future__ import annotations

import asyncio
import datetime
import decimal
import os
import struct
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

import asyncpg
import psycopg

import pgwire
from harness import (PASSWORD, PG_HOST, PG_PORT, PG_SOCKET_DIR, PG_SUPERUSER, PROXY_HOST, PROXY_KIND, PROXY_PORT, TEST_DB, USER,
                     Results, expect, is_pgbouncer, superuser_dsn, wait_for)

MODE = sys.argv[1] if len(sys.argv) > 1 else ""
DIRECT = PROXY_KIND == "postgres"
R = Results("prep_evict" if MODE == "evict" else "prep")
TAG = f"it_prep_{os.getpid()}"   # table names and query comments unique to this run
EVICT_LIMIT = 3                  # max_prepared_statements of run.sh's eviction config

# PgBouncer 1.18 forwards Parse/Bind as they are, so a named statement exists only on the server
# connection it was parsed on, and clients sharing a server collide on names.
NO_TRACKING = "PgBouncer 1.18 does not track prepared statements (no max_prepared_statements)" if is_pgbouncer() else None
NEEDS_POOL = "needs the proxy's pool, not a direct PostgreSQL connection" if DIRECT else None


def skip_unless_tracked_and_pooled() -> str | None:
    return NO_TRACKING or NEEDS_POOL


# ---------------------------------------------------------------------------
# Raw protocol client

# Frames that may arrive at any time and say nothing about the message flow.
ASYNC_FRAMES = {"N", "S", "A"}


@dataclass
class Reply:
    """What came back up to ReadyForQuery: frame letters, data rows, SQLSTATEs, command tags, status."""
    kinds: str
    rows: list[tuple[str | None, ...]] = field(default_factory=list)
    errors: list[str | None] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    status: str = ""
    param_oids: list[int] = field(default_factory=list)
    # The CONTEXT (W) fields of the errors: PostgreSQL sends none for these protocol-level errors.
    contexts: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"frames {self.kinds!r} rows {self.rows[:5]} errors {self.errors} tags {self.tags} status {self.status!r}"


def reply_of(frames: list[pgwire.Frame]) -> Reply:
    r = Reply("".join(f.type for f in frames if f.type not in ASYNC_FRAMES))
    for f in frames:
        if f.type == "D":
            r.rows.append(pgwire.data_row_values(f.body))
        elif f.type == "E":
            r.errors.append(f.error_fields().get("C"))
            if "W" in f.error_fields():
                r.contexts.append(f.error_fields()["W"])
        elif f.type == "C":
            r.tags.append(f.body.rstrip(b"\0").decode())
        elif f.type == "Z":
            r.status = f.body.decode()
        elif f.type == "t":
            (n,) = struct.unpack("!H", f.body[:2])
            r.param_oids = list(struct.unpack(f"!{n}I", f.body[2:2 + 4 * n]))
    return r


class Wire:
    """One raw client connection through the proxy, speaking the extended protocol message by message."""

    def __init__(self, conn: pgwire.RawConn | None = None) -> None:
        """Through the proxy, or over `conn`, already logged in (PostgreSQL itself, to compare with)."""
        if conn is None:
            conn = pgwire.RawConn.connect(PROXY_HOST, PROXY_PORT)
            conn.login(USER, TEST_DB, PASSWORD)
        self.conn = conn

    def send(self, *messages: bytes) -> Reply:
        self.conn.send(b"".join(messages))
        return reply_of(self.conn.read_until_ready())

    def query(self, sql: str) -> Reply:
        return self.send(pgwire.message(b"Q", pgwire.cstr(sql)))

    def ok_query(self, sql: str) -> list[tuple[str | None, ...]]:
        r = self.query(sql)
        expect(not r.errors, f"{sql!r}: {r}")
        return r.rows

    def prepare(self, name: str, sql: str, oids: tuple[int, ...] = ()) -> None:
        r = self.send(pgwire.parse_msg(name, sql, oids), pgwire.SYNC)
        expect(r.kinds == "1Z", f"Parse {name!r} ({sql!r}): {r}")

    def bind_execute(self, name: str, *params: str | None) -> Reply:
        return self.send(pgwire.bind_msg("", name, params), pgwire.execute_msg(), pgwire.SYNC)

    def run(self, name: str, *params: str | None) -> list[tuple[str | None, ...]]:
        """Bind and execute a named statement in its own transaction; its rows."""
        r = self.bind_execute(name, *params)
        expect(r.kinds == "2" + "D" * len(r.rows) + "CZ" and r.status == "I", f"statement {name!r}: {r}")
        return r.rows

    def value(self, name: str, *params: str | None) -> str | None:
        rows = self.run(name, *params)
        expect(len(rows) == 1 and len(rows[0]) == 1, f"statement {name!r}: rows {rows}")
        return rows[0][0]

    def expect_unknown(self, name: str) -> None:
        """Bind to a name this client has no statement under: 26000, nothing else, and still usable."""
        r = self.bind_execute(name)
        expect(r.kinds == "EZ" and r.errors == ["26000"] and r.status == "I", f"Bind to {name!r}: {r}")
        expect(not r.contexts, f"Bind to {name!r}: CONTEXT {r.contexts} that PostgreSQL would not send")
        expect(self.ok_query("SELECT 1") == [("1",)], "connection unusable after the 26000 error")

    def backend_pid(self) -> int:
        return int(self.ok_query("SELECT pg_backend_pid()")[0][0])

    def close(self) -> None:
        self.conn.terminate()


@contextmanager
def wires(n: int) -> Iterator[list[Wire]]:
    # Closing every client even when a check fails keeps a pool of one from being held by a dead check.
    clients: list[Wire] = []
    try:
        for _ in range(n):
            clients.append(Wire())
        yield clients
    finally:
        for w in clients:
            w.close()


def server_statement_count(w: Wire, where: str = "true") -> int:
    """pg_prepared_statements is per backend: through the proxy it shows the server w lands on."""
    return int(w.ok_query(f"SELECT count(*) FROM pg_prepared_statements WHERE {where}")[0][0])


def sql_literal(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


# ---------------------------------------------------------------------------
# pool1: two raw clients taking turns on a single server connection

def same_name_different_queries() -> None:
    with wires(2) as (a, b):
        a.prepare("it_same", "SELECT 'A:' || $1::text")
        b.prepare("it_same", "SELECT 'B:' || $1::text")
        for i in range(10):
            expect(a.value("it_same", str(i)) == f"A:{i}", f"client A round {i}")
            expect(b.value("it_same", str(i)) == f"B:{i}", f"client B round {i}")


def same_query_different_names() -> None:
    text = f"SELECT $1::int * 3 /* {TAG} shared */"
    with wires(2) as (a, b):
        a.prepare("it_a_name", text)
        b.prepare("it_b_name", text)
        for i in range(10):
            expect(a.value("it_a_name", str(i)) == str(3 * i), f"client A round {i}")
            expect(b.value("it_b_name", str(i + 100)) == str(3 * (i + 100)), f"client B round {i}")
        # Names belong to the client that parsed them, whatever the server holds.
        a.expect_unknown("it_b_name")
        b.expect_unknown("it_a_name")


def server_shares_one_statement() -> None:
    text = f"SELECT $1::int * 5 /* {TAG} one on the server */"
    with wires(3) as (a, b, c):
        for i, w in enumerate((a, b, c)):
            w.prepare(f"it_share_{i}", text)
            expect(w.value(f"it_share_{i}", "2") == "10", f"client {i}")
        n = server_statement_count(a, f"statement = {sql_literal(text)}")
        expect(n == 1, f"the server holds {n} statements for one query text parsed by three clients")


def same_text_different_param_types() -> None:
    with wires(2) as (a, b):
        a.prepare("it_typed", "SELECT $1", (23,))   # int4
        b.prepare("it_typed", "SELECT $1", (25,))   # text
        da = a.send(pgwire.describe_msg("S", "it_typed"), pgwire.SYNC)
        db = b.send(pgwire.describe_msg("S", "it_typed"), pgwire.SYNC)
        expect(da.param_oids == [23] and db.param_oids == [25], f"parameter types: A {da}, B {db}")
        for i in range(5):
            expect(a.value("it_typed", str(i)) == str(i), f"client A round {i}")
            expect(b.value("it_typed", f"x{i}") == f"x{i}", f"client B round {i}")


def server_names_not_visible() -> None:
    # Whatever the proxy calls its statements on the server, a client that never parsed them cannot bind them.
    with wires(2) as (a, b):
        a.prepare("it_visible", f"SELECT 1 /* {TAG} visible */")
        a.value("it_visible")
        names = [row[0] for row in b.ok_query("SELECT name FROM pg_prepared_statements")]
        expect(names, "the server holds no prepared statements after client A ran one")
        for name in names[:20]:
            b.expect_unknown(name)


def close_then_reparse() -> None:
    with wires(2) as (a, b):
        a.prepare("it_close", "SELECT 1")
        b.prepare("it_keep", "SELECT 1")
        expect(a.value("it_close") == "1", "before Close")
        r = a.send(pgwire.close_msg("S", "it_close"), pgwire.SYNC)
        expect(r.kinds == "3Z", f"Close: {r}")
        a.expect_unknown("it_close")
        expect(b.value("it_keep") == "1", "another client's statement with the same text after the Close")
        a.prepare("it_close", "SELECT 2")
        expect(a.value("it_close") == "2", "re-parsed name runs the new text")
        r = a.send(pgwire.close_msg("S", "it_never_parsed"), pgwire.SYNC)
        expect(r.kinds == "3Z", f"Close of an unknown name is not an error: {r}")


def unknown_statement_26000() -> None:
    with wires(1) as (a,):
        a.expect_unknown("it_nonexistent")
        r = a.send(pgwire.describe_msg("S", "it_nonexistent"), pgwire.SYNC)
        expect(r.kinds == "EZ" and r.errors == ["26000"], f"Describe of an unknown statement: {r}")
        # The error ends the pipeline: the rest up to Sync is skipped, a later Sync starts afresh.
        r = a.send(pgwire.bind_msg("", "it_nonexistent"), pgwire.execute_msg(),
                   pgwire.parse_msg("", "SELECT 1"), pgwire.bind_msg("", ""), pgwire.execute_msg(), pgwire.SYNC)
        expect(r.kinds == "EZ" and r.errors == ["26000"], f"pipeline after the unknown Bind: {r}")
        a.prepare("it_after_unknown", "SELECT 3")
        expect(a.value("it_after_unknown") == "3", "named statement after the error")


def duplicate_name_42P05() -> None:
    with wires(1) as (a,):
        a.prepare("it_dup", "SELECT 'first'")
        r = a.send(pgwire.parse_msg("it_dup", "SELECT 'second'"), pgwire.SYNC)
        expect(r.kinds == "EZ" and r.errors == ["42P05"], f"second Parse under the same name: {r}")
        expect(not r.contexts, f"second Parse: CONTEXT {r.contexts} that PostgreSQL would not send")
        expect(a.value("it_dup") == "first", "the name still runs the first text")


def parse_in_failed_pipeline() -> None:
    # A Parse that completed before an error stays; one after the error (skipped by the server) never existed.
    with wires(1) as (a,):
        r = a.send(pgwire.parse_msg("it_kept", "SELECT 'kept'"), pgwire.bind_msg("", "it_unknown"), pgwire.execute_msg(),
                   pgwire.parse_msg("it_skipped", "SELECT 'skipped'"), pgwire.SYNC)
        expect(r.kinds == "1EZ" and r.errors == ["26000"], f"pipeline: {r}")
        expect(a.value("it_kept") == "kept", "the statement parsed before the error")
        a.expect_unknown("it_skipped")


def syntax_error_then_reparse() -> None:
    with wires(1) as (a,):
        r = a.send(pgwire.parse_msg("it_syntax", "SELEC 1"), pgwire.SYNC)
        expect(r.kinds == "EZ" and r.errors == ["42601"] and r.status == "I", f"bad Parse: {r}")
        a.expect_unknown("it_syntax")
        a.prepare("it_syntax", "SELECT 7")
        expect(a.value("it_syntax") == "7", "the name after a failed Parse")


def deallocate_name() -> None:
    with wires(2) as (a, b):
        a.prepare("it_dealloc", "SELECT 'a'")
        b.prepare("it_dealloc", "SELECT 'b'")
        r = a.query("DEALLOCATE it_dealloc")
        expect(r.kinds == "CZ" and r.tags == ["DEALLOCATE"], f"DEALLOCATE: {r}")
        a.expect_unknown("it_dealloc")
        expect(b.value("it_dealloc") == "b", "another client's statement of the same name")
        a.prepare("it_dealloc", "SELECT 'a2'")
        expect(a.value("it_dealloc") == "a2", "the name parsed again")


def deallocate_spellings() -> None:
    # SQL identifiers fold to lower case unless quoted; protocol names are taken as they are.
    with wires(1) as (a,):
        a.prepare("it_kw", "SELECT 1")
        a.prepare("It_Mixed", "SELECT 2")
        a.prepare("it_mixed", "SELECT 3")
        expect(a.query("DEALLOCATE PREPARE it_kw").tags == ["DEALLOCATE"], "DEALLOCATE PREPARE")
        a.expect_unknown("it_kw")
        expect(a.query("DEALLOCATE It_Mixed").tags == ["DEALLOCATE"], "unquoted mixed case")
        a.expect_unknown("it_mixed")
        expect(a.value("It_Mixed") == "2", "the mixed-case name must survive an unquoted DEALLOCATE")
        expect(a.query('deallocate "It_Mixed"').tags == ["DEALLOCATE"], "quoted mixed case")
        a.expect_unknown("It_Mixed")


def deallocate_unknown_26000() -> None:
    with wires(1) as (a,):
        r = a.query("DEALLOCATE it_never_prepared")
        expect(r.kinds == "EZ" and r.errors == ["26000"], f"DEALLOCATE of an unknown name: {r}")
        expect(a.ok_query("SELECT 4") == [("4",)], "usable afterwards")


def drop_all(command: str, tag: str, names: tuple[str, ...] = ("it_all_1", "it_all_2", "it_all_3")) -> None:
    with wires(1) as (a,):
        for i, name in enumerate(names):
            a.prepare(name, f"SELECT {i}")
            expect(a.value(name) == str(i), name)
        r = a.query(command)
        expect(r.kinds == "CZ" and r.tags == [tag], f"{command}: {r}")
        for name in names:
            a.expect_unknown(name)
        a.prepare(names[0], "SELECT 'again'")
        expect(a.value(names[0]) == "again", f"a name parsed again after {command}")


def deallocate_extended_protocol() -> None:
    # psycopg sends its DEALLOCATE through Parse/Bind/Execute in pipeline mode, not as a simple query.
    with wires(1) as (a,):
        def unnamed(sql: str) -> Reply:
            return a.send(pgwire.parse_msg("", sql), pgwire.bind_msg("", ""), pgwire.execute_msg(), pgwire.SYNC)
        a.prepare("it_ext_1", "SELECT 1")
        a.prepare("it_ext_2", "SELECT 2")
        r = unnamed("DEALLOCATE it_ext_1")
        expect(r.kinds == "12CZ" and r.tags == ["DEALLOCATE"], f"DEALLOCATE name: {r}")
        a.expect_unknown("it_ext_1")
        expect(a.value("it_ext_2") == "2", "the statement not named")
        r = unnamed("DEALLOCATE ALL")
        expect(r.kinds == "12CZ" and r.tags == ["DEALLOCATE ALL"], f"DEALLOCATE ALL: {r}")
        a.expect_unknown("it_ext_2")


def drop_all_spares_other_clients(command: str) -> None:
    with wires(2) as (a, b):
        a.prepare("it_mine", "SELECT 'mine'")
        b.prepare("it_theirs", "SELECT 'theirs'")
        b.prepare("it_mine", "SELECT 'theirs too'")
        expect(not a.query(command).errors, command)
        a.expect_unknown("it_mine")
        expect(b.value("it_theirs") == "theirs", f"another client's statement after {command}")
        expect(b.value("it_mine") == "theirs too", f"another client's statement of the same name after {command}")


def execute_error_keeps_sync() -> None:
    with wires(2) as (a, b):
        a.prepare("it_div", "SELECT 10 / $1::int")
        b.prepare("it_div", "SELECT 100 / $1::int")
        run = (pgwire.bind_msg("", "it_div", ("5",)), pgwire.execute_msg())
        r = a.send(*run, pgwire.bind_msg("", "it_div", ("0",)), pgwire.execute_msg(), *run, pgwire.SYNC)
        # A custom plan folds 10 / 0 at Bind, a generic plan fails at Execute: PostgreSQL may do either.
        expect(r.kinds in ("2DCEZ", "2DC2EZ") and r.errors == ["22012"] and r.status == "I", f"pipeline with 1/0: {r}")
        expect(b.value("it_div", "5") == "20", "the other client right after the error")
        r = a.send(*run, *run, *run, pgwire.SYNC)
        expect(r.kinds == "2DC" * 3 + "Z" and r.rows == [("2",)] * 3, f"pipeline after the error: {r}")
        expect(a.ok_query("SELECT 5") == [("5",)], "simple query after the error")


def flush_before_sync() -> None:
    # Drivers flush a Parse/Describe to learn the types before binding; the answer must come before Sync.
    with wires(1) as (a,):
        a.conn.send(pgwire.parse_msg("it_flush", "SELECT $1::int + 1") + pgwire.describe_msg("S", "it_flush") + pgwire.FLUSH)
        kinds = "".join(a.conn.read_frame(10).type for _ in range(3))
        expect(kinds == "1tT", f"frames before Sync: {kinds!r}")
        r = a.send(pgwire.bind_msg("", "it_flush", ("41",)), pgwire.execute_msg(), pgwire.SYNC)
        expect(r.kinds == "2DCZ" and r.rows == [("42",)], f"after Flush: {r}")
        expect(a.value("it_flush", "1") == "2", "next transaction")


def named_statements_in_transactions() -> None:
    # Inside an explicit transaction the client keeps its server; statements parsed before and inside it both work.
    with wires(2) as (a, b):
        a.prepare("it_tx_before", "SELECT 'before'")
        b.prepare("it_tx_before", "SELECT 'b before'")
        a.ok_query("BEGIN")
        a.prepare("it_tx_inside", "SELECT 'inside'")
        for name, want in (("it_tx_before", "before"), ("it_tx_inside", "inside")):
            r = a.bind_execute(name)
            expect(r.kinds == "2DCZ" and r.rows == [(want,)] and r.status == "T", f"{name} inside the transaction: {r}")
        a.ok_query("ROLLBACK")
        # Prepared statements are not transactional: the one parsed inside survives ROLLBACK.
        expect(b.value("it_tx_before") == "b before", "client B after A's transaction")
        expect(a.value("it_tx_inside") == "inside", "statement parsed inside a rolled-back transaction")


def statement_survives_new_server() -> None:
    # A server connection that dies takes its statements along; the client's name must be prepared on the next one.
    with wires(1) as (a,), psycopg.connect(superuser_dsn(), autocommit=True) as su:
        a.prepare("it_reborn", f"SELECT pg_backend_pid() /* {TAG} reborn */")
        old = int(a.value("it_reborn"))
        su.execute("SELECT pg_terminate_backend(%s)", (old,))
        gone = wait_for(lambda: su.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (old,)).fetchone() is None, 5)
        expect(gone, f"backend {old} still there after pg_terminate_backend")
        time.sleep(0.5)   # let the proxy see the idle server close
        new = int(a.value("it_reborn"))
        expect(new != old, f"still backend {old}")


# ---------------------------------------------------------------------------
# pool2: statements reaching a server that has not seen them

@contextmanager
def other_server_than(pid: int, text: str) -> Iterator[None]:
    """Hold the pool's server with backend pid `pid` in a transaction, so the next transaction runs on the other one.

    Also checks that the other server has no statement with `text` yet, or the check would prove nothing.
    """
    if DIRECT:
        yield
        return
    with wires(2) as holders:
        pids = []
        for h in holders:
            h.ok_query("BEGIN")
            pids.append(h.backend_pid())
        expect(pid in pids, f"backend {pid} is not among the pool's servers {pids}")
        for h, p in zip(holders, pids):
            if p != pid:
                n = server_statement_count(h, f"statement = {sql_literal(text)}")
                expect(n == 0, f"the other server already holds the statement ({n})")
                h.ok_query("COMMIT")
        yield


def parse_in_transaction(w: Wire, name: str, text: str, *params: str) -> int:
    """Parse and run `name` inside a transaction; the backend pid it ran on."""
    w.ok_query("BEGIN")
    w.prepare(name, text)
    r = w.bind_execute(name, *params)
    expect(r.kinds == "2DCZ" and r.status == "T", f"first run of {name!r}: {r}")
    pid = w.backend_pid()
    w.ok_query("COMMIT")
    return pid


def bind_on_unseen_server() -> None:
    text = f"SELECT pg_backend_pid(), $1::int * 7 /* {TAG} bind */"
    with wires(1) as (a,):
        pid = parse_in_transaction(a, "it_unseen_bind", text, "1")
        with other_server_than(pid, text):
            rows = a.run("it_unseen_bind", "6")
        expect(rows[0][1] == "42", f"result {rows}")
        expect(DIRECT or int(rows[0][0]) != pid, f"ran on backend {rows[0][0]}, the one it was parsed on")


def describe_on_unseen_server() -> None:
    text = f"SELECT pg_backend_pid(), $1::text || '!' /* {TAG} describe */"
    with wires(1) as (a,):
        pid = parse_in_transaction(a, "it_unseen_describe", text, "x")
        with other_server_than(pid, text):
            r = a.send(pgwire.describe_msg("S", "it_unseen_describe"), pgwire.bind_msg("", "it_unseen_describe", ("hi",)),
                       pgwire.execute_msg(), pgwire.SYNC)
        expect(r.kinds == "tT2DCZ" and r.param_oids == [25], f"Describe + Bind: {r}")
        expect(r.rows[0][1] == "hi!", f"result {r.rows}")
        expect(DIRECT or int(r.rows[0][0]) != pid, f"ran on backend {r.rows[0][0]}, the one it was parsed on")


def failed_reprepare_recovers() -> None:
    # The statement's table is dropped: preparing it on another server fails, as replanning fails in PostgreSQL.
    table = f"{TAG}_gone"
    text = f"SELECT count(*) FROM {table}"
    with wires(1) as (a,):
        a.ok_query(f"CREATE TABLE {table} (x int)")
        try:
            pid = parse_in_transaction(a, "it_gone", text)
            a.ok_query(f"DROP TABLE {table}")
            with other_server_than(pid, text):
                r = a.bind_execute("it_gone")
            expect(r.kinds == "EZ" and r.errors == ["42P01"] and r.status == "I", f"Bind without the table: {r}")
            a.ok_query(f"CREATE TABLE {table} (x int)")
            expect(a.value("it_gone") == "0", "the statement once the table is back")
            expect(a.ok_query("SELECT 6") == [("6",)], "simple query")
        finally:
            a.query(f"DROP TABLE IF EXISTS {table}")



# --- a client that caches its statement's columns (it described the statement once, as asyncpg and pgjdbc do) lands on
# a server that never had the statement

def run_described(w: Wire, name: str, text: str) -> int:
    """Prepare `name` with a Describe of the statement (asyncpg's way), run it once in a transaction; the backend pid."""
    w.ok_query("BEGIN")
    r = w.send(pgwire.parse_msg(name, text), pgwire.describe_msg("S", name), pgwire.SYNC)
    expect(r.kinds == "1tTZ", f"Parse and Describe of {name!r}: {r}")
    r = w.bind_execute(name)
    expect(r.kinds == "2DCZ" and r.rows == [("1", "2")], f"first run of {name!r}: {r}")
    pid = w.backend_pid()
    w.ok_query("COMMIT")
    return pid


def two_column_table(w: Wire, table: str) -> None:
    w.ok_query(f"DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (a int, b int); INSERT INTO {table} VALUES (1, 2)")


def described_runs_on_unseen_server() -> None:
    # The columns did not change: pipelined runs (Bind/Execute/Sync only) on a server that lacks the statement wait for
    # one Describe there and then run as usual, and so does the next one.
    table = f"{TAG}_unseen_same"
    text = f"SELECT * FROM {table}"
    with wires(1) as (a,):
        two_column_table(a, table)
        try:
            pid = run_described(a, "it_same_cols", text)
            with other_server_than(pid, text):
                bind_run = pgwire.bind_msg("", "it_same_cols", ()) + pgwire.execute_msg() + pgwire.SYNC
                a.conn.send(bind_run + bind_run)
                first, second = reply_of(a.conn.read_until_ready()), reply_of(a.conn.read_until_ready())
                third = a.bind_execute("it_same_cols")
            for n, r in enumerate((first, second, third)):
                expect(r.kinds == "2DCZ" and r.rows == [("1", "2")] and r.status == "I", f"run {n} on the other server: {r}")
        finally:
            a.query(f"DROP TABLE IF EXISTS {table}")


def stale_plan_error(w: Wire, name: str) -> tuple[str, list[tuple[str, str]]]:
    """Bind/Execute/Sync of `name`: the frame letters and the fields of the ErrorResponse, in order."""
    w.conn.send(pgwire.bind_msg("", name, ()) + pgwire.execute_msg() + pgwire.SYNC)
    frames = [f for f in w.conn.read_until_ready() if f.type not in ASYNC_FRAMES]
    errors = [f.error_fields() for f in frames if f.type == "E"]
    return "".join(f.type for f in frames), list(errors[0].items()) if errors else []


def postgres_stale_plan_error(table: str) -> tuple[str, list[tuple[str, str]]]:
    """What PostgreSQL itself sends for a statement whose column b changed type after it was prepared and described."""
    conn = pgwire.RawConn.connect(PG_HOST, PG_PORT, unix_dir=PG_SOCKET_DIR)
    try:
        conn.login(PG_SUPERUSER, TEST_DB)
        w = Wire(conn)
        two_column_table(w, table)
        run_described(w, "it_pg_cols", f"SELECT * FROM {table}")
        w.ok_query(f"ALTER TABLE {table} ALTER COLUMN b TYPE text")
        got = stale_plan_error(w, "it_pg_cols")
        w.ok_query(f"DROP TABLE {table}")
        return got
    finally:
        conn.terminate()


def changed_columns_on_unseen_server() -> None:
    # DDL that did not pass through the proxy changed a column's type; the client lands on a server that never had the
    # statement and runs it without a Describe. Prepared there afresh it would have the new columns, which the client
    # would decode with the old ones: it must hear PostgreSQL's own 0A000 instead, field for field (the rest of the
    # batch skipped, its Sync answered), and a statement prepared again has the new columns.
    table = f"{TAG}_unseen_cols"
    text = f"SELECT * FROM {table}"
    expected = postgres_stale_plan_error(f"{TAG}_pg_cols")
    expect(expected[0] == "EZ" and ("C", "0A000") in expected[1], f"PostgreSQL itself: {expected}")
    with wires(1) as (a,):
        two_column_table(a, table)
        try:
            pid = run_described(a, "it_cols", text)
            direct_ddl(f"ALTER TABLE {table} ALTER COLUMN b TYPE text")
            with other_server_than(pid, text):
                got = stale_plan_error(a, "it_cols")
                expect(got == expected, f"on a server without the statement: {got}, PostgreSQL sends {expected}")
                expect(a.backend_pid() != pid or DIRECT, "ran where it was prepared")
                # Pipelined, as PostgreSQL answers each: the error, then the Sync's ReadyForQuery.
                bind_run = pgwire.bind_msg("", "it_cols", ()) + pgwire.execute_msg() + pgwire.SYNC
                a.conn.send(bind_run + bind_run)
                for n in range(2):
                    r = reply_of(a.conn.read_until_ready())
                    expect(r.kinds == "EZ" and r.errors == ["0A000"] and r.status == "I", f"pipelined run {n}: {r}")
                a.prepare("it_cols_again", text)
                expect(a.run("it_cols_again") == [("1", "2")], "prepared again")
        finally:
            a.query(f"DROP TABLE IF EXISTS {table}")


async def asyncpg_changed_columns(table: str, in_transaction: bool) -> None:
    """asyncpg prepares `SELECT * FROM table` (Parse, Describe, Sync) on one server and caches its columns; column b
    changes type by DDL sent to PostgreSQL itself; its next run lands on the other server, which lacks the statement."""
    sql = f"SELECT * FROM {table}"
    conn = await apg_connect()
    try:
        await conn.execute(f"DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (a int, b int); INSERT INTO {table} VALUES (1, 2)")
        async with conn.transaction():
            got = [tuple(r) for r in await conn.fetch(sql)]
            pid = await conn.fetchval("SELECT pg_backend_pid()")
        expect(got == [(1, 2)], f"before the DDL: {got}")
        await asyncio.to_thread(direct_ddl, f"ALTER TABLE {table} ALTER COLUMN b TYPE text")
        with other_server_than(pid, sql):
            if in_transaction:
                # asyncpg tells the failure by PostgreSQL's routine name and cannot retry inside a transaction.
                try:
                    async with conn.transaction():
                        rows = await conn.fetch(sql)
                    expect(False, f"no error inside a transaction: {[tuple(r) for r in rows]}")
                except asyncpg.exceptions.InvalidCachedStatementError:
                    pass
            # Outside one it prepares the statement again and retries by itself: the new type, decoded as such.
            got = [tuple(r) for r in await conn.fetch(sql)]
            expect(got == [(1, "2")], f"after ALTER COLUMN TYPE elsewhere: {got}")
    finally:
        await conn.execute(f"DROP TABLE IF EXISTS {table}")
        await conn.close()

# --- asyncpg with its default statement cache (named statements __asyncpg_stmt_N__, N counted per connection)

async def apg_connect(**kw) -> asyncpg.Connection:
    return await asyncpg.connect(host=PROXY_HOST, port=PROXY_PORT, user=USER, password=PASSWORD, database=TEST_DB,
                                 ssl=False, **kw)


async def apg_worker(conn: asyncpg.Connection, k: int, table: str) -> None:
    for i in range(40):
        expect(await conn.fetchval("SELECT $1::int + $2::int", i, k) == i + k, f"fetchval {k}/{i}")
        row = await conn.fetchrow("SELECT $1::text || '-' || $2::text AS s, $3::float8 * 2 AS f", f"c{k}", str(i), i / 4)
        expect(row["s"] == f"c{k}-{i}" and row["f"] == i / 2, f"fetchrow {k}/{i}: {row}")
        rows = await conn.fetch("SELECT g FROM generate_series(1, $1::int) AS g", i % 5 + 1)
        expect([r["g"] for r in rows] == list(range(1, i % 5 + 2)), f"fetch {k}/{i}")
        if i % 10 == 0:
            async with conn.transaction():
                await conn.execute(f"INSERT INTO {table} VALUES ($1, $2)", k, i)
                n = await conn.fetchval(f"SELECT count(*) FROM {table} WHERE client = $1", k)
                expect(n == i // 10 + 1, f"client {k} sees {n} rows after {i // 10 + 1} inserts")


async def with_table(table: str, body) -> None:
    admin = await apg_connect(statement_cache_size=0)
    try:
        await admin.execute(f"DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (client int, n int)")
        await body()
        await admin.execute(f"DROP TABLE IF EXISTS {table}")
    finally:
        await admin.close()


async def apg_many(n: int, **kw) -> list[asyncpg.Connection]:
    return [await apg_connect(**kw) for _ in range(n)]


async def apg_close(conns: list[asyncpg.Connection]) -> None:
    for c in conns:
        await c.close()


async def asyncpg_default_cache() -> None:
    table = f"{TAG}_apg"

    async def body() -> None:
        conns = await apg_many(6)
        try:
            await asyncio.gather(*(apg_worker(c, k, table) for k, c in enumerate(conns)))
        finally:
            await apg_close(conns)
    await with_table(table, body)


async def asyncpg_prepare_api() -> None:
    table = f"{TAG}_apg_prep"

    async def worker(conn: asyncpg.Connection, k: int) -> None:
        mul = await conn.prepare("SELECT $1::int * $2::int AS p")
        series = await conn.prepare("SELECT g, g * $1::int AS m FROM generate_series(1, 3) AS g")
        for i in range(30):
            expect(await mul.fetchval(i, k) == i * k, f"prepared fetchval {k}/{i}")
            expect(await conn.fetchval("SELECT $1::text", f"noise {i}") == f"noise {i}", "query between the prepared runs")
            expect([tuple(r) for r in await series.fetch(i)] == [(g, g * i) for g in (1, 2, 3)], f"prepared fetch {k}/{i}")
            expect((await mul.fetchrow(k, 2))["p"] == 2 * k, f"prepared fetchrow {k}/{i}")
        await conn.executemany(f"INSERT INTO {table} VALUES ($1, $2)", [(k, i) for i in range(50)])
        expect(await conn.fetchval(f"SELECT sum(n) FROM {table} WHERE client = $1", k) == sum(range(50)), f"executemany {k}")

    async def body() -> None:
        conns = await apg_many(4)
        try:
            await asyncio.gather(*(worker(c, k) for k, c in enumerate(conns)))
        finally:
            await apg_close(conns)
    await with_table(table, body)


PARAM_VALUES = [
    ("int2", 7), ("int4", -123456), ("int8", 2**62), ("numeric", decimal.Decimal("12345.678901")),
    ("float8", 0.125), ("bool", True), ("text", "hé ✓"), ("bytea", b"\x00\xff\x10"),
    ("date", datetime.date(2024, 2, 29)),
    ("timestamptz", datetime.datetime(2024, 1, 2, 3, 4, 5, 6000, tzinfo=datetime.timezone.utc)),
    ("uuid", uuid.UUID("12345678-1234-5678-1234-567812345678")), ("jsonb", '{"a": [1, 2]}'),
    ("int4[]", [1, None, 3]), ("text[]", ["x", "y z"]),
]


async def asyncpg_param_types() -> None:
    conns = await apg_many(3)
    try:
        for rnd in range(4):
            for k, c in enumerate(conns):
                for typ, value in PARAM_VALUES:
                    got = await c.fetchval(f"SELECT $1::{typ}", value)
                    expect(got == value, f"round {rnd} conn {k} {typ}: sent {value!r}, got {got!r}")
                row = await c.fetchrow("SELECT $1::int4 AS a, $2::text AS b, $3::bool AS c, $4::float8 AS d", k, str(rnd), rnd % 2 == 0, 1.5)
                expect(tuple(row) == (k, str(rnd), rnd % 2 == 0, 1.5), f"mixed row {row}")
    finally:
        await apg_close(conns)


async def asyncpg_small_cache() -> None:
    # A cache of 3 makes asyncpg Close its oldest statements while it keeps parsing new ones.
    conns = await apg_many(3, statement_cache_size=3)
    try:
        async def worker(c: asyncpg.Connection, k: int) -> None:
            for rnd in range(3):
                for q in range(10):
                    got = await c.fetchval(f"SELECT $1::int + {q}", k * 100 + rnd)
                    expect(got == k * 100 + rnd + q, f"conn {k} round {rnd} query {q}: {got}")
        await asyncio.gather(*(worker(c, k) for k, c in enumerate(conns)))
    finally:
        await apg_close(conns)


# --- psycopg 3 with prepare_threshold=0: every query is a named statement _pg3_N

def pg3_connect(**kw) -> psycopg.Connection:
    return psycopg.connect(host=PROXY_HOST, port=PROXY_PORT, dbname=TEST_DB, user=USER, password=PASSWORD,
                           connect_timeout=10, sslmode="disable", prepare_threshold=0, **kw)


def run_threads(n: int, worker) -> None:
    errors: list[str] = []

    def wrapped(k: int) -> None:
        try:
            worker(k)
        except Exception as e:  # noqa: BLE001 - collected and reported below
            errors.append(f"thread {k}: {type(e).__name__}: {e}")

    threads = [threading.Thread(target=wrapped, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    expect(not any(t.is_alive() for t in threads), "a thread did not finish")
    expect(not errors, "; ".join(errors[:3]))


def psycopg_threads() -> None:
    table = f"{TAG}_pg3"
    with pg3_connect(autocommit=True) as c:
        c.execute(f"DROP TABLE IF EXISTS {table}")
        c.execute(f"CREATE TABLE {table} (client int, n int)")

    def worker(k: int) -> None:
        with pg3_connect(autocommit=True) as c:
            for i in range(30):
                expect(c.execute("SELECT %s::int * 2", (i,)).fetchone() == (2 * i,), f"{k}/{i} a")
                expect(c.execute("SELECT %s::text || %s::text", (f"t{k}", str(i))).fetchone() == (f"t{k}{i}",), f"{k}/{i} b")
                expect(c.execute("SELECT count(*) FROM generate_series(1, %s::int)", (i + 1,)).fetchone() == (i + 1,), f"{k}/{i} c")
                if i % 10 == 0:
                    with c.transaction():
                        c.execute(f"INSERT INTO {table} VALUES (%s, %s)", (k, i))
                        n = c.execute(f"SELECT count(*) FROM {table} WHERE client = %s", (k,)).fetchone()[0]
                        expect(n == i // 10 + 1, f"client {k} sees {n} rows")
            expect(c.prepared_max > 0 and c.prepare_threshold == 0, "statements were not prepared")

    try:
        run_threads(6, worker)
    finally:
        with pg3_connect(autocommit=True) as c:
            c.execute(f"DROP TABLE IF EXISTS {table}")


def psycopg_deallocations() -> None:
    # prepared_max=4 makes psycopg Close the names it evicts; DROP and ROLLBACK make it send DEALLOCATE ALL.
    with pg3_connect(autocommit=True) as c:
        c.prepared_max = 4
        for rnd in range(3):
            for q in range(12):
                expect(c.execute(f"SELECT %s::int + {q}", (rnd,)).fetchone() == (rnd + q,), f"round {rnd} query {q}")
        c.execute(f"DROP TABLE IF EXISTS {TAG}_never")
        expect(c.execute("SELECT %s::int + 100", (1,)).fetchone() == (101,), "after DEALLOCATE ALL (DROP)")
        with c.transaction():
            expect(c.execute("SELECT %s::int + 200", (1,)).fetchone() == (201,), "inside a transaction")
        c.execute("BEGIN")
        c.execute("SELECT %s::int", (1,))
        c.execute("ROLLBACK")
        expect(c.execute("SELECT %s::int + 300", (1,)).fetchone() == (301,), "after DEALLOCATE ALL (ROLLBACK)")


def psycopg_pipeline() -> None:
    with pg3_connect(autocommit=True) as c:
        for rnd in range(3):
            with c.pipeline():
                curs = [c.execute(f"SELECT %s::int * {q}", (rnd,)) for q in range(8)]
                curs += [c.execute("SELECT %s::text", (f"r{rnd}",))]
            got = [cur.fetchone()[0] for cur in curs]
            expect(got == [rnd * q for q in range(8)] + [f"r{rnd}"], f"round {rnd}: {got}")
        with c.pipeline() as p:
            first = c.execute("SELECT %s::int + 1", (1,))
            try:
                c.execute("SELECT 1 / %s::int", (0,))
                p.sync()
                raise AssertionError("division by zero in a pipeline did not raise")
            except psycopg.errors.DivisionByZero:
                pass
            after = c.execute("SELECT %s::int * 2", (21,))
        expect(first.fetchone() == (2,), "result before the error")
        expect(after.fetchone() == (42,), "result after the error, same pipeline")
        with c.pipeline():
            again = c.execute("SELECT %s::int * 2", (50,))
        expect(again.fetchone() == (100,), "next pipeline")


def psycopg_pipeline_drop() -> None:
    # A DROP makes psycopg forget its statements and send DEALLOCATE ALL with the next pipeline, as an unnamed
    # Parse/Bind/Execute queued behind that pipeline's first named Parse.  (psycopg 3.3 itself fails when the
    # DROP and later queries share one pipeline, even against PostgreSQL directly, so the DROP ends its pipeline.)
    with pg3_connect(autocommit=True) as c:
        for rnd in range(3):
            with c.pipeline():
                before = c.execute("SELECT %s::int + 1", (rnd,))
                c.execute(f"DROP TABLE IF EXISTS {TAG}_never")
            with c.pipeline():
                after = c.execute("SELECT %s::int + 2", (rnd,))
                again = c.execute("SELECT %s::int + 1", (rnd,))
            got = (before.fetchone()[0], after.fetchone()[0], again.fetchone()[0])
            expect(got == (rnd + 1, rnd + 2, rnd + 1), f"round {rnd}: {got}")


def psycopg_threads_pipeline() -> None:
    def worker(k: int) -> None:
        with pg3_connect(autocommit=True) as c:
            for rnd in range(10):
                with c.pipeline():
                    curs = [c.execute(f"SELECT %s::int + {q}", (k * 1000 + rnd,)) for q in range(5)]
                got = [cur.fetchone()[0] for cur in curs]
                expect(got == [k * 1000 + rnd + q for q in range(5)], f"thread {k} round {rnd}: {got}")
    run_threads(4, worker)


# ---------------------------------------------------------------------------
# evict: max_prepared_statements = 3 on a pool of one

def evict_texts(n: int, label: str) -> list[str]:
    return [f"SELECT $1::int + {k} /* {TAG} {label} {k} */" for k in range(n)]


def round_robin() -> None:
    with wires(1) as (a,):
        texts = evict_texts(10, "rr")
        for k, t in enumerate(texts):
            a.prepare(f"it_rr_{k}", t)
        for rnd in range(4):
            for k in range(10):
                expect(a.value(f"it_rr_{k}", str(rnd)) == str(rnd + k), f"round {rnd} statement {k}")
            for k in reversed(range(10)):
                expect(a.value(f"it_rr_{k}", str(rnd * 10)) == str(rnd * 10 + k), f"round {rnd} statement {k} (reverse)")


def server_within_limit() -> None:
    with wires(1) as (a,):
        for k, t in enumerate(evict_texts(10, "limit")):
            a.prepare(f"it_limit_{k}", t)
            a.value(f"it_limit_{k}", "1")
        n = server_statement_count(a)
        expect(1 <= n <= EVICT_LIMIT, f"the server holds {n} prepared statements (limit {EVICT_LIMIT})")


def pipelined_beyond_limit() -> None:
    # One Sync for twenty Bind/Execute pairs over ten statements: each must be (re)prepared mid-pipeline.
    with wires(1) as (a,):
        for k, t in enumerate(evict_texts(10, "pipe")):
            a.prepare(f"it_pipe_{k}", t)
        msgs = [pgwire.bind_msg("", f"it_pipe_{k}", (str(rnd),)) + pgwire.execute_msg() for rnd in range(2) for k in range(10)]
        r = a.send(*msgs, pgwire.SYNC)
        expect(r.kinds == "2DC" * 20 + "Z", f"pipeline: {r}")
        want = [(str(rnd + k),) for rnd in range(2) for k in range(10)]
        expect(r.rows == want, f"rows {r.rows}")


def two_clients_beyond_limit() -> None:
    with wires(2) as (a, b):
        for k in range(5):
            a.prepare(f"it_two_{k}", f"SELECT 'A' || ($1::int + {k})")
            b.prepare(f"it_two_{k}", f"SELECT 'B' || ($1::int + {k})")
        for rnd in range(3):
            for k in range(5):
                expect(a.value(f"it_two_{k}", str(rnd)) == f"A{rnd + k}", f"client A round {rnd} statement {k}")
                expect(b.value(f"it_two_{k}", str(rnd)) == f"B{rnd + k}", f"client B round {rnd} statement {k}")
        if not DIRECT:
            n = server_statement_count(a)
            expect(n <= EVICT_LIMIT, f"the server holds {n} prepared statements (limit {EVICT_LIMIT})")


def in_transaction_beyond_limit() -> None:
    with wires(1) as (a,):
        for k, t in enumerate(evict_texts(8, "tx")):
            a.prepare(f"it_tx_{k}", t)
        a.ok_query("BEGIN")
        for rnd in range(2):
            for k in range(8):
                r = a.bind_execute(f"it_tx_{k}", str(rnd))
                expect(r.kinds == "2DCZ" and r.rows == [(str(rnd + k),)] and r.status == "T", f"round {rnd} statement {k}: {r}")
        a.ok_query("COMMIT")


def open_portal_survives_eviction() -> None:
    # A suspended portal keeps its rows even when the statement it came from is evicted on the server.
    with wires(1) as (a,):
        a.prepare("it_portal_src", "SELECT generate_series(1, 5)")
        others = evict_texts(5, "portal")
        for k, t in enumerate(others):
            a.prepare(f"it_portal_{k}", t)
        a.ok_query("BEGIN")
        r = a.send(pgwire.bind_msg("cur", "it_portal_src"), pgwire.execute_msg("cur", 2), pgwire.SYNC)
        expect(r.kinds == "2DDsZ" and r.rows == [("1",), ("2",)], f"first rows: {r}")
        for k in range(5):
            r = a.bind_execute(f"it_portal_{k}", "1")
            expect(r.rows == [(str(1 + k),)], f"statement {k}: {r}")
        r = a.send(pgwire.execute_msg("cur", 0), pgwire.SYNC)
        expect(r.kinds == "DDDCZ" and r.rows == [("3",), ("4",), ("5",)], f"rest of the portal: {r}")
        a.ok_query("COMMIT")
        expect(len(a.run("it_portal_src")) == 5, "the source statement afterwards")


async def asyncpg_beyond_limit() -> None:
    conns = await apg_many(3)
    try:
        async def worker(c: asyncpg.Connection, k: int) -> None:
            for rnd in range(3):
                for q in range(12):
                    got = await c.fetchval(f"SELECT $1::int * {q + 1}", k + rnd)
                    expect(got == (k + rnd) * (q + 1), f"conn {k} round {rnd} query {q}: {got}")
        await asyncio.gather(*(worker(c, k) for k, c in enumerate(conns)))
    finally:
        await apg_close(conns)


def psycopg_beyond_limit() -> None:
    def worker(k: int) -> None:
        with pg3_connect(autocommit=True) as c:
            for rnd in range(3):
                for q in range(12):
                    got = c.execute(f"SELECT %s::int - {q}", (k * 100 + rnd,)).fetchone()[0]
                    expect(got == k * 100 + rnd - q, f"round {rnd} query {q}: {got}")
    run_threads(3, worker)


# ---------------------------------------------------------------------------

def run_async(fn):
    return lambda: asyncio.run(asyncio.wait_for(fn(), 120))


def pool1() -> None:
    feature = NO_TRACKING
    R.run("same_name_different_queries", same_name_different_queries, skip=feature)
    R.run("same_query_different_names", same_query_different_names, skip=feature)
    R.run("server_shares_one_statement", server_shares_one_statement, skip=skip_unless_tracked_and_pooled())
    R.run("same_text_different_param_types", same_text_different_param_types, skip=feature)
    R.run("server_names_not_visible", server_names_not_visible, skip=skip_unless_tracked_and_pooled())
    R.run("close_then_reparse", close_then_reparse)
    R.run("unknown_statement_26000", unknown_statement_26000)
    R.run("duplicate_name_42P05", duplicate_name_42P05)
    R.run("parse_in_failed_pipeline", parse_in_failed_pipeline)
    R.run("syntax_error_then_reparse", syntax_error_then_reparse)
    R.run("deallocate_name", deallocate_name, skip=feature)
    R.run("deallocate_spellings", deallocate_spellings)
    R.run("deallocate_unknown_26000", deallocate_unknown_26000)
    R.run("deallocate_all", lambda: drop_all("DEALLOCATE ALL", "DEALLOCATE ALL"))
    R.run("deallocate_all_spares_other_clients", lambda: drop_all_spares_other_clients("DEALLOCATE ALL"), skip=feature)
    R.run("deallocate_extended_protocol", deallocate_extended_protocol)
    R.run("discard_all", lambda: drop_all("DISCARD ALL", "DISCARD ALL", ("it_disc_1", "it_disc_2")))
    R.run("discard_all_spares_other_clients", lambda: drop_all_spares_other_clients("DISCARD ALL"), skip=feature)
    R.run("execute_error_keeps_sync", execute_error_keeps_sync, skip=feature)
    R.run("flush_before_sync", flush_before_sync)
    R.run("named_statements_in_transactions", named_statements_in_transactions, skip=feature)
    R.run("statement_survives_new_server", statement_survives_new_server, skip=skip_unless_tracked_and_pooled())
    R.run("ddl_through_proxy_reprepares", ddl_through_proxy_reprepares, skip=feature)
    R.run("ddl_through_proxy_asyncpg", run_async(ddl_through_proxy_asyncpg), skip=NO_TRACKING)
    # PostgreSQL itself fails these (it is what pgswift hides), and PgBouncer 1.18 passes the failure on.
    retry = NO_TRACKING or ("PostgreSQL itself reports the stale cached plan" if DIRECT else None)
    R.run("ddl_elsewhere_retried", ddl_elsewhere_retried, skip=retry)
    R.run("ddl_elsewhere_without_describe", ddl_elsewhere_without_describe, skip=NO_TRACKING)
    R.run("ddl_elsewhere_asyncpg", run_async(ddl_elsewhere_asyncpg), skip=NO_TRACKING)
    R.run("ddl_elsewhere_in_transaction_not_retried", ddl_elsewhere_in_transaction_not_retried, skip=retry)
    R.run("ddl_elsewhere_psycopg", ddl_elsewhere_psycopg, skip=retry)
    R.run("copy_in_by_execute", copy_in_by_execute)


def ddl_through_proxy_reprepares() -> None:
    # A statement prepared before DDL (sent through the proxy) that changes its result columns. A client that runs it
    # without a Describe decodes rows with the description it has: it must hear "cached plan must not change result
    # type" as from PostgreSQL, never get rows of the new shape. With a Describe of the portal (libpq's way) it learns
    # the new columns, and the statement is prepared again for it outside a transaction block.
    with wires(2) as (a, b):
        b.ok_query("DROP TABLE IF EXISTS it_ddl; CREATE TABLE it_ddl (x int); INSERT INTO it_ddl VALUES (1)")
        a.prepare("it_ddl_all", "SELECT * FROM it_ddl")
        expect(a.run("it_ddl_all") == [("1",)], "before the DDL")
        b.ok_query("ALTER TABLE it_ddl ADD COLUMN y int DEFAULT 7")
        r = a.bind_execute("it_ddl_all")
        expect(r.kinds == "EZ" and r.errors == ["0A000"] and r.status == "I", f"without Describe after ALTER TABLE: {r}")
        r = run_portal(a, "it_ddl_all")
        expect(r.kinds == "2TDCZ" and r.rows == [("1", "7")] and r.status == "I", f"with a Describe of the portal: {r}")
        b.ok_query("DROP TABLE it_ddl")


async def ddl_through_proxy_asyncpg() -> None:
    # asyncpg caches row descriptions and sends Bind/Execute/Sync only. A column's type changed through the proxy:
    # asyncpg must get PostgreSQL's 0A000 (it then prepares again and retries by itself) and rows of the new type,
    # never new-type rows decoded with the old description ("insufficient data in buffer").
    # Several clients hold the statement (one shared server statement on each server of the pool): each must hear
    # the failure for its own cached description, also after another client has prepared the text again.
    table = f"{TAG}_through_apg"
    clients = [await apg_connect() for _ in range(4)]
    other = await apg_connect()
    sql = f"SELECT a, b FROM {table} WHERE a = $1"
    try:
        await other.execute(f"DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (a int, b int); INSERT INTO {table} VALUES (1, 2)")
        for _ in range(3):
            for k, conn in enumerate(clients):
                got = [tuple(r) for r in await conn.fetch(sql, 1)]
                expect(got == [(1, 2)], f"client {k} before the DDL: {got}")
        await other.execute(f"ALTER TABLE {table} ALTER COLUMN b TYPE text")
        for rnd in range(3):
            for k, conn in enumerate(clients):
                got = [tuple(r) for r in await conn.fetch(sql, 1)]
                expect(got == [(1, "2")], f"client {k}, round {rnd}, after ALTER COLUMN TYPE through the proxy: {got}")
    finally:
        await other.execute(f"DROP TABLE IF EXISTS {table}")
        for conn in clients + [other]:
            await conn.close()


def direct_ddl(sql: str) -> None:
    """DDL that does not pass through the proxy (a migration run against PostgreSQL itself)."""
    with psycopg.connect(superuser_dsn(TEST_DB), autocommit=True) as c:
        c.execute(sql)


def run_portal(w: Wire, name: str) -> Reply:
    """Bind, Describe of the portal, Execute, Sync: how libpq's PQsendQueryPrepared runs a statement."""
    return w.send(pgwire.bind_msg("", name, ()), pgwire.describe_msg("P", ""), pgwire.execute_msg(), pgwire.SYNC)


@contextmanager
def table_changed_elsewhere(suffix: str, statement: str) -> Iterator[tuple[Wire, str]]:
    """A one-row table (x = 1), `statement` prepared on it and run once, then a column added by DDL that does not pass
    through the proxy; yields the client and the table, which is dropped afterwards."""
    table = f"{TAG}_{suffix}"
    with wires(1) as (a,):
        a.ok_query(f"DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (x int); INSERT INTO {table} VALUES (1)")
        try:
            a.prepare(statement, f"SELECT * FROM {table}")
            expect(a.run(statement) == [("1",)], "before the DDL")
            direct_ddl(f"ALTER TABLE {table} ADD COLUMN y int DEFAULT 7")
            yield a, table
        finally:
            a.query(f"DROP TABLE IF EXISTS {table}")


def ddl_elsewhere_retried() -> None:
    # PostgreSQL fails the Bind with "cached plan must not change result type". With a Describe of the portal in the
    # batch (libpq's PQsendQueryPrepared) the client learns the new columns, so outside a transaction block pgswift
    # prepares the statement again and sends the batch once more: the client sees only the new rows.
    with table_changed_elsewhere("elsewhere", "it_elsewhere") as (a, table):
        a.prepare("it_elsewhere_n", f"SELECT count(*) FROM {table} WHERE x = $1::int")
        r = run_portal(a, "it_elsewhere")
        expect(r.kinds == "2TDCZ" and r.rows == [("1", "7")] and r.status == "I", f"after ALTER TABLE elsewhere: {r}")
        direct_ddl(f"ALTER TABLE {table} ADD COLUMN z text DEFAULT 'z'")
        r = run_portal(a, "it_elsewhere")
        expect(r.kinds == "2TDCZ" and r.rows == [("1", "7", "z")], f"second DDL, same statement: {r}")
        # Unchanged result columns never failed; other statements still work.
        expect(a.value("it_elsewhere_n", "1") == "1", "another statement on the table")
        expect(a.ok_query("SELECT 5") == [("5",)], "simple query after the retries")


def ddl_elsewhere_without_describe() -> None:
    # Bind/Execute without a Describe: the client decodes rows with the row description it has, so it must see the
    # failure (as from PostgreSQL); preparing the text again under a new name (what drivers then do) gets a fresh
    # statement, although the server's shared one was prepared before the DDL.
    with table_changed_elsewhere("elsewhere_nd", "it_nd_1") as (a, table):
        r = a.bind_execute("it_nd_1")
        expect(r.kinds == "EZ" and r.errors == ["0A000"] and r.status == "I", f"without Describe: {r}")
        a.prepare("it_nd_2", f"SELECT * FROM {table}")
        r = a.send(pgwire.describe_msg("S", "it_nd_2"), pgwire.SYNC)
        expect(r.kinds == "tTZ", f"Describe of the statement prepared again: {r}")
        expect(a.run("it_nd_2") == [("1", "7")], "the statement prepared again")


def ddl_elsewhere_in_transaction_not_retried() -> None:
    # Inside a transaction block the failure aborts the client's transaction: it must see it, as with PostgreSQL.
    with table_changed_elsewhere("elsewhere_tx", "it_elsewhere_tx") as (a, _):
        a.ok_query("BEGIN")
        r = run_portal(a, "it_elsewhere_tx")
        expect(r.kinds == "EZ" and r.errors == ["0A000"] and r.status == "E", f"inside BEGIN: {r}")
        expect(a.query("ROLLBACK").status == "I", "ROLLBACK")
        # Outside the block the same statement works, prepared anew.
        r = run_portal(a, "it_elsewhere_tx")
        expect(r.kinds == "2TDCZ" and r.rows == [("1", "7")], f"after ROLLBACK: {r}")


async def ddl_elsewhere_asyncpg() -> None:
    # asyncpg caches statements and their row descriptions and sends Bind/Execute/Sync only: on the failure it
    # prepares the statement again itself, which must then reach a fresh server-side statement.
    table = f"{TAG}_elsewhere_apg"
    conn = await apg_connect()
    try:
        await conn.execute(f"DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (x int); INSERT INTO {table} VALUES (1)")
        for _ in range(2):
            got = [tuple(r) for r in await conn.fetch(f"SELECT * FROM {table}")]
            expect(got == [(1,)], f"before the DDL: {got}")
        await asyncio.to_thread(direct_ddl, f"ALTER TABLE {table} ADD COLUMN y text DEFAULT 'new'")
        got = [tuple(r) for r in await conn.fetch(f"SELECT * FROM {table}")]
        expect(got == [(1, "new")], f"after ALTER TABLE elsewhere: {got}")
    finally:
        await conn.execute(f"DROP TABLE IF EXISTS {table}")
        await conn.close()


def ddl_elsewhere_psycopg() -> None:
    table = f"{TAG}_elsewhere_pg3"
    with pg3_connect(autocommit=True) as c:
        c.execute(f"DROP TABLE IF EXISTS {table}")
        c.execute(f"CREATE TABLE {table} (x int)")
        c.execute(f"INSERT INTO {table} VALUES (1)")
        try:
            for _ in range(2):
                expect(c.execute(f"SELECT * FROM {table} WHERE x = %s", (1,)).fetchall() == [(1,)], "before the DDL")
            direct_ddl(f"ALTER TABLE {table} ADD COLUMN y text DEFAULT 'new'")
            got = c.execute(f"SELECT * FROM {table} WHERE x = %s", (1,)).fetchall()
            expect(got == [(1, "new")], f"after ALTER TABLE elsewhere: {got}")
        finally:
            c.execute(f"DROP TABLE IF EXISTS {table}")


def copy_in_by_execute() -> None:
    # libpq's PQexecParams("COPY ... FROM STDIN") then PQputCopyEnd: a Sync right after the Execute, which PostgreSQL
    # ignores in copy-in mode, and another after CopyDone. The server must go back to the pool afterwards (on a
    # pool of one, the second client would otherwise wait for ever) and both clients stay in step.
    table = f"{TAG}_copy"
    with wires(2) as (a, b):
        a.ok_query(f"DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (x int, y text)")
        try:
            for rnd in range(3):
                a.conn.send(pgwire.parse_msg("", f"COPY {table} FROM STDIN") + pgwire.bind_msg("", "") + pgwire.describe_msg("P", "")
                            + pgwire.execute_msg() + pgwire.SYNC)
                kinds = ""
                while not kinds.endswith("G"):
                    f = a.conn.read_frame()
                    expect(f.type not in ("E", "Z"), f"before CopyInResponse: {kinds + f.type} {f.body!r}")
                    kinds += f.type if f.type not in ASYNC_FRAMES else ""
                expect(kinds == "12nG", f"round {rnd}: frames before the data {kinds!r}")
                rows = b"".join(pgwire.message(b"d", f"{rnd * 10 + k}\trow {k}\n".encode()) for k in range(5))
                r = a.send(rows, pgwire.message(b"c"), pgwire.SYNC)
                expect(r.kinds == "CZ" and r.tags == ["COPY 5"] and r.status == "I", f"round {rnd}: after CopyDone: {r}")
                expect(b.ok_query(f"SELECT count(*) FROM {table}") == [(str(5 * (rnd + 1)),)], f"round {rnd}: the other client")
                expect(a.ok_query("SELECT 7") == [("7",)], f"round {rnd}: the copying client afterwards")
            # Bad data: the copy fails, and the Sync after CopyDone is the one PostgreSQL answers.
            a.conn.send(pgwire.parse_msg("", f"COPY {table} FROM STDIN") + pgwire.bind_msg("", "") + pgwire.execute_msg() + pgwire.SYNC)
            while a.conn.read_frame().type != "G":
                pass
            r = a.send(pgwire.message(b"d", b"not a number\tx\n"), pgwire.message(b"c"), pgwire.SYNC)
            expect(r.errors == ["22P02"] and r.kinds.endswith("Z") and r.status == "I", f"bad data: {r}")
            expect(b.ok_query(f"SELECT count(*) FROM {table}") == [("15",)], "the other client after the failed copy")
            expect(a.ok_query("SELECT 8") == [("8",)], "the copying client after the failed copy")
        finally:
            a.query(f"DROP TABLE IF EXISTS {table}")


def pool2() -> None:
    feature = NO_TRACKING
    R.run("bind_on_unseen_server", bind_on_unseen_server, skip=feature)
    R.run("describe_on_unseen_server", describe_on_unseen_server, skip=feature)
    R.run("failed_reprepare_recovers", failed_reprepare_recovers, skip=feature)
    R.run("described_runs_on_unseen_server", described_runs_on_unseen_server, skip=feature)
    R.run("changed_columns_on_unseen_server", changed_columns_on_unseen_server, skip=feature)
    R.run("asyncpg_changed_columns_on_unseen_server",
          run_async(lambda: asyncpg_changed_columns(f"{TAG}_unseen_apg", in_transaction=False)), skip=feature)
    R.run("asyncpg_changed_columns_on_unseen_server_in_transaction",
          run_async(lambda: asyncpg_changed_columns(f"{TAG}_unseen_apg_tx", in_transaction=True)), skip=feature)
    R.run("asyncpg_default_cache", run_async(asyncpg_default_cache), skip=feature)
    R.run("asyncpg_prepare_api", run_async(asyncpg_prepare_api), skip=feature)
    R.run("asyncpg_param_types", run_async(asyncpg_param_types), skip=feature)
    R.run("asyncpg_small_cache", run_async(asyncpg_small_cache), skip=feature)
    R.run("psycopg_threads", psycopg_threads, skip=feature)
    R.run("psycopg_deallocations", psycopg_deallocations, skip=feature)
    R.run("psycopg_pipeline", psycopg_pipeline, skip=feature)
    R.run("psycopg_pipeline_drop", psycopg_pipeline_drop, skip=feature)
    R.run("psycopg_threads_pipeline", psycopg_threads_pipeline, skip=feature)


def evict() -> None:
    feature = NO_TRACKING
    R.run("round_robin", round_robin, skip=feature)
    R.run("server_within_limit", server_within_limit, skip=skip_unless_tracked_and_pooled())
    R.run("pipelined_beyond_limit", pipelined_beyond_limit, skip=feature)
    R.run("two_clients_beyond_limit", two_clients_beyond_limit, skip=feature)
    R.run("in_transaction_beyond_limit", in_transaction_beyond_limit, skip=feature)
    R.run("open_portal_survives_eviction", open_portal_survives_eviction, skip=feature)
    R.run("asyncpg_beyond_limit", run_async(asyncpg_beyond_limit), skip=feature)
    R.run("psycopg_beyond_limit", psycopg_beyond_limit, skip=feature)


def untracked() -> None:
    R.run("copy_in_by_execute_untracked", copy_in_by_execute)


MODES = {"pool1": pool1, "pool2": pool2, "evict": evict, "untracked": untracked}
if MODE not in MODES:
    raise SystemExit(f"usage: prepared_checks.py {'|'.join(MODES)}")
MODES[MODE]()
R.exit()
