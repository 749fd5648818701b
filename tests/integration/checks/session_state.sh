# Session state in transaction pooling: SET and friends follow their client, LISTEN/locks/cursors/temp tables/SQL PREPARE pin it.
# shellcheck shell=bash
# Sourced by run.sh (defines group_session_state; the checks are clients/session_state_checks.py).

# A pool of one makes clients take turns on the same server connection in a known order; a pool of two lets a
# pinned client keep one server while the others are served by the second.  query_wait_timeout: a client
# wrongly left waiting for a server gets an error within seconds instead of stalling the group.
# pgswift_admin is in run.sh's userlist (the admin group's console login); SHOW CLIENTS needs it.
SS_SETTINGS=(pool_mode=transaction query_wait_timeout=20 admin_users=pgswift_admin)

group_session_state() {
  if use_proxy ss-pool1 "${SS_SETTINGS[@]}" default_pool_size=1; then
    python_check session_state_checks.py pool1
  fi
  # Startup parameters on a proxy (and server) of their own: a startup value wrongly left on the server
  # would otherwise turn up as a failure of some unrelated check.
  if use_proxy ss-startup "${SS_SETTINGS[@]}" default_pool_size=1; then
    python_check session_state_checks.py startup
  fi
  if ss_proxy_without_reset; then
    python_check session_state_checks.py noreset
  fi
  if use_proxy ss-pool2 "${SS_SETTINGS[@]}" default_pool_size=2; then
    python_check session_state_checks.py pool2
    ss_no_server_leak 2
  fi
  # The welcome's ParameterStatus against PostgreSQL's own: outside session mode the proxy answers it alone.
  local mode
  for mode in transaction session; do
    if use_proxy "ss-reported-$mode" "${SS_SETTINGS[@]}" pool_mode="$mode" default_pool_size=2; then
      python_check session_state_checks.py reported "$mode"
    fi
  done
  # pgswift's own key: PgBouncer would refuse the config, so it gets the check's skip instead.
  if [ "$PROXY_KIND" = pgswift ]; then
    if use_proxy ss-refuse "${SS_SETTINGS[@]}" default_pool_size=2 session_pinning=refuse; then
      python_check session_state_checks.py refuse
    fi
  fi
  proxy_stop
}

# ss_proxy_without_reset: a pool of one with server_reset_query empty, so a pinned client's server must be closed.
ss_proxy_without_reset() {
  write_config ss-noreset "${SS_SETTINGS[@]}" default_pool_size=1
  # write_config leaves out empty values; here the empty value is the point (the settings section comes last).
  echo "server_reset_query =" >>"$WORK/ss-noreset.ini"
  # shellcheck disable=SC2034  # (run.sh's variable, read by use_proxy; proxy_start has already cleared it)
  if proxy_start ss-noreset; then CURRENT_PROXY=ss-noreset; return 0; fi
  result_fail proxy_start_ss-noreset "proxy did not start with $WORK/ss-noreset.ini (log $WORK/logs/proxy-ss-noreset.log)"
  return 1
}

# ss_no_server_leak POOL_SIZE: after the checks, PostgreSQL holds at most POOL_SIZE backends for the test user,
# none of them inside a transaction.  Backends of the proxies stopped earlier may take a moment to exit.
ss_no_server_leak() {
  local size="$1" counts n idle_tx
  for _ in $(seq 1 50); do
    counts="$(psql_super -d postgres -At -F ' ' -c "SELECT count(*), count(*) FILTER (WHERE state LIKE 'idle in transaction%')
      FROM pg_stat_activity WHERE usename = 'scram_user' AND backend_type = 'client backend'")"
    read -r n idle_tx <<<"$counts"
    if [ "$n" -le "$size" ] && [ "$idle_tx" = 0 ]; then break; fi
    sleep 0.2
  done
  if [ "$n" -le "$size" ] && [ "$idle_tx" = 0 ]; then
    result_ok ss_no_server_leak
  else
    result_fail ss_no_server_leak "$n backends for scram_user (pool of $size), $idle_tx idle in transaction: $(
      psql_super -d postgres -At -c "SELECT string_agg(pid || ' ' || state || ' ' || left(query, 40), '; ')
        FROM pg_stat_activity WHERE usename = 'scram_user' AND backend_type = 'client backend'")"
  fi
}
