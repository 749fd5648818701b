"""Client timeouts (query, idle transaction, transaction, client idle) and server checks, end to end.

usage: timeout_checks.py PART
  query         query_timeout = 2 (transaction mode)
  queued        query_timeout = 2 (session mode, pool of 1)
  idle_tx       idle_transaction_timeout = 2, query_timeout = 0 (transaction mode)
  transaction   transaction_timeout = 2 (transaction mode; pgswift only)
  idle          client_idle_timeout = 2, query_timeout = 0, admin console (transaction mode)
  session       client_idle_timeout = 2 (session mode, pool of 1)
  check_default server_check_delay = 0 with the default server_check_query (pool of 1)
  check_query   server_check_delay = 0, server_check_query = SELECT it_server_check() (pool of 1)
  check_delay   server_check_delay = 1, the same query (pool of 1)
  check_off     server_check_delay = 0, server_check_query empty: checks off (pool of 1)
checks/timeouts.sh starts the proxy with each config before running its part.

The timeouts are enforced by a sweep once a second (pgswift; PgBouncer's janitor runs three times
a second), so a 2-second limit fires 2 to 3 seconds after the last activity: the checks allow
generous upper bounds, and their lower bound (1 s) only catches a limit that fires at once.
Checks that merely wait run side by side in threads to keep the group short; each looks only at
its own backend pid, never at pg_stat_activity as a whole.

The raw client in pgwire.py is used to see the exact FATAL (severity, SQLSTATE, message) and
the moment the proxy hangs up; psycopg where an ordinary application's view matters.
"""

from __future__ import annotations

import sys
import threading
import time
import uuid
from typing import Callable

import psycopg

import pgwire
from harness import (PASSWORD, PROXY_HOST, PROXY_PORT, TEST_DB, USER, Results, expect, is_pgbouncer,
                     superuser_dsn, wait_for)


class ThreadSafeResults(Results):
    """Results whose lines stay whole when checks run in threads (print writes the newline separately)."""

    _lock = threading.Lock()

    def ok(self, name: str) -> None:
        with self._lock:
            super().ok(name)

    def fail(self, name: str, reason: str) -> None:
        with self._lock:
            super().fail(name, reason)

    def skip(self, name: str, reason: str) -> None:
        with self._lock:
            super().skip(name, reason)


R = ThreadSafeResults("to")
LIMIT = 2.0          # every timeout under test is 2 s (the server_check_delay part uses 1 s)
FIRE_WITHIN = 7.0    # a 2 s timeout must have fired by then (sweep granularity, a loaded machine)


# --- helpers ---------------------------------------------------------------------

def login(user: str = USER, password: str = PASSWORD, database: str = TEST_DB) -> pgwire.RawConn:
    c = pgwire.RawConn.connect(PROXY_HOST, PROXY_PORT, timeout=10)
    c.login(user, database, password, application_name="pgswift-it-timeouts")
    return c


def su(sql: str, *args: object) -> list[tuple]:
    """Run sql as the superuser directly on PostgreSQL (bypassing the proxy, so no server check runs)."""
    with psycopg.connect(superuser_dsn(TEST_DB), autocommit=True) as c:
        cur = c.execute(sql, args or None)
        return cur.fetchall() if cur.description else []


def backend_state(pid: int) -> str | None:
    """The backend's pg_stat_activity state, or None once it has exited."""
    rows = su("SELECT state FROM pg_stat_activity WHERE pid = %s", pid)
    return rows[0][0] if rows else None


def same_meaning(got: str | None, want: str) -> bool:
    # PgBouncer writes "query timeout" for a running query (and "query_timeout" for one waiting for a
    # server); pgswift writes "query_timeout": the same meaning, so underscores count as spaces.
    return got is not None and got.replace("_", " ") == want.replace("_", " ")


