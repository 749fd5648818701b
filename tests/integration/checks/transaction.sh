# Transaction and statement pooling: many clients sharing a small pool, and statement mode refusing transactions.
# shellcheck shell=bash
# Sourced by run.sh (defines group_transaction; pgbench_run comes from checks/pgbench.sh).

group_transaction() {
  local conn=(-h "$PROXY_HOST" -p "$PROXY_PORT" -U bench)
  if use_proxy tx-mode pool_mode=transaction default_pool_size=2; then
    expect_cmd tx_pgbench_init env PGPASSWORD=bench pgbench "${conn[@]}" -i -s 1 -q pgswift_test
    # While 8 pgbench clients run, PostgreSQL must never see more than the pool's 2 server connections.
    local peak="$WORK/tx-peak.txt" mode
    : >"$peak"
    ( for _ in $(seq 1 40); do
        psql_super -At -d postgres -c "SELECT count(*) FROM pg_stat_activity WHERE usename = 'bench' AND datname = 'pgswift_test'" >>"$peak" 2>/dev/null
        sleep 0.1
      done ) &
    local sampler=$!
    for mode in simple extended; do
      pgbench_run "tx_pgbench_$mode" "${conn[@]}" -c 8 -j 2 -T "$(( PGBENCH_SECONDS < 5 ? PGBENCH_SECONDS : 5 ))" -M "$mode" pgswift_test
    done
    wait "$sampler" || true
    local max
    max="$(sort -n "$peak" | tail -n1)"
    if [ -n "$max" ] && [ "$max" -le 2 ] && [ "$max" -ge 1 ]; then
      result_ok tx_server_connections_within_pool
    else
      result_fail tx_server_connections_within_pool "peak of $max server connections for a pool of 2 (samples: $(sort -n "$peak" | uniq -c | tr '\n' ' '))"
    fi
    python_check transaction_checks.py transaction
  fi
  if use_proxy stmt-mode pool_mode=statement default_pool_size=2; then
    python_check transaction_checks.py statement
  fi
}
