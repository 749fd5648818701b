"""The status port's dashboard in headless Chromium (driven over the DevTools protocol), against /metrics.

usage: dashboard_check.py
STATUS_URL is the status port; CHROMIUM_PORT a free port for DevTools; DASHBOARD_SCREENSHOT, when set, a PNG path
to write (docs/dashboard.png is made this way). Checks: the page loads everything from pgswift itself, logs no console
error or exception, draws its charts, and shows the same totals and pool figures as a /metrics scrape; the assets
are compressed and revalidated with ETags.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request

import psycopg
import websocket

from harness import Results, expect, proxy_dsn

R = Results("dashboard")
STATUS_URL = os.environ["STATUS_URL"]
DEVTOOLS_PORT = int(os.environ["CHROMIUM_PORT"])
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def get(path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(STATUS_URL + path, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def metric_totals() -> dict[str, float]:
    totals: dict[str, float] = {}
    pools: dict[str, dict[str, float]] = {}
    for line in get("/metrics")[2].decode().splitlines():
        m = SAMPLE.match(line)
        if not m or line.startswith("#"):
            continue
        labels = dict(LABEL.findall(m.group(3) or ""))
        v = float(m.group(4))
        totals[m.group(1)] = totals.get(m.group(1), 0) + v
        if m.group(1).startswith("pgswift_pool_"):
            p = pools.setdefault(f"{labels['database']}/{labels['user']}", {})
            field = {"pgswift_pool_size": "size", "pgswift_pool_wait_queue_length": "waiting"}.get(m.group(1))
            if m.group(1) == "pgswift_pool_servers" and labels["state"] in ("active", "idle"):
                field = "servers_" + labels["state"]
            if m.group(1) == "pgswift_pool_clients" and labels["state"] in ("active", "idle"):
                field = "clients_" + labels["state"]
            if field:
                p[field] = v
    totals["pools"] = pools  # type: ignore[assignment]
    return totals


class DevTools:
    """One page of a headless Chromium, driven over its DevTools websocket."""

    def __init__(self) -> None:
        self.profile = tempfile.mkdtemp(prefix="pgswift-chromium-")
        binary = shutil.which("chromium") or shutil.which("chromium-browser")
        expect(binary is not None, "chromium not found (Debian package chromium)")
        self.proc = subprocess.Popen(
            [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
             "--no-default-browser-check", "--disable-extensions", "--hide-scrollbars", f"--user-data-dir={self.profile}",
             f"--remote-debugging-port={DEVTOOLS_PORT}", "--remote-allow-origins=*", "--window-size=1400,1000", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        target = None
        while time.monotonic() < deadline and target is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{DEVTOOLS_PORT}/json/list", timeout=2) as r:
                    target = next((t for t in json.load(r) if t.get("type") == "page"), None)
            except OSError:
                time.sleep(0.3)
        expect(target is not None, "Chromium's DevTools did not come up")
        self.ws = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict] = []

    def call(self, method: str, **params) -> dict:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                expect("error" not in msg, f"{method}: {msg.get('error')}")
                return msg.get("result", {})
            self.events.append(msg)

    def evaluate(self, expression: str):
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        expect("exceptionDetails" not in r, f"evaluating {expression[:60]}: {r.get('exceptionDetails')}")
        return r["result"].get("value")

    def problems(self) -> list[str]:
        out = []
        for e in self.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.exceptionThrown":
                out.append("exception: " + json.dumps(p.get("exceptionDetails", {}))[:300])
            elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert", "warning"):
                out.append(f"console.{p['type']}: " + json.dumps(p.get("args", []))[:300])
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") in ("error", "warning"):
                out.append("log: " + json.dumps(p["entry"])[:300])
        return out

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            shutil.rmtree(self.profile, ignore_errors=True)


PAGE_STATE = """(() => {
  // Asked while the page may still be loading (Page.navigate does not wait): nothing yet.
  if (!document.body || !document.getElementById('p99') || !document.getElementById('problem')) return {updates: 0};
  const metric = {};
  for (const el of document.querySelectorAll('[data-metric]')) metric[el.dataset.metric] = Number(el.dataset.value);
  const pools = {};
  for (const tr of document.querySelectorAll('#pools tbody tr[data-pool]')) {
    const p = {};
    for (const td of tr.querySelectorAll('td[data-field]')) p[td.dataset.field] = Number(td.textContent.replace(/,/g, ''));
    pools[tr.dataset.pool] = p;
  }
  const resources = performance.getEntriesByType('resource').map(e => e.name);
  return {metric, pools, resources, updates: Number(document.body.dataset.updates || 0),
          p99: document.getElementById('p99').textContent, problem: document.getElementById('problem').hidden};
})()"""


# Read once, after the console has been checked: reading pixels back makes Chromium log a performance warning.
INKED = """[...document.querySelectorAll('canvas')].map(c => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
  return n;
})"""


def traffic(seconds: float) -> None:
    stop = time.monotonic() + seconds
    with psycopg.connect(proxy_dsn(), autocommit=True) as c:
        while time.monotonic() < stop:
            c.execute("SELECT 1").fetchall()
            try:
                c.execute("SELECT 1/0")
            except psycopg.errors.DivisionByZero:
                pass
            time.sleep(0.01)


def main() -> None:
    def assets() -> None:
        status, h, body = get("/", {"Accept-Encoding": "gzip"})
        expect(status == 200 and h.get("content-type", "").startswith("text/html"), f"/ {status} {h}")
        expect(h.get("content-encoding") == "gzip" and b"<canvas" in gzip.decompress(body), "/ not gzip-compressed")
        etag = h.get("etag")
        expect(etag is not None, "no ETag on /")
        status, _, body = get("/", {"If-None-Match": etag, "Accept-Encoding": "gzip"})
        expect(status == 304 and body == b"", f"revalidation gave {status}")
        for path, kind in (("/assets/dashboard.js", "text/javascript"), ("/assets/dashboard.css", "text/css")):
            status, h, _ = get(path)
            expect(status == 200 and h.get("content-type", "").startswith(kind), f"{path}: {status} {h.get('content-type')}")
        html = gzip.decompress(get("/", {"Accept-Encoding": "gzip"})[2]).decode()
        expect(not re.search(r'(src|href)="(https?:)?//', html), "the page links outside pgswift")
    R.run("assets_compressed_and_etagged", assets)

    load = threading.Thread(target=traffic, args=(5.0,))
    load.start()
    tools = DevTools()
    try:
        tools.call("Runtime.enable")
        tools.call("Log.enable")
        tools.call("Page.enable")
        tools.call("Emulation.setDeviceMetricsOverride", width=1400, height=1000, deviceScaleFactor=1, mobile=False)
        tools.call("Page.navigate", url=STATUS_URL + "/")
        deadline = time.monotonic() + 30
        state = {}
        while time.monotonic() < deadline:
            state = tools.evaluate(PAGE_STATE) or {}
            if state.get("updates", 0) >= 4 and not load.is_alive():
                break
            time.sleep(0.5)
        load.join()
        # Two more refreshes with no traffic: the page and a scrape then agree exactly.
        start = state.get("updates", 0)
        while time.monotonic() < deadline + 10 and state.get("updates", 0) < start + 2:
            time.sleep(0.5)
            state = tools.evaluate(PAGE_STATE) or {}
        scraped = metric_totals()

        def loads_cleanly() -> None:
            expect(state.get("updates", 0) >= 4, f"the page refreshed {state.get('updates')} times")
            expect(state.get("problem") is True, "the page shows a refresh problem")
            outside = [u for u in state.get("resources", []) if not u.startswith(STATUS_URL)]
            expect(not outside, f"resources from elsewhere: {outside}")
            expect(not tools.problems(), f"console: {tools.problems()}")
        R.run("loads_without_console_errors", loads_cleanly)

        def charts() -> None:
            inked = tools.evaluate(INKED) or []
            expect(len(inked) == 3 and all(n > 800 for n in inked), f"inked pixels per chart {inked}")
            expect(state.get("p99") not in ("–", "", None), f"p99 tile {state.get('p99')}")
        R.run("charts_drawn", charts)

        def matches_metrics() -> None:
            shown = state["metric"]
            for name in ("pgswift_queries_total", "pgswift_transactions_total", "pgswift_errors_total", "pgswift_clients_connected",
                         "pgswift_pool_wait_queue_length"):
                expect(shown.get(name) == scraped.get(name, 0), f"{name}: page {shown.get(name)} /metrics {scraped.get(name)}")
            expect(shown["pgswift_queries_total"] > 100 and shown["pgswift_errors_total"] > 50, f"too little traffic seen: {shown}")
            for pool, fields in scraped["pools"].items():  # type: ignore[union-attr]
                expect(state["pools"].get(pool) == fields, f"pool {pool}: page {state['pools'].get(pool)} /metrics {fields}")
        R.run("numbers_match_metrics", matches_metrics)

        shot = os.environ.get("DASHBOARD_SCREENSHOT")
        if shot:
            png = tools.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
            with open(shot, "wb") as f:
                f.write(base64.b64decode(png))
    finally:
        tools.close()


if __name__ == "__main__":
    main()
    R.exit()