def exchange(c: pgwire.RawConn, sql: str, timeout: float = 20.0) -> tuple[list[pgwire.Frame], bool]:
    """Send a simple query; return the frames up to ReadyForQuery, and whether the proxy hung up instead."""
    try:
        c.send(pgwire.message(b"Q", pgwire.cstr(sql)))
    except OSError:
        # Hung up already: what it said before is still in our receive buffer.
        return c.read_until_closed(2.0)[0], True
    frames: list[pgwire.Frame] = []
    deadline = time.monotonic() + timeout
    while not frames or frames[-1].type != "Z":
        try:
            frames.append(c.read_frame(max(0.01, deadline - time.monotonic())))
        except pgwire.ConnectionClosed:
            return frames, True
    return frames, False


def query(c: pgwire.RawConn, sql: str, timeout: float = 20.0) -> tuple[list[tuple], dict | None, bool]:
    """Send a simple query; return (rows, the last ErrorResponse's fields or None, whether the proxy hung up)."""
    frames, closed = exchange(c, sql, timeout)
    rows = [pgwire.data_row_values(f.body) for f in frames if f.type == "D"]
    errs = [f.error_fields() for f in frames if f.type == "E"]
    return rows, (errs[-1] if errs else None), closed


def ok_query(c: pgwire.RawConn, sql: str) -> list[tuple]:
    rows, err, closed = query(c, sql)
    expect(err is None and not closed, f"{sql!r}: error {err}, closed {closed}")
    return rows


def expect_fatal(frames: list[pgwire.Frame], closed: bool, want: str, waited: float, what: str) -> None:
    """The proxy sent FATAL 08P01 `want` and hung up, no sooner than 1 s into a 2 s limit."""
    expect(closed, f"{what}: still connected after {waited:.1f}s (frames {[f.type for f in frames]})")
    expect_fatal_error([f.error_fields() for f in frames if f.type == "E"], want, waited, what)


def expect_fatal_error(errs: list[dict], want: str, waited: float, what: str) -> None:
    expect(errs, f"{what}: the proxy hung up after {waited:.1f}s without an ErrorResponse")
    e = errs[-1]
    expect(e.get("S") == "FATAL" and e.get("C") == "08P01" and same_meaning(e.get("M"), want),
           f"{what}: got {e.get('S')} {e.get('C')} {e.get('M')!r}, want FATAL 08P01 {want!r}")
    expect(waited > 1.0, f"{what}: fired after only {waited:.2f}s for a limit of {LIMIT:g}s")
    print(f"{what}: FATAL {e.get('M')!r} after {waited:.2f}s", file=sys.stderr)


def wait_for_fatal(c: pgwire.RawConn, want: str, what: str) -> None:
    """Stay silent until the proxy hangs up (at most FIRE_WITHIN s), then check what it said."""
    t0 = time.monotonic()
    frames, closed = c.read_until_closed(FIRE_WITHIN)
    expect_fatal(frames, closed, want, time.monotonic() - t0, what)


def stay_quiet(c: pgwire.RawConn, seconds: float, what: str) -> None:
    """Nothing may arrive (least of all a FATAL) while the client says nothing for `seconds`."""
    frames, closed = c.read_until_closed(seconds)
    errs = [f.error_fields().get("M") for f in frames if f.type == "E"]
    expect(not closed and not frames, f"{what}: closed={closed}, errors {errs}, frames {[f.type for f in frames]}")


def keep_busy(c: pgwire.RawConn, sql: str, seconds: float, every: float = 0.5) -> int:
    """Run sql every `every` s for `seconds`; every answer must arrive and nothing else. Returns the count."""
    n = 0
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        ok_query(c, sql)
        n += 1
        stay_quiet(c, every, f"after {n} queries ({time.monotonic() - t0:.1f}s)")
    return n


