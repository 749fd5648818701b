"""GET /metrics on the status port: Prometheus text that promtool accepts, with figures that match the traffic sent.

usage: metrics_checks.py PART
  metrics   the proxy's pool of 20 (transaction mode): counters, client logins, histograms, errors by SQLSTATE, pool gauges
  waits     a pool of 1 with query_wait_timeout = 1, held for 5 s: a queued client, the wait histogram, the timeout counted
  prometheus  a real Prometheus server (Debian's) scraping the status port every second: the target is up and its
            queries agree with the proxy's own counts
  tune      a pool of 2 under 8 clients (stats_period = 1, status_admin_token = s3cret): the advice, applying it, SHOW TUNING/SLA
checks/metrics.sh starts the proxy for each part; STATUS_URL is the status port's base URL.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import socket
import subprocess
import tempfile
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import psycopg

import pgwire
from harness import PASSWORD, PROXY_HOST, PROXY_PORT, TEST_DB, USER, Results, expect, proxy_dsn

R = Results("metrics")
STATUS_URL = os.environ["STATUS_URL"]
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape() -> str:
    with urllib.request.urlopen(STATUS_URL + "/metrics", timeout=10) as r:
        expect(r.status == 200, f"status {r.status}")
        ctype = r.headers.get("Content-Type", "")
        expect(ctype.startswith("text/plain; version=0.0.4"), f"Content-Type {ctype!r}")
        return r.read().decode()


def samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        expect(m is not None, f"unparsable line {line!r}")
        labels = dict(LABEL.findall(m.group(3) or ""))
        out.append((m.group(1), labels, float(m.group(4))))
    return out


def value(all_samples, name: str, **labels: str) -> float:
    """The one sample of `name` whose labels include `labels`."""
    found = [v for n, l, v in all_samples if n == name and all(l.get(k) == x for k, x in labels.items())]
    expect(len(found) == 1, f"{name}{labels}: {len(found)} samples")
    return found[0]


def promtool(text: str) -> None:
    p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    expect(p.returncode == 0 and not p.stdout.strip() and not p.stderr.strip(),
           f"promtool exit {p.returncode}: {(p.stdout + p.stderr)[:400]}")


def histogram_consistent(all_samples, name: str, **labels: str) -> tuple[float, float]:
    """Buckets never decrease, +Inf equals _count; returns (count, sum)."""
    buckets = sorted(((float(l["le"]), v) for n, l, v in all_samples
                      if n == name + "_bucket" and all(l.get(k) == x for k, x in labels.items())), key=lambda b: b[0])
    expect(buckets and buckets[-1][0] == math.inf, f"{name}{labels}: no +Inf bucket")
    expect(all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])), f"{name}{labels}: buckets decrease {buckets}")
    count = value(all_samples, name + "_count", **labels)
    expect(buckets[-1][1] == count, f"{name}{labels}: +Inf {buckets[-1][1]} != count {count}")
    return count, value(all_samples, name + "_sum", **labels)


def part_metrics() -> None:
    user = {"database": TEST_DB, "user": USER}
    db = {"database": TEST_DB}
    # No automatic prepare: psycopg's fifth execution of a query adds a Parse round trip of its own.
    conn = psycopg.connect(proxy_dsn(), autocommit=True, prepare_threshold=None)
    conn.execute("SELECT 1").fetchall()
    before = samples(scrape())
    q0 = value(before, "pgswift_queries_total", **db)
    sent0 = value(before, "pgswift_sent_bytes_total", **db)

    def traffic() -> None:
        for _ in range(30):
            conn.execute("SELECT 1").fetchall()
        for _ in range(2):
            try:
                conn.execute("SELECT 1/0")
            except psycopg.errors.DivisionByZero:
                pass
        conn.execute("SELECT pg_sleep(0.3)")
        with conn.transaction():
            conn.execute("SELECT 1")
            conn.execute("SELECT 2")
    traffic()
    text = scrape()
    s = samples(text)

    def counters() -> None:
        q = value(s, "pgswift_queries_total", **db) - q0
        # 30 + 2 failed + sleep + BEGIN, two selects, COMMIT (psycopg's transaction block).
        expect(q == 37, f"queries grew by {q}, expected 37")
        expect(value(s, "pgswift_sent_bytes_total", **db) > sent0, "sent bytes did not grow")
        expect(value(s, "pgswift_errors_total", sqlstate="22012", origin="server", **db) == 2, "22012 count")
        expect(value(s, "pgswift_transactions_total", **db) >= 34, "transactions")
    R.run("counters_match_traffic", counters)

    def histograms() -> None:
        count, total = histogram_consistent(s, "pgswift_query_duration_seconds", **db)
        expect(count == value(s, "pgswift_queries_total", **db), f"histogram count {count} != queries_total")
        expect(total >= 0.3, f"sum {total}s does not hold the 0.3 s sleep")
        # The 300 ms sleep lies above the 250 ms bucket (other queries may too, on a loaded machine).
        le = [v for n, l, v in s if n == "pgswift_query_duration_seconds_bucket" and l.get("database") == TEST_DB and l["le"] == "0.25"]
        expect(le and le[0] <= count - 1, f"the sleep is not above 250 ms: le=0.25 has {le}, count {count}")
        histogram_consistent(s, "pgswift_transaction_duration_seconds", **db)
        histogram_consistent(s, "pgswift_client_wait_duration_seconds", **db)
    R.run("latency_histograms", histograms)

    def pool_gauges() -> None:
        expect(value(s, "pgswift_pool_size", **user) == 20, "pool size")
        expect(value(s, "pgswift_pool_clients", state="idle", **user) >= 1, "idle client (this one)")
        expect(value(s, "pgswift_pool_servers", state="idle", **user) >= 1, "idle server")
        expect(value(s, "pgswift_pool_wait_queue_length", **user) == 0, "queue")
        expect(value(s, "pgswift_clients_connected") >= 1, "clients connected")
        expect(value(s, "pgswift_build_info", version=value_label(s, "pgswift_build_info", "version")) == 1, "build info")
    R.run("pool_gauges", pool_gauges)

    def proxy_errors() -> None:
        try:
            psycopg.connect(proxy_dsn(dbname="no_such_db")).close()
        except psycopg.OperationalError:
            pass
        t = samples(scrape())
        # Counted, but not under the made-up name: one series per name a client invents would grow without end.
        expect(value(t, "pgswift_errors_total", database="", sqlstate="3D000", origin="pgswift") == 1, "3D000 not counted")
        expect(not [l for n, l, v in t if l.get("database") == "no_such_db"], "a series named after an unknown database")
    R.run("proxy_errors_by_sqlstate", proxy_errors)

    def logins() -> None:
        # SHOW STATS' client_login_count, per database: each completed login once.
        l0 = value(samples(scrape()), "pgswift_client_logins_total", **db)
        for _ in range(3):
            psycopg.connect(proxy_dsn(), autocommit=True).close()
        grew = value(samples(scrape()), "pgswift_client_logins_total", **db) - l0
        expect(grew == 3, f"client logins grew by {grew}, expected 3")
    R.run("client_logins_counted", logins)

    R.run("promtool_check_metrics", lambda: promtool(scrape()))
    conn.close()


def value_label(all_samples, name: str, label: str) -> str:
    return next(l[label] for n, l, v in all_samples if n == name)


def part_waits() -> None:
    user = {"database": TEST_DB, "user": USER}
    db = {"database": TEST_DB}
    holder = psycopg.connect(proxy_dsn(), autocommit=True)
    waiter_done = threading.Event()
    outcome: list[str] = []

    def hold() -> None:
        holder.execute("SELECT pg_sleep(5)")

    def wait_behind() -> None:
        try:
            with psycopg.connect(proxy_dsn(), autocommit=True) as c:
                c.execute("SELECT 1")
            outcome.append("served")
        except psycopg.OperationalError as e:
            outcome.append(str(e))
        waiter_done.set()

    h = threading.Thread(target=hold)
    h.start()
    time.sleep(0.3)
    w = threading.Thread(target=wait_behind)
    w.start()
    # Until the waiter has queued (login and lease take a moment on a busy machine) and waited a little.
    deadline = time.monotonic() + 4
    during = samples(scrape())
    while time.monotonic() < deadline and not waiter_done.is_set():
        if value(during, "pgswift_pool_wait_queue_length", **user) == 1 and value(during, "pgswift_pool_max_wait_seconds", **user) > 0.1:
            break
        time.sleep(0.1)
        during = samples(scrape())
    w.join(10)
    h.join(10)
    after = samples(scrape())

    def queued() -> None:
        expect(value(during, "pgswift_pool_wait_queue_length", **user) == 1, "queue length while a client waits")
        expect(value(during, "pgswift_pool_clients", state="waiting", **user) == 1, "waiting client")
        expect(value(during, "pgswift_pool_max_wait_seconds", **user) > 0.1, "max wait")
        expect(value(during, "pgswift_pool_servers", state="active", **user) == 1, "active server")
    R.run("wait_queue_gauges", queued)

    def timed_out() -> None:
        expect(outcome and "query_wait_timeout" in outcome[0], f"the queued client got {outcome}")
        expect(value(after, "pgswift_timeouts_total", timeout="query_wait_timeout", **db) == 1, "timeout count")
        expect(value(after, "pgswift_errors_total", sqlstate="08P01", origin="pgswift", **db) == 1, "08P01 count")
        expect(value(after, "pgswift_pool_wait_queue_length", **user) == 0, "queue after")
    R.run("query_wait_timeout_counted", timed_out)

    def wait_histogram() -> None:
        # The holder's own assignment waited ~0; another client served after the holder waited ~2 s, so use a fresh one.
        with psycopg.connect(proxy_dsn(), autocommit=True) as c:
            c.execute("SELECT 1")
        s = samples(scrape())
        count, total = histogram_consistent(s, "pgswift_client_wait_duration_seconds", **db)
        expect(count == value(s, "pgswift_server_assignments_total", **db), "one wait per assignment")
        promtool(scrape())
    R.run("wait_histogram", wait_histogram)
    holder.close()


def part_prometheus() -> None:
    # A port the kernel just handed out and nobody holds: a fixed one can be taken by an outgoing connection's
    # ephemeral port (56446 once was), and Prometheus then fails to listen.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    work = tempfile.mkdtemp(prefix="pgswift-prometheus-")
    target = STATUS_URL.split("//", 1)[1]
    with open(os.path.join(work, "prometheus.yml"), "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                f"scrape_configs:\n  - job_name: pgswift\n    static_configs:\n      - targets: ['{target}']\n")
    proc = subprocess.Popen(["prometheus", f"--config.file={work}/prometheus.yml", f"--storage.tsdb.path={work}/data",
                             f"--web.listen-address=127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=open(f"{work}/log", "w"))
    api = f"http://127.0.0.1:{port}/api/v1"

    def get(path: str) -> dict:
        with urllib.request.urlopen(api + path, timeout=5) as r:
            return json.load(r)

    try:
        with psycopg.connect(proxy_dsn(), autocommit=True, prepare_threshold=None) as c:
            for _ in range(25):
                c.execute("SELECT 1").fetchall()
        own = value(samples(scrape()), "pgswift_queries_total", database=TEST_DB)

        def scraped() -> None:
            deadline = time.monotonic() + 40
            health, result = None, []
            while time.monotonic() < deadline:
                try:
                    targets = get("/targets")["data"]["activeTargets"]
                    health = targets[0]["health"] if targets else None
                    q = urllib.parse.quote(f'pgswift_queries_total{{database="{TEST_DB}"}}')
                    result = get(f"/query?query={q}")["data"]["result"]
                    if health == "up" and result and float(result[0]["value"][1]) >= own:
                        break
                except OSError:
                    pass
                time.sleep(0.5)
            expect(health == "up", f"Prometheus target health {health} ({open(f'{work}/log').read()[-300:]})")
            expect(result and float(result[0]["value"][1]) >= own, f"Prometheus has {result}, the proxy counted {own}")
            q = urllib.parse.quote(f'histogram_quantile(0.99, sum by (le) (pgswift_query_duration_seconds_bucket{{database="{TEST_DB}"}}))')
            p99 = get(f"/query?query={q}")["data"]["result"]
            expect(p99 and 0 < float(p99[0]["value"][1]) < 10, f"histogram_quantile over the buckets: {p99}")
        R.run("prometheus_scrapes", scraped)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(work, ignore_errors=True)


def post(path: str, token: str | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(STATUS_URL + path, method="POST", data=b"")
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def console(sql: str) -> list[tuple]:
    c = pgwire.RawConn.connect(PROXY_HOST, PROXY_PORT)
    try:
        c.login("pgswift_admin", "pgswift", "admin_pw")
        return c.simple_query(sql)
    finally:
        c.close()


def part_tune() -> None:
    stop = time.monotonic() + 5
    errors: list[str] = []

    def client() -> None:
        try:
            with psycopg.connect(proxy_dsn(), autocommit=True) as c:
                while time.monotonic() < stop:
                    c.execute("SELECT pg_sleep(0.05)")
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(2.2)
    advice = post("/api/v1/performance/tune")
    shown = console("SHOW TUNING")
    refused_none = post("/api/v1/performance/tune?apply=true")
    refused_wrong = post("/api/v1/performance/tune?apply=true", "wrong")
    applied = post("/api/v1/performance/tune?apply=true", "s3cret")
    for t in threads:
        t.join(15)

    def advice_from_measurements() -> None:
        status, body = advice
        expect(status == 200 and body["apply"] is False and body["applied"] == [], f"{status} {body}")
        rec = [r for r in body["recommendations"] if r["setting"] == "default_pool_size"]
        expect(rec and rec[0]["current"] == "2" and rec[0]["recommended"] == "4" and rec[0]["safe"] is True, f"{body}")
        expect("all 2 servers of pool pgswift_test/" in rec[0]["reason"] and "queued" in rec[0]["reason"], rec[0]["reason"])
    R.run("tune_advice", advice_from_measurements)

    def show_tuning() -> None:
        rows = [r for r in shown if r[0] == "default_pool_size"]
        expect(rows and rows[0][1:4] == ("2", "4", "yes") and "servers of pool" in rows[0][4], f"SHOW TUNING {shown}")
    R.run("show_tuning", show_tuning)

    def token_required() -> None:
        for (status, body), what in ((refused_none, "no token"), (refused_wrong, "a wrong token")):
            expect(status == 403 and "error" in body and "s3cret" not in json.dumps(body), f"{what}: {status} {body}")
    R.run("tune_apply_needs_token", token_required)

    def apply() -> None:
        status, body = applied
        expect(status == 200 and body["apply"] is True, f"{status} {body}")
        expect({"setting": "default_pool_size", "value": "4", "applied": True} in body["applied"], f"{body}")
        expect(not errors, f"clients failed: {errors}")
        config = {r[0]: r[1] for r in console("SHOW CONFIG")}
        expect(config["default_pool_size"] == "4", f"SHOW CONFIG default_pool_size = {config['default_pool_size']}")
        expect(config["status_admin_token"] == "********", "SHOW CONFIG shows the token")
        s = samples(scrape())
        expect(value(s, "pgswift_pool_size", database=TEST_DB, user=USER) == 4, "pool size gauge after apply")
    R.run("tune_apply_sets_pool_size", apply)

    def show_sla() -> None:
        rows = {r[0]: r for r in console("SHOW SLA")}
        expect("*" in rows and TEST_DB in rows, f"SHOW SLA rows {list(rows)}")
        row = rows[TEST_DB]
        expect(int(row[2]) >= 40 and float(row[5]) >= 50, f"queries / p95 {row}")
        expect(row[7:10] == ("100", "300", "50"), f"targets {row[7:10]}")
        expect((row[10] == "yes") == (row[11] == ""), f"compliant/missed {row[10:]}")
        expect("p99" in row[11], f"p99 above 50 ms should be missed: {row}")
    R.run("show_sla", show_sla)


if __name__ == "__main__":
    {"metrics": part_metrics, "waits": part_waits, "tune": part_tune, "prometheus": part_prometheus}[sys.argv[1]]()
    R.exit()
