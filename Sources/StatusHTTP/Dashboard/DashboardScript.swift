// The dashboard's script: polls /metrics and /api/v1/performance/metrics, keeps a few minutes of history, draws it on canvases.

enum DashboardScript {
    static let javascript = #"""
"use strict";
const REFRESH_MS = 2000;
const HISTORY = 150;
const COLORS = ["#2f6fdb", "#18a57b", "#e0532f", "#8a93a6"];
const history = { t: [], qps: [], tps: [], p50: [], p95: [], p99: [], active: [], size: [], waiting: [] };
let previous = null;
let targets = null;

function parseMetrics(text) {
  const out = [];
  for (const line of text.split("\n")) {
    if (!line || line[0] === "#") continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) continue;
    const labels = {};
    if (m[2]) {
      for (const l of m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
        labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
      }
    }
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

function total(samples, name, keep) {
  return samples.filter((s) => s.name === name && (!keep || keep(s.labels))).reduce((a, s) => a + s.value, 0);
}

function fmt(v, digits) {
  if (!isFinite(v)) return "–";
  if (digits === undefined) return Math.round(v).toLocaleString("en-US");
  return v.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function setText(id, text) {
  const el = document.getElementById(id);
  if (el) el.textContent = text;
}

function push(key, value) {
  history[key].push(value);
  if (history[key].length > HISTORY) history[key].shift();
}

function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  row.appendChild(td);
  return td;
}

function fillTable(id, rows) {
  const body = document.querySelector("#" + id + " tbody");
  body.replaceChildren();
  if (rows.length === 0) {
    const tr = document.createElement("tr");
    const td = cell(tr, "none yet");
    td.colSpan = document.querySelectorAll("#" + id + " th").length;
    td.className = "muted";
    body.appendChild(tr);
    return;
  }
  for (const r of rows) {
    const tr = document.createElement("tr");
    r(tr);
    body.appendChild(tr);
  }
}

function niceCeiling(v) {
  if (v <= 0) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

// series: [{values, color}]; lines: [{value, label}] drawn dashed when they fit the scale.
function drawChart(canvas, series, lines, digits) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const left = 52, right = 10, top = 10, bottom = 22;
  const n = history.t.length;
  ctx.font = "11px system-ui, 'DejaVu Sans', sans-serif";
  ctx.fillStyle = "#6b7383";
  if (n < 2) {
    ctx.fillText("collecting data…", left, top + 20);
    return;
  }
  let max = 0;
  for (const s of series) for (const v of s.values) if (v > max) max = v;
  const shown = (lines || []).filter((l) => l.value <= Math.max(max * 2, 1e-9));
  for (const l of shown) if (l.value > max) max = l.value;
  // Four grid steps of a round size (integers stay integers).
  const step = niceCeiling((max * 1.1) / 4);
  max = digits === 0 ? Math.max(4, Math.ceil(step) * 4) : step * 4;
  const x = (i) => left + ((w - left - right) * i) / (HISTORY - 1) + (w - left - right) * (HISTORY - n) / (HISTORY - 1);
  const y = (v) => top + (h - top - bottom) * (1 - v / max);
  ctx.strokeStyle = "#e3e6eb";
  ctx.lineWidth = 1;
  for (let g = 0; g <= 4; g++) {
    const v = (max * g) / 4;
    ctx.beginPath();
    ctx.moveTo(left, y(v));
    ctx.lineTo(w - right, y(v));
    ctx.stroke();
    ctx.fillText(fmt(v, digits), 4, y(v) + 4);
  }
  const firstText = new Date(history.t[0]).toLocaleTimeString(), lastText = new Date(history.t[n - 1]).toLocaleTimeString();
  const lastX = w - right - ctx.measureText(lastText).width;
  ctx.fillText(lastText, lastX, h - 6);
  if (x(0) + ctx.measureText(firstText).width + 16 < lastX) ctx.fillText(firstText, x(0), h - 6);
  ctx.setLineDash([6, 4]);
  ctx.strokeStyle = "#d2372c";
  for (const l of shown) {
    ctx.beginPath();
    ctx.moveTo(left, y(l.value));
    ctx.lineTo(w - right, y(l.value));
    ctx.stroke();
    ctx.fillStyle = "#d2372c";
    ctx.fillText(l.label, w - right - ctx.measureText(l.label).width - 2, y(l.value) - 3);
  }
  ctx.setLineDash([]);
  const hidden = (lines || []).filter((l) => !shown.includes(l));
  if (hidden.length) {
    ctx.fillStyle = "#6b7383";
    const note = "SLA " + hidden.map((l) => l.label).join(", ") + " above scale";
    ctx.fillText(note, w - right - ctx.measureText(note).width - 2, top + 10);
  }
  ctx.lineWidth = 2;
  for (const s of series) {
    ctx.strokeStyle = s.color;
    ctx.beginPath();
    s.values.forEach((v, i) => (i === 0 ? ctx.moveTo(x(i), y(v)) : ctx.lineTo(x(i), y(v))));
    ctx.stroke();
  }
}

function render(perf, samples, now) {
  targets = perf.targets_ms;
  const queries = total(samples, "pgswift_queries_total");
  const xacts = total(samples, "pgswift_transactions_total");
  let qps = perf.overall.queries_per_second, tps = NaN;
  if (previous) {
    const dt = (now - previous.time) / 1000;
    if (dt > 0) {
      qps = Math.max(0, (queries - previous.queries) / dt);
      tps = Math.max(0, (xacts - previous.xacts) / dt);
    }
  }
  previous = { time: now, queries, xacts };
  setText("qps", fmt(qps, 1));
  setText("tps", isFinite(tps) ? fmt(tps, 1) : "–");
  for (const p of ["p50", "p95", "p99"]) {
    setText(p, fmt(perf.overall[p + "_ms"], 2));
    setText("t" + p.slice(1), fmt(targets[p], 0));
    const tile = document.getElementById("tile-" + p);
    tile.classList.toggle("ok", perf.overall.sla[p]);
    tile.classList.toggle("bad", !perf.overall.sla[p]);
  }
  setText("window", fmt(perf.window_seconds));
  for (const el of document.querySelectorAll("[data-metric]")) {
    const v = total(samples, el.dataset.metric);
    el.dataset.value = String(v);
    el.textContent = fmt(v);
  }
  const info = samples.find((s) => s.name === "pgswift_build_info");
  if (info) setText("version", "v" + info.labels.version);

  const pools = new Map();
  for (const s of samples) {
    if (!s.name.startsWith("pgswift_pool_")) continue;
    const key = s.labels.database + "\u0000" + s.labels.user;
    if (!pools.has(key)) pools.set(key, { database: s.labels.database, user: s.labels.user, clients: {}, servers: {}, size: 0, waiting: 0 });
    const p = pools.get(key);
    if (s.name === "pgswift_pool_clients") p.clients[s.labels.state] = s.value;
    else if (s.name === "pgswift_pool_servers") p.servers[s.labels.state] = s.value;
    else if (s.name === "pgswift_pool_size") p.size = s.value;
    else if (s.name === "pgswift_pool_wait_queue_length") p.waiting = s.value;
  }
  const poolList = [...pools.values()].sort((a, b) => (a.database + a.user).localeCompare(b.database + b.user));
  fillTable("pools", poolList.map((p) => (tr) => {
    tr.dataset.pool = p.database + "/" + p.user;
    cell(tr, p.database);
    cell(tr, p.user);
    cell(tr, fmt(p.clients.active || 0)).dataset.field = "clients_active";
    cell(tr, fmt(p.clients.idle || 0)).dataset.field = "clients_idle";
    cell(tr, fmt(p.waiting)).dataset.field = "waiting";
    cell(tr, fmt(p.servers.active || 0)).dataset.field = "servers_active";
    cell(tr, fmt(p.servers.idle || 0)).dataset.field = "servers_idle";
    cell(tr, fmt(p.size)).dataset.field = "size";
    const use = p.size > 0 ? (p.servers.active || 0) / p.size : 0;
    const td = cell(tr, "");
    const bar = document.createElement("div");
    bar.className = use >= 1 ? "bar full" : "bar";
    bar.title = fmt(use * 100) + "%";
    const fill = document.createElement("span");
    fill.style.width = Math.min(100, use * 100) + "%";
    bar.appendChild(fill);
    td.appendChild(bar);
  }));
  // Hosts of entries with several hosts (SHOW NODES), from the pgswift_node_* series: shown only when there are any.
  const nodes = new Map();
  for (const s of samples) {
    if (!s.name.startsWith("pgswift_node_")) continue;
    const key = s.labels.database + "\u0000" + s.labels.host + "\u0000" + s.labels.port;
    if (!nodes.has(key)) nodes.set(key, { database: s.labels.database, host: s.labels.host, port: s.labels.port, servers: {} });
    const n = nodes.get(key);
    if (s.name === "pgswift_node_role" && s.value === 1) n.role = s.labels.role;
    else if (s.name === "pgswift_node_state" && s.value === 1) n.state = s.labels.state;
    else if (s.name === "pgswift_node_circuit" && s.value === 1) n.circuit = s.labels.circuit;
    else if (s.name === "pgswift_node_lag_bytes") n.lagBytes = s.value;
    else if (s.name === "pgswift_node_lag_seconds") n.lagSeconds = s.value;
    else if (s.name === "pgswift_node_servers") n.servers[s.labels.state] = s.value;
    else if (s.name === "pgswift_node_routed") n.routed = s.value;
  }
  document.getElementById("nodes-section").hidden = nodes.size === 0;
  fillTable("nodes", [...nodes.values()].map((n) => (tr) => {
    tr.dataset.node = n.database + "/" + n.host + ":" + n.port;
    cell(tr, n.database);
    cell(tr, n.host);
    cell(tr, n.port);
    cell(tr, n.role || "unknown").dataset.field = "role";
    cell(tr, n.state || "", n.state === "up" ? "yes" : (n.state === "down" || n.state === "stale" ? "no" : "")).dataset.field = "state";
    cell(tr, n.circuit || "", n.circuit === "closed" ? "" : "no").dataset.field = "circuit";
    cell(tr, n.lagBytes === undefined ? "" : fmt(n.lagBytes)).dataset.field = "lag_bytes";
    cell(tr, n.lagSeconds === undefined ? "" : fmt(n.lagSeconds, 3));
    cell(tr, fmt(n.servers.active || 0));
    cell(tr, fmt(n.servers.idle || 0));
    cell(tr, fmt(n.routed || 0)).dataset.field = "routed";
  }));
  // The result cache, one row per tier (l1, l2 Redis, l3 Memcached), from the pgswift_cache_* series: shown only with
  // the cache on. The hit ratio is over the whole run (the counters' totals).
  const tiers = new Map();
  for (const s of samples) {
    if (!s.name.startsWith("pgswift_cache_") || !s.labels.tier) continue;
    if (!tiers.has(s.labels.tier)) tiers.set(s.labels.tier, { tier: s.labels.tier });
    const t = tiers.get(s.labels.tier);
    if (s.name === "pgswift_cache_lookup_seconds") t["q" + s.labels.quantile] = s.value * 1000;
    else t[s.name.slice("pgswift_cache_".length)] = s.value;
  }
  document.getElementById("cache-section").hidden = tiers.size === 0;
  fillTable("cache", [...tiers.values()].sort((a, b) => a.tier.localeCompare(b.tier)).map((t) => (tr) => {
    tr.dataset.tier = t.tier;
    const hits = t.hits_total || 0, misses = t.misses_total || 0;
    cell(tr, t.tier);
    cell(tr, hits + misses > 0 ? fmt(hits / (hits + misses), 3) : "–").dataset.field = "hit_ratio";
    cell(tr, fmt(hits));
    cell(tr, fmt(misses));
    cell(tr, t.entries === undefined ? "" : fmt(t.entries));
    cell(tr, t.bytes === undefined ? "" : fmt(t.bytes));
    cell(tr, t["q0.5"] === undefined ? "–" : fmt(t["q0.5"], 3));
    cell(tr, t["q0.99"] === undefined ? "–" : fmt(t["q0.99"], 3));
    cell(tr, t.tier_up === 0 ? "off" : "on", t.tier_up === 0 ? "no" : "yes").dataset.field = "state";
  }));
  fillTable("databases", perf.databases.map((d) => (tr) => {
    cell(tr, d.name);
    cell(tr, fmt(d.latency.queries_per_second, 1));
    cell(tr, fmt(d.latency.p50_ms, 2));
    cell(tr, fmt(d.latency.p95_ms, 2));
    cell(tr, fmt(d.latency.p99_ms, 2));
    cell(tr, d.latency.sla.compliant ? "met" : "missed", d.latency.sla.compliant ? "yes" : "no");
  }));
  const errors = samples.filter((s) => s.name === "pgswift_errors_total" && s.value > 0)
    .sort((a, b) => b.value - a.value);
  fillTable("errors", errors.map((e) => (tr) => {
    cell(tr, e.labels.database);
    cell(tr, e.labels.sqlstate);
    cell(tr, e.labels.origin);
    cell(tr, fmt(e.value));
  }));

  history.t.push(now);
  if (history.t.length > HISTORY) history.t.shift();
  push("qps", qps);
  push("tps", isFinite(tps) ? tps : 0);
  push("p50", perf.overall.p50_ms);
  push("p95", perf.overall.p95_ms);
  push("p99", perf.overall.p99_ms);
  push("active", total(samples, "pgswift_pool_servers", (l) => l.state === "active"));
  push("size", total(samples, "pgswift_pool_size"));
  push("waiting", total(samples, "pgswift_pool_wait_queue_length"));
  draw();
}

function draw() {
  if (!targets) return;
  drawChart(document.getElementById("chart-throughput"),
    [{ values: history.qps, color: COLORS[0] }, { values: history.tps, color: COLORS[1] }], [], 0);
  drawChart(document.getElementById("chart-latency"),
    [{ values: history.p50, color: COLORS[0] }, { values: history.p95, color: COLORS[1] }, { values: history.p99, color: COLORS[2] }],
    [{ value: targets.p50, label: "p50 " + targets.p50 + " ms" }, { value: targets.p95, label: "p95 " + targets.p95 + " ms" },
     { value: targets.p99, label: "p99 " + targets.p99 + " ms" }], 2);
  drawChart(document.getElementById("chart-pool"),
    [{ values: history.active, color: COLORS[0] }, { values: history.size, color: COLORS[3] }, { values: history.waiting, color: COLORS[2] }], [], 0);
}

// On its own timer: with a database down, /ready can take as long as server_connect_timeout, and the charts must
// not slow down with it.
async function readiness() {
  const badge = document.getElementById("ready");
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 4000);
  try {
    const r = await fetch("/ready", { cache: "no-store", signal: abort.signal });
    const body = await r.json();
    badge.textContent = body.status;
    badge.className = "badge " + (r.ok ? "ok" : "bad");
    badge.title = body.reason || "";
  } catch (e) {
    badge.textContent = abort.signal.aborted ? "no answer" : "unreachable";
    badge.className = "badge bad";
  } finally {
    clearTimeout(timer);
  }
  setTimeout(readiness, REFRESH_MS);
}

async function refresh() {
  const problem = document.getElementById("problem");
  try {
    const [perf, metrics] = await Promise.all([
      fetch("/api/v1/performance/metrics", { cache: "no-store" }),
      fetch("/metrics", { cache: "no-store" }),
    ]);
    if (!perf.ok || !metrics.ok) throw new Error("status port answered " + perf.status + " / " + metrics.status);
    render(await perf.json(), parseMetrics(await metrics.text()), Date.now());
    setText("updated", new Date().toLocaleTimeString());
    problem.hidden = true;
    document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
  } catch (e) {
    problem.textContent = "Could not refresh: " + e.message;
    problem.hidden = false;
  }
  setTimeout(refresh, REFRESH_MS);
}

window.addEventListener("resize", draw);
refresh();
readiness();
"""#
}
