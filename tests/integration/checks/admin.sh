# Admin console (virtual database pgswift / pgbouncer): logins, every SHOW's columns, rights, grammar, control commands.
# shellcheck shell=bash
# Sourced by run.sh (defines group_admin).  The checks themselves live in
# clients/admin_checks.py; this file picks the proxy each part runs against.
# Parts that change the proxy's state for good (PAUSE, RELOAD, KILL, DISABLE, SET,
# SHUTDOWN) get a proxy process of their own, so a command that is missing or
# broken cannot leave later checks facing a paused or altered pooler.

# Transaction pooling on a pool of 2, so pgbench's 8 clients have to share; logins that
# wait for RESUME or a KILLed database must outlive client_login_timeout (2 s in the base
# config); stats_period = 2 so that averages appear within a check's lifetime.
# ghost_admin is listed but has no auth_file entry (it must be refused).
ADMIN_SETTINGS=(pool_mode=transaction default_pool_size=2 client_login_timeout=30 stats_period=2
                "admin_users=pgswift_admin, ghost_admin" stats_users=pgswift_stats)

# admin_fresh NAME: start a new proxy process with config NAME (ADMIN_SETTINGS); sets ADMIN_PID.
admin_fresh() {
  # shellcheck disable=SC2034  # (run.sh's variable: forget it, so use_proxy starts a new process)
  CURRENT_PROXY=""
  use_proxy "$1" "${ADMIN_SETTINGS[@]}" || return 1
  ADMIN_PID="$(tr -dc 0-9 <"$PROXY_PIDFILE")"
}

group_admin() {
  if admin_fresh admin; then
    # pgbench -S needs its tables; transaction mode initialises them fine (see checks/transaction.sh).
    expect_cmd admin_pgbench_init env PGPASSWORD=bench \
      pgbench -h "$PROXY_HOST" -p "$PROXY_PORT" -U bench -i -s 1 -q pgswift_test
    python_check admin_checks.py console
    python_check admin_checks.py load
    python_check admin_checks.py stats
    python_check admin_checks.py exporter
  fi
  if admin_fresh admin-pause; then python_check admin_checks.py pause; fi
  if admin_fresh admin-reload; then python_check admin_checks.py reload "config=$WORK/admin-reload.ini"; fi
  # PGSWIFT_LOG_STATS: one setting from the environment, for SHOW CONFIG's source column (PgBouncer reads none).
  if RUN_CLEAN_KEEP=PGSWIFT_LOG_STATS PGSWIFT_LOG_STATS=0 admin_fresh admin-commands; then
    python_check admin_checks.py commands "config=$WORK/admin-commands.ini"
  fi
  # PgBouncer 1.18 has no SHUTDOWN WAIT_FOR_CLIENTS (1.23+): the check reports itself skipped.
  if admin_fresh admin-shutdown-clients; then python_check admin_checks.py shutdown_wait_for_clients "pid=$ADMIN_PID"; fi
  if admin_fresh admin-shutdown; then python_check admin_checks.py shutdown_immediate "pid=$ADMIN_PID"; fi
  proxy_stop
}