def together(*checks: tuple[str, Callable[[], None]] | tuple[str, Callable[[], None], str | None]) -> None:
    """Run checks side by side (they mostly wait for a timeout); each prints its own result line."""
    threads = [threading.Thread(target=R.run, args=(ck[0], ck[1], ck[2] if len(ck) > 2 else None))
               for ck in checks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)


def tag() -> str:
    return uuid.uuid4().hex[:12]


def setup_tables() -> None:
    # Made by the superuser and open to everyone: the server-check function runs as scram_user.
    su("""
        CREATE TABLE IF NOT EXISTS it_to_rows (tag text);
        CREATE TABLE IF NOT EXISTS it_check_bad (pid int);
        CREATE SEQUENCE IF NOT EXISTS it_check_count;
        GRANT ALL ON it_to_rows, it_check_bad TO PUBLIC;
        GRANT USAGE ON SEQUENCE it_check_count TO PUBLIC;
        TRUNCATE it_check_bad;
        ALTER SEQUENCE it_check_count RESTART;
        CREATE OR REPLACE FUNCTION it_server_check() RETURNS int LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM nextval('it_check_count');  -- a sequence, so that failed checks count too
          IF EXISTS (SELECT 1 FROM it_check_bad WHERE pid = pg_backend_pid()) THEN
            RAISE EXCEPTION 'it_server_check: backend % is marked bad', pg_backend_pid();
          END IF;
          RETURN 1;
        END $$;
    """)


def checks_logged() -> int:
    return su("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM it_check_count")[0][0]


# --- query: query_timeout = 2 --------------------------------------------------------------

QT_PID: list[int] = []   # the backend that ran the timed-out query, for query_timeout_server_closed


def query_timeout_fires() -> None:
    c = login()
    # The backend is found by a tag in its query text: PostgreSQL sends no result before pg_sleep ends.
    t = tag()
    c.send(pgwire.message(b"Q", pgwire.cstr(f"SELECT pg_sleep(10) /* it-qt-{t} */")))
    t0 = time.monotonic()
    pids: list[int] = []

    def find() -> bool:
        pids[:] = [r[0] for r in su("SELECT pid FROM pg_stat_activity WHERE query LIKE %s AND pid <> pg_backend_pid()",
                                     f"%it-qt-{t}%")]
        return bool(pids)
    wait_for(find, 1.5, 0.05)
    frames, closed = c.read_until_closed(FIRE_WITHIN - (time.monotonic() - t0))
    expect_fatal(frames, closed, "query_timeout", time.monotonic() - t0, "pg_sleep(10)")
    expect(len(pids) == 1, f"backends running the query: {pids}")
    QT_PID.append(pids[0])


def query_timeout_server_closed() -> None:
    # The server that ran the timed-out query is cancelled and closed: its backend exits long before
    # pg_sleep(10) would have ended, and no later client is handed that connection.
    expect(QT_PID, "no backend pid from query_timeout_fires")
    pid = QT_PID[0]
    gone = wait_for(lambda: backend_state(pid) is None, 4.0)
    expect(gone, f"backend {pid} still there ({backend_state(pid)!r}) 4s after the query_timeout")
    c = login()
    for _ in range(3):
        got = int(ok_query(c, "SELECT pg_backend_pid()")[0][0])
        expect(got != pid, f"a new client got the timed-out server {pid}")
    c.terminate()


def query_timeout_per_query() -> None:
    # The limit is per query: five 0.8 s queries in a row (4 s in all) are each well within it.
    c = login()
    for _ in range(5):
        ok_query(c, "SELECT pg_sleep(0.8)")
    ok_query(c, "SELECT 1")
    c.terminate()


def query_timeout_ignores_idle_client() -> None:
    # A client that sent nothing is not waiting for an answer: 3.5 s of silence is not a query timeout.
    c = login()
    ok_query(c, "SELECT 1")
    stay_quiet(c, 3.5, "idle between queries")
    ok_query(c, "SELECT 2")
    c.terminate()


