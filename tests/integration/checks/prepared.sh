# Protocol-level prepared statements in transaction pooling: driver statement caches, pgbench -M prepared, JDBC, raw Parse/Bind/Close/DEALLOCATE, eviction.
# shellcheck shell=bash
# Sourced by run.sh (defines group_prepared; pgbench_run comes from checks/pgbench.sh, jdbc_check from
# checks/more_clients.sh, the Python checks are clients/prepared_checks.py).

# PgBouncer 1.18 passes named statements through to whichever server the client has at the moment.
PREPARED_PGBOUNCER_REASON="1.18 does not track prepared statements across server connections (no max_prepared_statements)"

group_prepared() {
  # A pool of two for eight pgbench clients: statements must follow the clients from server to server.
  if use_proxy prep-tx pool_mode=transaction default_pool_size=2; then
    prepared_pgbench
    pgbouncer_skip prep_jdbc "$PREPARED_PGBOUNCER_REASON" || jdbc_check prep_jdbc transaction
    python_check prepared_checks.py pool2
  fi
  # A pool of one: raw clients take turns on the same server connection.
  if use_proxy prep-tx1 pool_mode=transaction default_pool_size=1; then
    python_check prepared_checks.py pool1
  fi
  # Statements not carried (max_prepared_statements = 0): COPY by Execute must still keep client and server in step.
  if use_proxy prep-untracked pool_mode=transaction default_pool_size=1 max_prepared_statements=0; then
    python_check prepared_checks.py untracked
  fi
  # PgBouncer 1.18 does not know max_prepared_statements; its eviction checks skip themselves.
  local limit=(max_prepared_statements=3)
  if [ "$PROXY_KIND" = pgbouncer ]; then limit=(); fi
  if use_proxy prep-evict pool_mode=transaction default_pool_size=1 "${limit[@]}"; then
    python_check prepared_checks.py evict
  fi
}

# prepared_pgbench: pgbench -M prepared, the built-in TPC-B-like script and select-only (-S), 8 clients.
prepared_pgbench() {
  local conn=(-h "$PROXY_HOST" -p "$PROXY_PORT" -U bench) secs=$(( PGBENCH_SECONDS < 5 ? PGBENCH_SECONDS : 5 ))
  if pgbouncer_skip prep_pgbench_tpcb "$PREPARED_PGBOUNCER_REASON"; then
    pgbouncer_skip prep_pgbench_select "$PREPARED_PGBOUNCER_REASON"
    return 0
  fi
  expect_cmd prep_pgbench_init env PGPASSWORD=bench pgbench "${conn[@]}" -i -s 1 -q pgswift_test
  pgbench_run prep_pgbench_tpcb "${conn[@]}" -c 8 -j 8 -T "$secs" -M prepared pgswift_test
  # More clients than threads: pgbench prepares with a blocking PQprepare, so a thread whose next client waits for a
  # server stalls its other clients, who hold the pool's servers inside their transactions (PgBouncer hangs here).
  # pgswift answers the Parse of a statement PostgreSQL already accepted itself, so no client waits to prepare.
  pgbench_run prep_pgbench_tpcb_shared_threads "${conn[@]}" -c 8 -j 2 -T "$secs" -M prepared pgswift_test
  pgbench_run prep_pgbench_select "${conn[@]}" -c 8 -j 2 -T "$secs" -M prepared -S pgswift_test
}
