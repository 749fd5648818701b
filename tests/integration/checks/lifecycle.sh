# Life cycle: reload (SIGHUP), pidfile/logfile, shutdown and pause signals, client/server limits,
# protocol negotiation, max_packet_size, cancel keys, PGSWIFT_* overrides, a stock pgbouncer.ini.
# shellcheck shell=bash
# Sourced by run.sh (defines group_lifecycle).  Most checks start a proxy of their own
# (a fresh process: several of them stop it) and hand its pid, config and log to
# clients/lifecycle_checks.py, which sends the signals and prints the result lines.
#
# Checks PgBouncer 1.18 (Debian 12) cannot pass are skipped for it, each with its reason
# below; the SQLSTATE halves are split off as NAME_sqlstate results in lifecycle_checks.py.

# lc_start NAME [KEY=VALUE]...: start a fresh proxy with config NAME (see write_config);
# sets LC_PID, LC_CONFIG and LC_LOG.  Returns 1 (after a FAIL line) if it did not start.
lc_start() {
  local name="$1"
  shift
  # shellcheck disable=SC2034  # (run.sh's variable: forget it, so use_proxy starts a new process)
  CURRENT_PROXY=""
  use_proxy "$name" "$@" || return 1
  LC_PID="$(tr -dc 0-9 <"$PROXY_PIDFILE")"
  LC_CONFIG="$WORK/$name.ini"
  LC_LOG="$WORK/logs/proxy-$name.log"
}

# lc_py CHECK [KEY=VALUE]...: run one check of lifecycle_checks.py against the proxy lc_start started.
lc_py() {
  local check="$1"
  shift
  python_check lifecycle_checks.py "$check" "pid=$LC_PID" "config=$LC_CONFIG" "log=$LC_LOG" "$@"
}

lc_env_override() {
  # PgBouncer reads no settings from the environment.
  pgbouncer_skip env_override "reads no settings from the environment (PGSWIFT_LISTEN_PORT)" && return 0
  local port=$((PROXY_PORT + 1)) pid out rc=0 log="$WORK/logs/proxy-lc-env.log"
  while tcp_open "$PROXY_HOST" "$port"; do port=$((port + 1)); done
  proxy_stop
  write_config lc-env
  echo "--- env_override: PGSWIFT_LISTEN_PORT=$port, listen_port = $PROXY_PORT in the file" >&2
  RUN_CLEAN_KEEP=PGSWIFT_LISTEN_PORT PGSWIFT_LISTEN_PORT="$port" \
    start_daemon "$PROXY_PIDFILE" "$log" "$PROXY_BIN" "$WORK/lc-env.ini"
  pid="$(tr -dc 0-9 <"$PROXY_PIDFILE")"
  if ! wait_tcp "$PROXY_HOST" "$port" 20 "$pid"; then
    result_fail env_override "nothing listens on $PROXY_HOST:$port (PGSWIFT_LISTEN_PORT); log: $(tail -n 5 "$log" | tr '\n' ' ' | cut -c1-200)"
  else
    out="$(PGPASSWORD=scram_pw psql -X -At -h "$PROXY_HOST" -p "$port" -U scram_user -d pgswift_test -c 'SELECT 1' 2>&1)" || rc=$?
    printf '%s\n' "$out" >&2
    if [ "$rc" != 0 ] || [ "$out" != 1 ]; then
      result_fail env_override "psql on port $port: exit $rc, '$(tr '\n' ' ' <<<"$out" | cut -c1-200)'"
    elif tcp_open "$PROXY_HOST" "$PROXY_PORT"; then
      result_fail env_override "the file's listen_port $PROXY_PORT is listened on as well"
    else
      result_ok env_override
    fi
  fi
  proxy_stop
}

lc_existing_pgbouncer_ini() {
  pgbouncer_skip existing_pgbouncer_ini "has no --check option" && return 0
  local ini=/etc/pgbouncer/pgbouncer.ini
  if [ ! -r "$ini" ]; then result_skip existing_pgbouncer_ini "no $ini (Debian's pgbouncer package)"; return 0; fi
  expect_cmd existing_pgbouncer_ini run_clean "$PROXY_BIN" --check "$ini"
}