def query_timeout_while_queued() -> None:
    # Session mode, pool of 1: the holder keeps the server while idle (which no timeout here ends), so the
    # other client's query waits for a server. PgBouncer counts that wait towards query_timeout.
    holder = login()
    ok_query(holder, "SELECT 1")
    t0 = time.monotonic()
    c = pgwire.RawConn.connect(PROXY_HOST, PROXY_PORT, timeout=10)
    try:
        # A proxy may lend a session-mode server at login already, so the login itself may be what waits.
        c.login(USER, TEST_DB, PASSWORD, timeout=FIRE_WITHIN)
        c.send(pgwire.message(b"Q", pgwire.cstr("SELECT 1")))
        frames, closed = c.read_until_closed(FIRE_WITHIN - (time.monotonic() - t0))
        expect_fatal(frames, closed, "query_timeout", time.monotonic() - t0, "query queued for a server")
    except pgwire.ServerError as e:
        expect_fatal_error([e.fields], "query_timeout", time.monotonic() - t0, "login queued for a server")
    except TimeoutError:
        raise AssertionError(f"still waiting for a server after {time.monotonic() - t0:.1f}s") from None
    finally:
        c.close()
        holder.terminate()


def part_query() -> None:
    su("SELECT 1")  # the superuser connection works before threads lean on it
    together(("query_timeout_fires", query_timeout_fires),
             ("query_timeout_per_query", query_timeout_per_query),
             ("query_timeout_ignores_idle_client", query_timeout_ignores_idle_client))
    # PgBouncer 1.18 closes the server without cancelling the query, so its backend sleeps on.
    R.run("query_timeout_server_closed", query_timeout_server_closed,
          skip="PgBouncer 1.18 closes the server without a cancel: the backend runs pg_sleep to its end"
          if is_pgbouncer() else None)


# --- idle_tx: idle_transaction_timeout = 2, query_timeout = 0 ---------------------------------

def idle_tx_fires(failed: bool) -> Callable[[], None]:
    def check() -> None:
        t = tag()
        c = login()
        ok_query(c, "BEGIN")
        pid = int(ok_query(c, "SELECT pg_backend_pid()")[0][0])
        ok_query(c, f"INSERT INTO it_to_rows VALUES ('{t}')")
        lock = 740000 + pid % 10000   # a key of its own: the failed and the plain check run together
        ok_query(c, f"SELECT pg_advisory_xact_lock({lock})")
        if failed:
            _, err, closed = query(c, "SELECT 1/0")
            expect(err is not None and err.get("C") == "22012" and not closed, f"1/0 gave {err}, closed {closed}")
        wait_for_fatal(c, "idle transaction timeout", "idle in failed transaction" if failed else "idle in transaction")
        # The transaction is gone with its server: no row, no lock, no backend idle in transaction.
        expect(wait_for(lambda: backend_state(pid) in (None, "idle"), 4.0),
               f"backend {pid} still {backend_state(pid)!r} after the timeout")
        expect(su("SELECT count(*) FROM it_to_rows WHERE tag = %s", t)[0][0] == 0, "the insert was committed")
        expect(su("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s", lock)[0][0] == 0,
               "the advisory lock is still held")
    return check


def idle_tx_psycopg() -> None:
    # An application that forgets to commit: its next statement reports the proxy's reason.
    c = psycopg.connect(host=PROXY_HOST, port=PROXY_PORT, dbname=TEST_DB, user=USER, password=PASSWORD,
                        connect_timeout=10)
    try:
        c.execute("SELECT 1")       # psycopg opens a transaction here and leaves it open
        time.sleep(5)
        try:
            c.execute("SELECT 2")
            raise AssertionError("the connection survived 5 s idle in a transaction")
        except psycopg.OperationalError as e:
            text = str(e).replace("_", " ")
            expect("idle transaction timeout" in text, f"message: {e}")
    finally:
        c.close()


