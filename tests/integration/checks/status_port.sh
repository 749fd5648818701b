# The HTTP status port (status_addr, status_port): /health and /ready under curl, with every database up and with one down.
# shellcheck shell=bash
# Sourced by run.sh (defines group_status_port). PgBouncer has no status port.

group_status_port() {
  if pgbouncer_skip status_health "has no HTTP status port"; then return 0; fi
  local sp=$((PROXY_PORT + 9)) d="$WORK/status" p st
  local url="http://127.0.0.1:$sp"
  mkdir -p "$d"
  if use_proxy status status_port="$sp" target_p99_ms=20; then
    p=""
    st="$(curl -s -D "$d/h" -o "$d/health" -w '%{http_code}' "$url/health")"
    [ "$st" = 200 ] && grep -q '"status":"ok"' "$d/health" || p+=" /health: $st $(head -c 100 "$d/health");"
    tr -d '\r' <"$d/h" | grep -qi '^cache-control: no-store' || p+=" no Cache-Control: no-store;"
    # HEAD, as load balancers often probe.
    st="$(curl -s -I -o /dev/null -w '%{http_code}' "$url/health")"
    [ "$st" = 200 ] || p+=" HEAD /health: $st;"
    if [ -z "$p" ]; then result_ok status_health; else result_fail status_health "$p"; fi

    p=""
    st="$(curl -s -o "$d/ready" -w '%{http_code}' "$url/ready")"
    [ "$st" = 200 ] || p+=" /ready with PostgreSQL up: $st $(head -c 300 "$d/ready");"
    "$PY" - "$d/ready" 2>>"$WORK/logs/status.log" <<'PYEOF' || p+=" /ready body: $(head -c 300 "$d/ready");"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["status"] == "ready"
assert sorted(x["name"] for x in d["databases"]) == ["bench", "pgswift_test", "postgres"], d
assert all(x["reachable"] for x in d["databases"])
PYEOF
    # Clients are served as before, with the status port on.
    [ "$(proxy_psql -c 'SELECT 41 + 1')" = 42 ] || p+=" pooling broke with the status port on;"
    if [ -z "$p" ]; then result_ok status_ready; else result_fail status_ready "$p"; fi

    # Latency over the window: 40 quick queries and 3 of 100 ms; p99 then misses its 20 ms target, p50 does not.
    p=""
    for _ in $(seq 1 40); do proxy_psql -c 'SELECT 1' >/dev/null; done
    for _ in 1 2 3; do proxy_psql -c 'SELECT pg_sleep(0.1)' >/dev/null; done
    st="$(curl -s -o "$d/perf" -w '%{http_code}' "$url/api/v1/performance/metrics")"
    [ "$st" = 200 ] || p+=" status $st;"
    "$PY" - "$d/perf" 2>>"$WORK/logs/status.log" <<'PYEOF' || p+=" report: $(head -c 400 "$d/perf");"
import json, sys
d = json.load(open(sys.argv[1]))
o = d["overall"]
assert d["targets_ms"] == {"p50": 100, "p95": 300, "p99": 20}, d["targets_ms"]
assert o["queries"] >= 43, o
assert 0 < o["p50_ms"] < 50 and o["p99_ms"] >= 90, o
assert o["sla"] == {"p50": True, "p95": True, "p99": False, "compliant": False}, o["sla"]
db = {x["name"]: x["latency"] for x in d["databases"]}
assert db["pgswift_test"]["queries"] >= 43, db
assert o["queries_per_second"] > 0
pool = [x for x in d["pools"] if x["database"] == "pgswift_test"]
assert pool and pool[0]["size"] == 20 and 0 <= pool[0]["utilisation"] <= 1, d["pools"]
PYEOF
    if [ -z "$p" ]; then result_ok status_performance; else result_fail status_performance "$p"; fi
  fi

  # TARGET_P50_MS in the environment wins over the file's (default) target.
  if TARGET_P50_MS=0.001 use_proxy status-env status_port="$sp"; then
    p=""
    for _ in $(seq 1 5); do proxy_psql -c 'SELECT 1' >/dev/null; done
    curl -s -o "$d/perf-env" "$url/api/v1/performance/metrics"
    "$PY" - "$d/perf-env" 2>>"$WORK/logs/status.log" <<'PYEOF' || p+=" report: $(head -c 300 "$d/perf-env");"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["targets_ms"]["p50"] == 0.001 and d["overall"]["sla"]["p50"] is False, d
PYEOF
    if [ -z "$p" ]; then result_ok status_targets_from_environment; else result_fail status_targets_from_environment "$p"; fi
  fi

  # One database whose server is not there: 503, naming it and why; /health still 200.
  local dead=$((PROXY_PORT + 11))
  if use_proxy status-down status_port="$sp" "db:ghost=host=127.0.0.1 port=$dead dbname=ghost"; then
    p=""
    st="$(curl -s -o "$d/down" -w '%{http_code}' "$url/ready")"
    [ "$st" = 503 ] || p+=" /ready with a database down: $st;"
    grep -q "database ghost: primary 127.0.0.1:$dead is not reachable" "$d/down" || p+=" reason: $(head -c 300 "$d/down");"
    st="$(curl -s -o /dev/null -w '%{http_code}' "$url/health")"
    [ "$st" = 200 ] || p+=" /health with a database down: $st;"
    if [ -z "$p" ]; then result_ok status_ready_database_down; else result_fail status_ready_database_down "$p"; fi
  fi

  # Shutting down with a client still busy: /ready turns 503 (load balancers stop sending clients) while /health
  # stays 200, and the client's query still completes.
  if use_proxy status-drain status_port="$sp" shutdown_timeout=10; then
    p=""
    local busy="$d/busy.out" bpid
    proxy_psql -c 'SELECT pg_sleep(2), 7' >"$busy" 2>&1 &
    bpid=$!
    sleep 0.7
    kill -TERM "$(cat "$PROXY_PIDFILE")"
    sleep 0.3
    st="$(curl -s -o "$d/drain" -w '%{http_code}' "$url/ready")"
    [ "$st" = 503 ] && grep -q 'shutting down' "$d/drain" || p+=" /ready while draining: $st $(head -c 200 "$d/drain");"
    st="$(curl -s -o /dev/null -w '%{http_code}' "$url/health")"
    [ "$st" = 200 ] || p+=" /health while draining: $st;"
    wait "$bpid" || p+=" the busy client failed: $(cat "$busy");"
    grep -q '|7$' "$busy" || p+=" the busy client got: $(cat "$busy");"
    CURRENT_PROXY=""
    wait_tcp_free "$PROXY_HOST" "$PROXY_PORT" 15 || p+=" the proxy did not exit after the drain;"
    if [ -z "$p" ]; then result_ok status_ready_while_draining; else result_fail status_ready_while_draining "$p"; fi
  fi

  # A bad ResponseOptimizer variable: the status port stays closed and the log says which and why; pooling goes on.
  if RESPONSE_COMPRESSION_THRESHOLD=lots use_proxy status-badenv status_port="$sp"; then
    p=""
    if curl -s -o /dev/null "$url/health"; then p+=" the status port answered;"; fi
    grep -q 'status port not started: RESPONSE_COMPRESSION_THRESHOLD=lots: expected' "$WORK/logs/proxy-status-badenv.log" ||
      p+=" log: $(grep -i 'status' "$WORK/logs/proxy-status-badenv.log" | head -n 3);"
    [ "$(proxy_psql -c 'SELECT 1')" = 1 ] || p+=" pooling stopped;"
    if [ -z "$p" ]; then result_ok status_bad_environment; else result_fail status_bad_environment "$p"; fi
  fi

  # Off by default: nothing listens on the port.
  if use_proxy status-off; then
    if curl -s -o /dev/null "$url/health"; then result_fail status_off_by_default "something answered on $url"
    else result_ok status_off_by_default; fi
  fi
}