group_lifecycle() {
  local pg_db="host=$PG_HOST port=$PG_PORT"

  # SIGHUP adds a database; a client connected before the reload keeps working.
  if lc_start lc-reload db:bench=; then lc_py reload_new_database; fi

  # An invalid value on reload keeps the old config; the log names file, line and key
  # (the _log half is skipped for PgBouncer 1.18, which logs nothing about the value).
  if lc_start lc-reload-invalid; then lc_py reload_invalid_keeps_old; fi

  # pidfile and logfile; log_connections / log_disconnections.
  local own_pid="$WORK/lc-own.pid"
  if lc_start lc-logfile "pidfile=$own_pid" "logfile=$WORK/logs/lc-logfile.log" \
      log_connections=1 log_disconnections=1; then
    lc_py pidfile_and_logfile "pidfile=$own_pid" "logfile=$WORK/logs/lc-logfile.log" log_connections=1
  fi
  if lc_start lc-logfile-quiet "pidfile=$own_pid" "logfile=$WORK/logs/lc-logfile-quiet.log" \
      log_connections=0 log_disconnections=1; then
    lc_py pidfile_and_logfile "pidfile=$own_pid" "logfile=$WORK/logs/lc-logfile-quiet.log" log_connections=0
  fi

  # Shutdown.  PgBouncer 1.18's SIGTERM is an immediate shutdown ("got SIGTERM, fast exit";
  # SIGTERM waits for clients from 1.23 on), and it refuses to start with shutdown_timeout
  # ("unknown parameter"), a pgswift setting.
  if ! pgbouncer_skip sigterm_waits_for_clients "1.18 exits at once on SIGTERM, closing the running query (waits for clients from 1.23)"; then
    if lc_start lc-sigterm shutdown_timeout=10; then lc_py sigterm_waits_for_clients; fi
  fi
  if ! pgbouncer_skip sigterm_timeout_closes_clients "1.18 has no shutdown_timeout setting (unknown parameter)"; then
    if lc_start lc-sigterm-timeout shutdown_timeout=2; then lc_py sigterm_timeout_closes_clients; fi
  fi
  if lc_start lc-sigquit; then lc_py sigquit_immediate; fi

  # Pause and resume: a fresh proxy, so no server connection is idle in the pool.  A client
  # waiting for RESUME is still logging in, so client_login_timeout (2 s in the base config)
  # would close it; it is raised here.
  if lc_start lc-pause client_login_timeout=60; then lc_py sigusr1_pause_sigusr2_resume; fi

  # The fourth client is refused with the reason, also after an SSLRequest ('N' without TLS, a handshake with it);
  # the admin console is let in all the same.
  if lc_start lc-maxclient max_client_conn=3 admin_users=pgswift_admin; then lc_py max_client_conn; fi
  if lc_start lc-maxclient-tls max_client_conn=3 client_tls_sslmode=allow client_tls_key_file="$TLS_DIR/server.key" \
      client_tls_cert_file="$TLS_DIR/server.crt"; then
    lc_py max_client_conn tls=yes
  fi

  # A database whose server refuses connections (nothing listens on port 1).
  if lc_start lc-unreachable "db:unreachable=host=127.0.0.1 port=1 dbname=postgres" server_login_retry=15; then
    lc_py server_unreachable db=unreachable
  fi

  if lc_start lc-maxdb default_pool_size=10 "db:bench=$pg_db dbname=bench max_db_connections=2"; then
    lc_py max_db_connections
  fi

  if lc_start lc-protocol; then lc_py protocol_negotiation; fi

  # PgBouncer 1.18 refuses the Query too, but with "bad packet header" (the _names_setting half is skipped).
  if lc_start lc-maxpacket max_packet_size=10000; then lc_py max_packet_size; fi

  if lc_start lc-cancel; then lc_py cancel_wrong_key_dropped; fi

  lc_env_override
  lc_existing_pgbouncer_ini
}