def idle_tx_active_survives() -> None:
    # Inside a transaction, a statement every 0.5 s for 4 s never leaves it idle for 2 s.
    c = login()
    ok_query(c, "BEGIN")
    n = keep_busy(c, "SELECT 1", 4.0)
    ok_query(c, "COMMIT")
    print(f"{n} statements in one transaction", file=sys.stderr)
    c.terminate()


def idle_tx_spares_running_query() -> None:
    # A client waiting 3.5 s for its answer inside a transaction is not idle in it.
    c = login()
    ok_query(c, "BEGIN")
    rows = ok_query(c, "SELECT pg_sleep(3.5), 'done'")
    expect(rows == [("", "done")], f"rows {rows}")
    ok_query(c, "COMMIT")
    c.terminate()


def part_idle_tx() -> None:
    su("SELECT 1")
    together(("idle_tx_fires", idle_tx_fires(False)),
             ("idle_tx_failed_fires", idle_tx_fires(True)),
             ("idle_tx_psycopg", idle_tx_psycopg),
             ("idle_tx_active_survives", idle_tx_active_survives),
             ("idle_tx_spares_running_query", idle_tx_spares_running_query))


# --- transaction: transaction_timeout = 2 ------------------------------------------------

def tx_timeout_fires() -> None:
    # Busy all along (never idle 2 s), yet the transaction's age passes the limit.
    t = tag()
    c = login()
    ok_query(c, "BEGIN")
    t0 = time.monotonic()
    ok_query(c, f"INSERT INTO it_to_rows VALUES ('{t}')")
    frames: list[pgwire.Frame] = []
    closed = False
    # Between statements the client waits 0.5 s listening, so a FATAL sent then is read, not written into.
    while time.monotonic() - t0 < FIRE_WITHIN:
        frames, closed = exchange(c, "SELECT 1")
        if closed or any(f.type == "E" for f in frames):
            break
        frames, closed = c.read_until_closed(0.5)
        if closed or frames:
            break
    expect_fatal(frames, closed, "transaction timeout", time.monotonic() - t0, "busy transaction")
    expect(su("SELECT count(*) FROM it_to_rows WHERE tag = %s", t)[0][0] == 0, "the insert was committed")


def tx_timeout_short_transactions_survive() -> None:
    # Many short transactions over 4 s: each is young; so are autocommit statements in between.
    c = login()
    t0 = time.monotonic()
    n = 0
    while time.monotonic() - t0 < 4.0:
        ok_query(c, "BEGIN")
        ok_query(c, "SELECT 1")
        ok_query(c, "COMMIT")
        ok_query(c, "SELECT 2")
        n += 1
        stay_quiet(c, 0.3, f"after {n} transactions")
    c.terminate()


def part_transaction() -> None:
    skip = "PgBouncer 1.18 has no transaction_timeout" if is_pgbouncer() else None
    together(("tx_timeout_fires", tx_timeout_fires, skip),
             ("tx_timeout_short_transactions_survive", tx_timeout_short_transactions_survive, skip))


# --- idle: client_idle_timeout = 2, query_timeout = 0 ---------------------------------------

def client_idle_after_query() -> None:
    c = login()
    ok_query(c, "SELECT 1")
    wait_for_fatal(c, "client_idle_timeout", "idle after a query")


def client_idle_never_queried() -> None:
    wait_for_fatal(login(), "client_idle_timeout", "idle since login")


def client_idle_admin_console() -> None:
    c = login("pgswift_admin", "admin_pw", "pgbouncer")
    ok_query(c, "SHOW VERSION")
    wait_for_fatal(c, "client_idle_timeout", "idle admin console")


def client_idle_active_survives() -> None:
    c = login()
    keep_busy(c, "SELECT 1", 4.0)
    c.terminate()


