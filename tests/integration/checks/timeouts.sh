# Client timeouts (query, idle transaction, transaction, client idle) and server_check_query/server_check_delay.
# shellcheck shell=bash
# Sourced by run.sh (defines group_timeouts; the checks are clients/timeout_checks.py, one part per config).

# Every limit is 2 s (the sweep runs once a second, so one fires 2-3 s after the last activity); each part gets a proxy
# of its own so that one limit never cuts short a check of another.  query_wait_timeout: a client wrongly
# left waiting for a server fails within seconds instead of stalling the group.
TO_SETTINGS=(pool_mode=transaction default_pool_size=8 query_wait_timeout=10)
TO_CHECK_QUERY="server_check_query=SELECT it_server_check()"

group_timeouts() {
  if use_proxy to-query "${TO_SETTINGS[@]}" query_timeout=2; then
    python_check timeout_checks.py query
  fi
  # Session mode with a pool of one: an idle session client keeps the server, so another one waits for it.
  # client_login_timeout raised: pgswift lends a session-mode server at login, so the wait may be a login's.
  if use_proxy to-queued "${TO_SETTINGS[@]}" pool_mode=session default_pool_size=1 query_timeout=2 \
       client_login_timeout=20; then
    python_check timeout_checks.py queued
  fi
  # query_timeout off here: PgBouncer applies it (from the client's last request) to a client idle in a
  # transaction too, and checks it first, so with both at 2 s it would say "query timeout".
  if use_proxy to-idle-tx "${TO_SETTINGS[@]}" idle_transaction_timeout=2 query_timeout=0; then
    python_check timeout_checks.py idle_tx
  fi
  # PgBouncer 1.18 has no transaction_timeout (an unknown key): no proxy for it, the part reports skips.
  if [ "$PROXY_KIND" = pgbouncer ] || use_proxy to-transaction "${TO_SETTINGS[@]}" transaction_timeout=2; then
    python_check timeout_checks.py transaction
  fi
  # admin_users: the console session is swept too (pgswift_admin is in run.sh's userlist).
  if use_proxy to-idle "${TO_SETTINGS[@]}" client_idle_timeout=2 query_timeout=0 admin_users=pgswift_admin; then
    python_check timeout_checks.py idle
  fi
  if use_proxy to-session "${TO_SETTINGS[@]}" pool_mode=session default_pool_size=1 client_idle_timeout=2; then
    python_check timeout_checks.py session
  fi
  # Server checks on a pool of one, so every query goes to the one server under test.
  if use_proxy to-check-default "${TO_SETTINGS[@]}" default_pool_size=1 server_check_delay=0; then
    python_check timeout_checks.py check_default
  fi
  if use_proxy to-check-query "${TO_SETTINGS[@]}" default_pool_size=1 server_check_delay=0 "$TO_CHECK_QUERY"; then
    python_check timeout_checks.py check_query
  fi
  if use_proxy to-check-delay "${TO_SETTINGS[@]}" default_pool_size=1 server_check_delay=1 "$TO_CHECK_QUERY"; then
    python_check timeout_checks.py check_delay
  fi
  if to_proxy_checks_off; then
    python_check timeout_checks.py check_off
  fi
  proxy_stop
}

# to_proxy_checks_off: a pool of one with server_check_query empty (checks off) and server_check_delay = 0.
to_proxy_checks_off() {
  write_config to-check-off "${TO_SETTINGS[@]}" default_pool_size=1 server_check_delay=0
  # write_config leaves out empty values; here the empty value is the point (the settings section comes last).
  echo "server_check_query =" >>"$WORK/to-check-off.ini"
  # shellcheck disable=SC2034  # (run.sh's variable, read by use_proxy; proxy_start has already cleared it)
  if proxy_start to-check-off; then CURRENT_PROXY=to-check-off; return 0; fi
  result_fail proxy_start_to-check-off "proxy did not start with $WORK/to-check-off.ini (log $WORK/logs/proxy-to-check-off.log)"
  return 1
}
