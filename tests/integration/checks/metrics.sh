# The status port's /metrics (checked by promtool and against the traffic), tuning advice, and dashboard (headless Chromium).
# shellcheck shell=bash
# Sourced by run.sh (defines group_metrics; the checks are clients/metrics_checks.py). PgBouncer has no status port.

group_metrics() {
  if pgbouncer_skip metrics "has no HTTP status port"; then return 0; fi
  local sp=$((PROXY_PORT + 9))
  if ! command -v promtool >/dev/null; then result_fail metrics_promtool "promtool not found (Debian package prometheus)"; return 0; fi
  if use_proxy metrics status_port="$sp" pool_mode=transaction; then
    STATUS_URL="http://127.0.0.1:$sp" python_check metrics_checks.py metrics
    if command -v prometheus >/dev/null; then
      STATUS_URL="http://127.0.0.1:$sp" python_check metrics_checks.py prometheus
    else
      result_fail metrics_prometheus "prometheus not found (Debian package prometheus)"
    fi
    if command -v chromium >/dev/null; then
      STATUS_URL="http://127.0.0.1:$sp" CHROMIUM_PORT=$((PROXY_PORT + 13)) DASHBOARD_SCREENSHOT="${DASHBOARD_SCREENSHOT:-}" \
        python_check dashboard_check.py
    else
      result_fail dashboard_chromium "chromium not found (Debian package chromium)"
    fi
  fi
  if use_proxy metrics-waits status_port="$sp" pool_mode=transaction default_pool_size=1 query_wait_timeout=1; then
    STATUS_URL="http://127.0.0.1:$sp" python_check metrics_checks.py waits
  fi
  if use_proxy metrics-tune status_port="$sp" pool_mode=transaction default_pool_size=2 stats_period=1 status_admin_token=s3cret admin_users=pgswift_admin \
       target_p99_ms=50 query_wait_timeout=20; then
    STATUS_URL="http://127.0.0.1:$sp" python_check metrics_checks.py tune
  fi
}