def client_idle_spares_running_query() -> None:
    # query_timeout = 0 and a client waiting 3.5 s for its answer is not idle: the query completes.
    c = login()
    rows = ok_query(c, "SELECT pg_sleep(3.5), 'done'")
    expect(rows == [("", "done")], f"rows {rows}")
    c.terminate()


def client_idle_spares_open_transaction() -> None:
    # Idle inside a transaction is idle_transaction_timeout's business (off here), not client_idle_timeout's.
    c = login()
    ok_query(c, "BEGIN")
    ok_query(c, "SELECT 1")
    stay_quiet(c, 3.5, "idle in transaction")
    ok_query(c, "COMMIT")
    c.terminate()


def part_idle() -> None:
    together(("client_idle_after_query", client_idle_after_query),
             ("client_idle_never_queried", client_idle_never_queried),
             # PgBouncer's janitor skips the admin pool when enforcing client_idle_timeout.
             ("client_idle_admin_console", client_idle_admin_console,
              "PgBouncer does not apply client_idle_timeout to the admin console" if is_pgbouncer() else None),
             ("client_idle_active_survives", client_idle_active_survives),
             ("client_idle_spares_running_query", client_idle_spares_running_query),
             ("client_idle_spares_open_transaction", client_idle_spares_open_transaction))


# --- session: session mode, pool of 1, client_idle_timeout = 2 -------------------------------

def session_idle_fires() -> None:
    c = login()
    pid = int(ok_query(c, "SELECT pg_backend_pid()")[0][0])
    ok_query(c, "SET application_name = 'it-session-idle'")
    wait_for_fatal(c, "client_idle_timeout", "idle session client")
    # Its server goes back to the pool (of one): the next client is served, without the old setting.
    d = login()
    rows = ok_query(d, "SELECT current_setting('application_name'), pg_backend_pid()")
    expect(rows[0][0] != "it-session-idle", f"the next client inherited {rows[0][0]!r}")
    print(f"idle session client's server {pid}, next client's {rows[0][1]}", file=sys.stderr)
    d.terminate()


def part_session() -> None:
    R.run("session_idle_fires", session_idle_fires,
          skip="PgBouncer 1.18 exempts a client linked to a server from client_idle_timeout, as a session-mode "
               "client is from its first query on" if is_pgbouncer() else None)


# --- server checks (pool of 1, transaction mode) ------------------------------------------------

def terminated_server_replaced() -> None:
    # A backend killed while idle in the pool: with a check before each lease, the next query gets a new one.
    # Each of five rounds queries right after pg_terminate_backend returns, racing the proxy's noticing the
    # close: with checks off, most runs of this check fail (6 of 8 against pgswift, tried by hand).
    c = login()
    for round_ in range(5):
        pid = int(ok_query(c, "SELECT pg_backend_pid()")[0][0])
        expect(su("SELECT pg_terminate_backend(%s)", pid) == [(True,)], f"could not terminate {pid}")
        rows, err, closed = query(c, "SELECT pg_backend_pid()")
        expect(err is None and not closed, f"round {round_}: query after terminating {pid}: {err}, closed {closed}")
        expect(int(rows[0][0]) != pid, f"round {round_}: still backend {pid}")
    d = login()
    ok_query(d, "SELECT 1")
    d.terminate()
    c.terminate()


def check_query_runs() -> None:
    c = login()
    ok_query(c, "SELECT 1")
    before = checks_logged()
    for _ in range(3):
        ok_query(c, "SELECT 1")
    after = checks_logged()
    # pgswift checks before each lease, PgBouncer before handing out a released server: 3 either way.
    expect(after - before >= 3, f"{after - before} server checks for 3 transactions with server_check_delay = 0")
    c.terminate()


def failing_check_replaces_server() -> None:
    c = login()
    pid = int(ok_query(c, "INSERT INTO it_check_bad SELECT pg_backend_pid() RETURNING pid")[0][0])
    got = int(ok_query(c, "SELECT pg_backend_pid()")[0][0])
    expect(got != pid, f"backend {pid} failed its check but served the next query")
    expect(wait_for(lambda: backend_state(pid) is None, 4.0), f"backend {pid} failed its check but is still open")
    c.terminate()


