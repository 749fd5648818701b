// The dashboard's HTML and CSS, served at / by pgswift itself (no CDN: operators' networks are often closed).

enum DashboardPage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pgswift</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/dashboard.css">
<script src="/assets/dashboard.js" defer></script>
</head>
<body>
<header>
  <h1>pgswift</h1>
  <span id="version" class="muted"></span>
  <span id="ready" class="badge">…</span>
  <span class="spacer"></span>
  <span class="muted">window <span id="window">–</span> s · updated <span id="updated">–</span></span>
</header>
<main>
  <section class="tiles">
    <div class="tile"><div class="label">Queries / s</div><div class="value" id="qps">–</div></div>
    <div class="tile"><div class="label">Transactions / s</div><div class="value" id="tps">–</div></div>
    <div class="tile" id="tile-p50"><div class="label">p50 latency</div><div class="value"><span id="p50">–</span> <small>ms</small></div><div class="target">target <span id="t50"></span> ms</div></div>
    <div class="tile" id="tile-p95"><div class="label">p95 latency</div><div class="value"><span id="p95">–</span> <small>ms</small></div><div class="target">target <span id="t95"></span> ms</div></div>
    <div class="tile" id="tile-p99"><div class="label">p99 latency</div><div class="value"><span id="p99">–</span> <small>ms</small></div><div class="target">target <span id="t99"></span> ms</div></div>
    <div class="tile"><div class="label">Clients connected</div><div class="value" data-metric="pgswift_clients_connected">–</div></div>
    <div class="tile"><div class="label">Clients waiting</div><div class="value" data-metric="pgswift_pool_wait_queue_length">–</div></div>
    <div class="tile"><div class="label">Queries (total)</div><div class="value" data-metric="pgswift_queries_total">–</div></div>
    <div class="tile"><div class="label">Transactions (total)</div><div class="value" data-metric="pgswift_transactions_total">–</div></div>
    <div class="tile"><div class="label">Errors (total)</div><div class="value" data-metric="pgswift_errors_total">–</div></div>
  </section>
  <section class="charts">
    <figure><figcaption>Throughput <span class="legend"><i class="c0"></i>queries/s <i class="c1"></i>transactions/s</span></figcaption><canvas id="chart-throughput"></canvas></figure>
    <figure><figcaption>Query latency, ms <span class="legend"><i class="c0"></i>p50 <i class="c1"></i>p95 <i class="c2"></i>p99 <i class="dash"></i>SLA</span></figcaption><canvas id="chart-latency"></canvas></figure>
    <figure><figcaption>Server connections <span class="legend"><i class="c0"></i>in use <i class="c3"></i>pool size <i class="c2"></i>waiting</span></figcaption><canvas id="chart-pool"></canvas></figure>
  </section>
  <section>
    <h2>Pools</h2>
    <table id="pools"><thead><tr><th>database</th><th>user</th><th>clients active</th><th>idle</th><th>waiting</th><th>servers active</th><th>idle</th><th>size</th><th>use</th></tr></thead><tbody></tbody></table>
  </section>
  <section id="nodes-section" hidden>
    <h2>Nodes</h2>
    <table id="nodes"><thead><tr><th>database</th><th>host</th><th>port</th><th>role</th><th>state</th><th>circuit</th><th>lag bytes</th><th>lag s</th><th>servers active</th><th>idle</th><th>routed</th></tr></thead><tbody></tbody></table>
  </section>
  <section id="cache-section" hidden>
    <h2>Result cache</h2>
    <table id="cache"><thead><tr><th>tier</th><th>hit ratio</th><th>hits</th><th>misses</th><th>entries</th><th>bytes</th><th>p50 ms</th><th>p99 ms</th><th>state</th></tr></thead><tbody></tbody></table>
  </section>
  <section class="two">
    <div><h2>Latency by database</h2>
      <table id="databases"><thead><tr><th>database</th><th>queries/s</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>SLA</th></tr></thead><tbody></tbody></table></div>
    <div><h2>Errors by SQLSTATE</h2>
      <table id="errors"><thead><tr><th>database</th><th>SQLSTATE</th><th>origin</th><th>count</th></tr></thead><tbody></tbody></table></div>
  </section>
  <p id="problem" class="problem" hidden></p>
</main>
</body>
</html>
"""#

    static let css = #"""
:root { --bg: #f6f7f9; --card: #fff; --ink: #1d2330; --muted: #6b7383; --line: #e3e6eb;
        --c0: #2f6fdb; --c1: #18a57b; --c2: #e0532f; --c3: #8a93a6; --ok: #18a57b; --bad: #d2372c; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; background: var(--bg); color: var(--ink); }
header { display: flex; align-items: center; gap: 12px; padding: 12px 24px; background: #1d2330; color: #fff; }
header h1 { margin: 0; font-size: 20px; letter-spacing: .5px; }
header .muted { color: #aab2c2; }
.spacer { flex: 1; }
.badge { padding: 2px 10px; border-radius: 10px; background: #555; font-size: 12px; }
.badge.ok { background: var(--ok); } .badge.bad { background: var(--bad); }
main { padding: 16px 24px 32px; max-width: 1400px; margin: 0 auto; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 12px; }
.tile { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.tile .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .4px; }
.tile .value { font-size: 24px; font-weight: 600; font-variant-numeric: tabular-nums; }
.tile .target { color: var(--muted); font-size: 12px; }
.tile.ok { border-top: 3px solid var(--ok); } .tile.bad { border-top: 3px solid var(--bad); }
.tile.bad .value { color: var(--bad); }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(380px, 1fr)); gap: 12px; margin-top: 16px; }
figure { margin: 0; background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
figcaption { font-weight: 600; margin-bottom: 6px; }
canvas { width: 100%; height: 200px; display: block; }
.legend { font-weight: normal; color: var(--muted); font-size: 12px; margin-left: 8px; }
.legend i { display: inline-block; width: 14px; height: 3px; margin: 0 4px 3px 10px; vertical-align: middle; }
.legend .c0 { background: var(--c0); } .legend .c1 { background: var(--c1); } .legend .c2 { background: var(--c2); }
.legend .c3 { background: var(--c3); } .legend .dash { border-top: 2px dashed var(--bad); height: 0; }
h2 { font-size: 15px; margin: 22px 0 8px; }
table { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--line); border-radius: 8px; overflow: hidden; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); font-variant-numeric: tabular-nums; }
th { color: var(--muted); font-weight: 600; font-size: 12px; background: #fafbfc; }
tr:last-child td { border-bottom: 0; }
.bar { height: 8px; background: var(--line); border-radius: 4px; min-width: 80px; position: relative; }
.bar span { position: absolute; left: 0; top: 0; bottom: 0; border-radius: 4px; background: var(--c0); }
.bar.full span { background: var(--bad); }
.two { display: grid; grid-template-columns: repeat(auto-fit, minmax(380px, 1fr)); gap: 12px; }
.yes { color: var(--ok); font-weight: 600; } .no { color: var(--bad); font-weight: 600; }
.problem { margin-top: 16px; padding: 10px 14px; border-radius: 8px; background: #fdecea; color: var(--bad); }
"""#
}
