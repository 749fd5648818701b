"""Shared plumbing for the Python integration checks.

Each check prints exactly one result line on stdout, which run.sh counts:
    ok NAME
    FAIL NAME: reason
    skip NAME (reason)
Diagnostics (tracebacks, timings) go to stderr, which run.sh keeps in a log.

Connection settings come from the environment that run.sh exports.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from typing import Any, Callable


def env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise SystemExit(f"environment variable {name} is not set (run via tests/integration/run.sh)")
    return value


PROXY_HOST = env("PROXY_HOST", "127.0.0.1")
PROXY_PORT = int(env("PROXY_PORT", "56432"))
PROXY_SOCKET_DIR = env("PROXY_SOCKET_DIR", "")
PROXY_KIND = env("PROXY_KIND", "pgswift")          # pgswift | pgbouncer
PG_HOST = env("PG_HOST", "127.0.0.1")
PG_PORT = int(env("PG_PORT", "55432"))
PG_SOCKET_DIR = env("PG_SOCKET_DIR", "/tmp/pgswift-test/sock")
PG_SUPERUSER = env("PG_SUPERUSER", "postgres")
TEST_DB = env("TEST_DB", "pgswift_test")
USER = env("TEST_USER", "scram_user")
PASSWORD = env("TEST_PASSWORD", "scram_pw")


def proxy_dsn(**overrides: Any) -> str:
    """libpq conninfo string for the proxy over TCP."""
    params: dict[str, Any] = {
        "host": PROXY_HOST, "port": PROXY_PORT, "dbname": TEST_DB,
        "user": USER, "password": PASSWORD, "connect_timeout": 10,
        "sslmode": "disable", "application_name": "pgswift-it",
    }
    params.update(overrides)
    return " ".join(f"{k}={_quote(v)}" for k, v in params.items() if v is not None)


def superuser_dsn(dbname: str = "postgres") -> str:
    """Direct superuser connection to PostgreSQL over its own unix socket (bypasses the proxy)."""
    return f"host={PG_SOCKET_DIR} port={PG_PORT} dbname={dbname} user={PG_SUPERUSER} connect_timeout=10"


def _quote(v: Any) -> str:
    s = str(v)
    if s == "" or any(c in s for c in " '\\"):
        return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return s


def is_pgbouncer() -> bool:
    return PROXY_KIND == "pgbouncer"


class Results:
    def __init__(self, prefix: str):
        self.prefix = prefix
        self.failed = 0

    def _name(self, name: str) -> str:
        return f"{self.prefix}_{name}" if self.prefix else name

    def ok(self, name: str) -> None:
        print(f"ok {self._name(name)}", flush=True)

    def fail(self, name: str, reason: str) -> None:
        self.failed += 1
        reason = " ".join(reason.split())[:300]
        print(f"FAIL {self._name(name)}: {reason}", flush=True)

    def skip(self, name: str, reason: str) -> None:
        print(f"skip {self._name(name)} ({reason})", flush=True)

    def run(self, name: str, fn: Callable[[], Any], skip: str | None = None) -> bool:
        """Run fn; any exception (including AssertionError) is a failure."""
        if skip:
            self.skip(name, skip)
            return True
        t0 = time.monotonic()
        try:
            fn()
        except BaseException as e:  # noqa: BLE001 - report everything, keep going
            if isinstance(e, KeyboardInterrupt):
                raise
            print(f"--- {self._name(name)} failed after {time.monotonic() - t0:.2f}s", file=sys.stderr)
            traceback.print_exc(file=sys.stderr)
            self.fail(name, f"{type(e).__name__}: {e}")
            return False
        print(f"--- {self._name(name)} ok in {time.monotonic() - t0:.2f}s", file=sys.stderr)
        self.ok(name)
        return True

    async def arun(self, name: str, coro_fn: Callable[[], Any], timeout: float = 60.0) -> bool:
        """Async variant of run(): awaits coro_fn() with an overall timeout."""
        import asyncio
        t0 = time.monotonic()
        try:
            await asyncio.wait_for(coro_fn(), timeout=timeout)
        except BaseException as e:  # noqa: BLE001
            if isinstance(e, (KeyboardInterrupt, asyncio.CancelledError)):
                raise
            print(f"--- {self._name(name)} failed after {time.monotonic() - t0:.2f}s", file=sys.stderr)
            traceback.print_exception(e, file=sys.stderr)
            self.fail(name, f"{type(e).__name__}: {e}")
            return False
        print(f"--- {self._name(name)} ok in {time.monotonic() - t0:.2f}s", file=sys.stderr)
        self.ok(name)
        return True

    def exit(self) -> None:
        sys.exit(1 if self.failed else 0)


def expect(cond: bool, message: str) -> None:
    if not cond:
        raise AssertionError(message)


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