CD: dict[str, int] = {}   # what the check_delay checks hand on to each other


def check_delay_spares_recent() -> None:
    # server_check_delay = 1: a server used a moment ago is lent without a check, even a "bad" one.
    c = login()
    ok_query(c, "SELECT 1")
    CD["before"] = before = checks_logged()
    CD["pid"] = pid = int(ok_query(c, "INSERT INTO it_check_bad SELECT pg_backend_pid() RETURNING pid")[0][0])
    for _ in range(3):
        got = int(ok_query(c, "SELECT pg_backend_pid()")[0][0])
        expect(got == pid, f"server {pid} was replaced ({got}) though used within server_check_delay")
    expect(checks_logged() == before, f"{checks_logged() - before} checks within server_check_delay")
    # Idle past the delay: the next lease is checked.
    time.sleep(2.5)
    CD["after_idle"] = int(ok_query(c, "SELECT pg_backend_pid()")[0][0])
    c.terminate()


def check_delay_checks_idle() -> None:
    expect("after_idle" in CD, "check_delay_spares_recent did not get that far")
    expect(checks_logged() > CD["before"], "no check ran for a server idle past server_check_delay")


def check_delay_failure_replaces_server() -> None:
    expect("after_idle" in CD, "check_delay_spares_recent did not get that far")
    expect(CD["after_idle"] != CD["pid"], f"backend {CD['pid']} idle past server_check_delay was lent without its"
                                          " (failing) check")


def checks_off() -> None:
    # server_check_query empty: no check ever runs, so a "bad" server keeps serving.
    c = login()
    pid = int(ok_query(c, "INSERT INTO it_check_bad SELECT pg_backend_pid() RETURNING pid")[0][0])
    for _ in range(5):
        got = int(ok_query(c, "SELECT pg_backend_pid()")[0][0])
        expect(got == pid, f"server {pid} replaced by {got} with checks off")
    d = login()
    expect(int(ok_query(d, "SELECT pg_backend_pid()")[0][0]) == pid, "a second client got another server")
    d.terminate()
    c.terminate()


# PgBouncer marks a server dirty on an ErrorResponse but ready again on the ReadyForQuery after it, so only a
# dead connection fails its check; pgswift closes a server whose check query reports an error.
CHECK_ERROR_IGNORED = ("PgBouncer 1.18 ignores an error from server_check_query: only a dead connection fails it"
                       if is_pgbouncer() else None)

PARTS: dict[str, Callable[[], None]] = {
    "query": part_query,
    "queued": lambda: R.run("query_timeout_while_queued", query_timeout_while_queued),
    "idle_tx": part_idle_tx,
    "transaction": part_transaction,
    "idle": part_idle,
    "session": part_session,
    "check_default": lambda: R.run("check_default_terminated_server_replaced", terminated_server_replaced),
    "check_query": lambda: (R.run("check_query_runs", check_query_runs),
                            R.run("check_query_failure_replaces_server", failing_check_replaces_server,
                                  skip=CHECK_ERROR_IGNORED)),
    "check_delay": lambda: (R.run("check_delay_spares_recent", check_delay_spares_recent),
                            R.run("check_delay_checks_idle", check_delay_checks_idle),
                            R.run("check_delay_failure_replaces_server", check_delay_failure_replaces_server,
                                  skip=CHECK_ERROR_IGNORED)),
    "check_off": lambda: R.run("check_off", checks_off),
}

if __name__ == "__main__":
    part = sys.argv[1] if len(sys.argv) > 1 else ""
    if part not in PARTS:
        raise SystemExit(f"usage: timeout_checks.py {'|'.join(PARTS)}")
    setup_tables()
    PARTS[part]()
    R.exit()
