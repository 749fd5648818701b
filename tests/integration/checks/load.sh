# Load: 1,000 concurrent clients over a pool of 10, and cancel storms, all in transaction mode.
# shellcheck shell=bash
# Sourced by run.sh (defines group_load; the checks are clients/load_checks.py, one part per run).

# max_client_conn leaves room above the 1,000 clients for the setup client and the console (SHOW POOLS);
# clients wait for one of 10 servers, so query_wait_timeout (and the login timeout, as 1,000 SCRAM logins
# arrive at once) are generous, making a slow proxy fail on its results rather than on a timeout.
LOAD_SETTINGS=(pool_mode=transaction default_pool_size=10 max_client_conn=1100 query_wait_timeout=60
               client_login_timeout=30 admin_users=pgswift_admin)

# load_fd_limit: the proxy process may open a descriptor for every client plus its servers
# (start_daemon in scripts/lib/common.sh raises the soft limit to the hard one).
load_fd_limit() {
  local pid limit
  pid="$(tr -dc 0-9 <"$PROXY_PIDFILE")"
  limit="$(awk '/^Max open files/ { print $4 }' "/proc/$pid/limits" 2>/dev/null)"
  echo "proxy pid $pid: open files limit ${limit:-unknown}" >&2
  if [ "$limit" = unlimited ] || { [ -n "$limit" ] && [ "$limit" -ge 1200 ]; }; then
    result_ok load_proxy_fd_limit
  else
    result_fail load_proxy_fd_limit "the proxy may open ${limit:-?} files, too few for 1,100 clients"
  fi
}

group_load() {
  if use_proxy load "${LOAD_SETTINGS[@]}"; then
    load_fd_limit
    python_check load_checks.py clients 10
    python_check load_checks.py queued 10
    python_check load_checks.py handover 10
    python_check load_checks.py storm 10
  fi
  # A pool larger than the storm's 58 clients: every cancel meets a running query (PgBouncer 1.18 passes this).
  if use_proxy load-storm "${LOAD_SETTINGS[@]}" default_pool_size=60; then
    python_check load_checks.py storm 60
  fi
  proxy_stop
}
