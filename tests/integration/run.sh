#!/usr/bin/env bash
# run.sh: end-to-end tests of a PgBouncer-compatible proxy (pgswift, or PgBouncer itself) against PostgreSQL 15.
#
# usage: tests/integration/run.sh [--only REGEX] [--keep] [--list]
#   --only REGEX  run only the check groups whose name matches (groups: psql pgbench
#                 asyncpg psycopg more_clients transaction prepared bad_input auth tls check_config
#                 lifecycle admin session_state timeouts load response_optimizer status_port metrics hosts
#                 routing cache)
#   --keep        leave PostgreSQL running and keep the work directory
#   --list        print the check groups and exit
#
# It starts PostgreSQL with scripts/pg-local (and stops it again if it was not
# running before), builds the Python venv (scripts/python-env), writes proxy
# configs and a userlist into a fresh directory under $PGSWIFT_TEST_DIR, starts
# the proxy (as the postgres OS user when run as root), runs every check and
# stops what it started.  Output: one line per check,
#   ok NAME | FAIL NAME: reason | skip NAME (reason)
# then a last line "N passed, N failed" (", N skipped" appended when some were
# skipped).  Exit status 1 if any check failed.  Per-group logs and proxy logs
# stay in the work directory when something failed.
#
# Environment:
#   PROXY_BIN         proxy binary (.build/release/pgswift if present, else .build/debug/pgswift);
#                     PROXY_BIN=/usr/sbin/pgbouncer validates the checks against PgBouncer
#   PROXY_KIND        pgswift | pgbouncer (guessed from PROXY_BIN); checks PgBouncer cannot
#                     pass are skipped for pgbouncer
#   PROXY_PORT        proxy TCP port on 127.0.0.1 (56432)
#   PROXY_INI_SECTION name of the settings section in generated configs (pgbouncer)
#   PGSWIFT_TEST_DIR  state directory (/tmp/pgswift-test); PG_PORT PostgreSQL port (55432)
#   PGBENCH_SECONDS   duration of each pgbench run (10)
set -euo pipefail
IT_DIR="$(cd "$(dirname "$(readlink -f "$0")")" && pwd)"
. "$IT_DIR/../../scripts/lib/common.sh"
REPO="$PGSWIFT_REPO"

ALL_GROUPS=(psql pgbench asyncpg psycopg more_clients transaction prepared bad_input auth tls check_config lifecycle admin session_state timeouts load response_optimizer status_port metrics hosts routing cache)
only=""
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --only) only="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    --list) printf '%s\n' "${ALL_GROUPS[@]}"; exit 0 ;;
    -h|--help) print_help "$0"; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done

: "${PROXY_PORT:=56432}"
: "${PROXY_HOST:=127.0.0.1}"
: "${PROXY_INI_SECTION:=pgbouncer}"
: "${PGBENCH_SECONDS:=10}"
if [ -z "${PROXY_BIN:-}" ]; then
  if [ -x "$REPO/.build/release/pgswift" ]; then PROXY_BIN="$REPO/.build/release/pgswift"
  else PROXY_BIN="$REPO/.build/debug/pgswift"; fi
fi
case "$PROXY_BIN" in /*) ;; *) PROXY_BIN="$(pwd)/$PROXY_BIN" ;; esac
[ -x "$PROXY_BIN" ] || die "proxy binary not found: $PROXY_BIN (build pgswift or set PROXY_BIN)"
if [ -z "${PROXY_KIND:-}" ]; then
  if is_pgbouncer "$PROXY_BIN"; then PROXY_KIND=pgbouncer; else PROXY_KIND=pgswift; fi
fi
tcp_open "$PROXY_HOST" "$PROXY_PORT" && die "port $PROXY_PORT is already in use (set PROXY_PORT)"

# ---------------------------------------------------------------------------
# PostgreSQL, Python, work directory

pg_was_running=0
"$REPO/scripts/pg-local" status >/dev/null 2>&1 && pg_was_running=1
"$REPO/scripts/pg-local" start
PY="$("$REPO/scripts/python-env" | tail -n1)"

WORK="$(mktemp -d "$PGSWIFT_TEST_DIR/it.XXXXXX")"
chmod 0755 "$WORK"
mkdir -p "$WORK/logs" "$WORK/sock"
# As root the proxy runs as $PGSWIFT_OS_USER, who may not reach a checkout under a private directory.
if [ "$(id -u)" = 0 ] && ! run_as test -x "$PROXY_BIN"; then
  cp "$PROXY_BIN" "$WORK/$(basename "$PROXY_BIN")"
  PROXY_BIN="$WORK/$(basename "$PROXY_BIN")"
  note "copied the proxy binary to $PROXY_BIN so that $PGSWIFT_OS_USER can run it"
fi
PROXY_PIDFILE="$WORK/proxy.pid"
PROXY_SOCKET_DIR="$WORK/sock"
TLS_DIR="$PG_TLS_DIR"   # used by checks/tls.sh

n_pass=0 n_fail=0 n_skip=0 finished=0

# On exit: stop the proxy (and PostgreSQL if this run started it), keep the work
# directory only when something failed (or --keep), and print the summary last.
cleanup() {
  local rc=$?
  stop_pidfile "$PROXY_PIDFILE" 10 || true
  # Replicas a check group started (checks/hosts.sh, checks/routing.sh) go with the run, unless kept.
  if [ "${replicas_started:-0}" = 1 ] && [ "$keep" = 0 ]; then
    "$REPO/scripts/pg-replicas" stop >/dev/null 2>&1 || true
  fi
  if [ "$pg_was_running" = 0 ] && [ "$keep" = 0 ]; then
    "$REPO/scripts/pg-local" stop >/dev/null 2>&1 || true
  fi
  if [ "$keep" = 0 ] && [ "$n_fail" = 0 ] && [ "$rc" = 0 ]; then
    rm -rf "$WORK"
  else
    echo "# work directory with logs: $WORK" >&2
  fi
  if [ "$finished" = 1 ]; then
    local summary="$n_pass passed, $n_fail failed"
    [ "$n_skip" = 0 ] || summary+=", $n_skip skipped"
    echo "$summary"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Secrets for the userlist: plain for scram_user and pgswift_auth, the stored md5
# hash for md5_user, the stored SCRAM secret for bench (SCRAM pass-through).
# pgswift_admin and pgswift_stats are admin console logins (checks/admin.sh): they
# never reach PostgreSQL, so it has no such roles.
secret_of() {
  psql_super -d postgres -At -c "SELECT rolpassword FROM pg_authid WHERE rolname = '$1'"
}
MD5_SECRET="$(secret_of md5_user)"
BENCH_SECRET="$(secret_of bench)"
[ -n "$MD5_SECRET" ] && [ -n "$BENCH_SECRET" ] || die "could not read role secrets from pg_authid"
cat >"$WORK/userlist.txt" <<EOF
"scram_user" "scram_pw"
"md5_user" "$MD5_SECRET"
"bench" "$BENCH_SECRET"
"trust_user" ""
"pgswift_auth" "pgswift_auth_pw"
"pgswift_admin" "admin_pw"
"pgswift_stats" "stats_pw"
"pgswift_monitor" "monitor_pw"
EOF
# For auth_query: only the auth user is listed, every other user is looked up.
printf '"pgswift_auth" "pgswift_auth_pw"\n' >"$WORK/userlist-authuser.txt"

# ---------------------------------------------------------------------------
# Proxy configuration and life cycle

# write_config NAME [KEY=VALUE]...: write $WORK/NAME.ini, the base settings with
# KEY=VALUE overriding or adding settings ("KEY=" removes one).  "db:NAME=CONNSTR"
# replaces or adds the [databases] entry NAME, "db:NAME=" removes it.
write_config() {
  local name="$1" kv key
  shift
  declare -A dbs=(
    [pgswift_test]="host=$PG_HOST port=$PG_PORT dbname=pgswift_test"
    [bench]="host=$PG_HOST port=$PG_PORT dbname=bench"
    [postgres]="host=$PG_HOST port=$PG_PORT dbname=postgres"
  )
  local db_order=(pgswift_test bench postgres)
  declare -A cfg=(
    [listen_addr]="$PROXY_HOST"
    [listen_port]="$PROXY_PORT"
    [unix_socket_dir]="$PROXY_SOCKET_DIR"
    [auth_type]=scram-sha-256
    [auth_file]="$WORK/userlist.txt"
    [pool_mode]=session
    [default_pool_size]=20
    [max_client_conn]=200
    [client_login_timeout]=2
    [ignore_startup_parameters]=extra_float_digits
    # Two event loops whatever the machine's default, so a client and its server on different threads are tested.
    [threads]=2
  )
  local order=(listen_addr listen_port unix_socket_dir auth_type auth_file pool_mode
               default_pool_size max_client_conn client_login_timeout ignore_startup_parameters threads)
  for kv in "$@"; do
    key="${kv%%=*}"
    if [[ "$key" == db:* ]]; then
      key="${key#db:}"
      [ -n "${dbs[$key]+x}" ] || db_order+=("$key")
      dbs[$key]="${kv#*=}"
      continue
    fi
    [ -n "${cfg[$key]+x}" ] || order+=("$key")
    cfg[$key]="${kv#*=}"
  done
  {
    echo "; generated by tests/integration/run.sh ($name)"
    echo "[databases]"
    for key in "${db_order[@]}"; do
      if [ -n "${dbs[$key]}" ]; then echo "$key = ${dbs[$key]}"; fi
    done
    echo
    echo "[$PROXY_INI_SECTION]"
    for key in "${order[@]}"; do
      if [ -n "${cfg[$key]}" ]; then echo "$key = ${cfg[$key]}"; fi
    done
  } >"$WORK/$name.ini"
  give_to_os_user "$WORK"
}

# use_proxy NAME [KEY=VALUE]...: make sure the proxy runs with config NAME (written
# from the base settings plus overrides); on failure report NAME_proxy_start as failed.
CURRENT_PROXY=""
use_proxy() {
  local name="$1"
  shift
  if [ "$CURRENT_PROXY" = "$name" ] && pid_running "$(cat "$PROXY_PIDFILE" 2>/dev/null)"; then return 0; fi
  write_config "$name" "$@"
  if proxy_start "$name"; then CURRENT_PROXY="$name"; return 0; fi
  CURRENT_PROXY=""
  result_fail "proxy_start_$name" "proxy did not start with $WORK/$name.ini (log $WORK/logs/proxy-$name.log)"
  return 1
}

# proxy_start NAME: (re)start the proxy with $WORK/NAME.ini and wait until it listens.
proxy_start() {
  local name="$1" pid log="$WORK/logs/proxy-$1.log"
  proxy_stop
  start_daemon "$PROXY_PIDFILE" "$log" "$PROXY_BIN" "$WORK/$name.ini"
  pid="$(cat "$PROXY_PIDFILE")"
  if ! wait_tcp "$PROXY_HOST" "$PROXY_PORT" 20 "$pid"; then
    echo "proxy ($name) did not start listening on $PROXY_HOST:$PROXY_PORT; log tail:" >&2
    tail -n 20 "$log" >&2
    return 1
  fi
  for _ in $(seq 1 50); do
    [ -S "$PROXY_SOCKET_DIR/.s.PGSQL.$PROXY_PORT" ] && break
    sleep 0.1
  done
  echo "proxy ($name) running as pid $pid" >&2
}

proxy_stop() {
  CURRENT_PROXY=""
  stop_pidfile "$PROXY_PIDFILE" 10
  wait_tcp_free "$PROXY_HOST" "$PROXY_PORT" 10 || echo "warning: port $PROXY_PORT still busy" >&2
}

# ---------------------------------------------------------------------------
# Result lines (stdout of a check group); diagnostics go to stderr (the group log).

result_ok()   { echo "ok $1"; }
result_fail() { echo "FAIL $1: $2"; }
result_skip() { echo "skip $1 ($2)"; }

# pgbouncer_skip NAME REASON: when testing PgBouncer, report NAME skipped and return 0.
pgbouncer_skip() {
  if [ "$PROXY_KIND" = pgbouncer ]; then result_skip "$1" "PgBouncer: $2"; return 0; fi
  return 1
}

# expect_cmd NAME CMD...: ok if CMD exits 0, FAIL otherwise (its output goes to the log).
expect_cmd() {
  local name="$1"
  shift
  echo "--- $name: $*" >&2
  if "$@" >&2; then result_ok "$name"; else result_fail "$name" "exit $? from: $*"; fi
}

# expect_output NAME WANT CMD...: ok if CMD exits 0 and prints exactly WANT.
expect_output() {
  local name="$1" want="$2" got rc=0
  shift 2
  echo "--- $name: $*" >&2
  got="$("$@" 2>&1)" || rc=$?
  printf '%s\n' "$got" >&2
  if [ "$rc" = 0 ] && [ "$got" = "$want" ]; then result_ok "$name"
  else result_fail "$name" "exit $rc, output '$(printf '%s' "$got" | tr '\n' ' ' | cut -c1-200)' (want '$want')"; fi
}

# expect_fail NAME CMD...: ok if CMD exits non-zero.
expect_fail() {
  local name="$1"
  shift
  echo "--- $name (must fail): $*" >&2
  if "$@" >&2 2>&1; then result_fail "$name" "succeeded but should have failed: $*"; else result_ok "$name"; fi
}

# python CHECK_SCRIPT ARGS...: run a client from clients/ with the connection settings.
python_check() {
  local out rc=0
  out="$(mktemp)"
  PYTHONPATH="$IT_DIR/clients" PYTHONDONTWRITEBYTECODE=1 \
  PROXY_HOST="$PROXY_HOST" PROXY_PORT="$PROXY_PORT" PROXY_SOCKET_DIR="$PROXY_SOCKET_DIR" \
  PROXY_KIND="$PROXY_KIND" PG_HOST="$PG_HOST" PG_PORT="$PG_PORT" PG_SOCKET_DIR="$PG_SOCKET_DIR" \
  PG_SUPERUSER="$PG_SUPERUSER" TEST_DB=pgswift_test TEST_USER=scram_user TEST_PASSWORD=scram_pw \
    timeout 600 "$PY" "$IT_DIR/clients/$1" "${@:2}" >"$out" || rc=$?
  cat "$out"
  # A script that stopped without reporting a failure (a crash, a timeout) must not pass by printing fewer lines.
  if [ "$rc" != 0 ] && ! grep -q '^FAIL ' "$out"; then
    result_fail "${1%.py}_${2:-run}" "the script exited with status $rc before reporting all its checks (traceback in the group log)"
  fi
  rm -f "$out"
}

# libpq settings for shell checks through the proxy (TCP by default).
proxy_psql() {
  PGPASSWORD=scram_pw psql -X -At -h "$PROXY_HOST" -p "$PROXY_PORT" -U scram_user -d pgswift_test "$@"
}

# ---------------------------------------------------------------------------
# Check groups (one file each in checks/, defining group_NAME)

for f in "$IT_DIR"/checks/*.sh; do
  # shellcheck source=/dev/null
  . "$f"
done

# run_group NAME: run group_NAME, print and count its result lines.
run_group() {
  local name="$1" out="$WORK/logs/$1.out" log="$WORK/logs/$1.log" rc=0 line had_fail=0
  echo "# $name" >&2
  "group_$name" >"$out" 2>"$log" || rc=$?
  while IFS= read -r line; do
    case "$line" in
      "ok "*) n_pass=$((n_pass + 1)); echo "$line" ;;
      "FAIL "*) n_fail=$((n_fail + 1)); had_fail=1; echo "$line" ;;
      "skip "*) n_skip=$((n_skip + 1)); echo "$line" ;;
      *) echo "$line" >>"$log" ;;
    esac
  done <"$out"
  if [ "$rc" != 0 ] && [ "$had_fail" = 0 ]; then
    n_fail=$((n_fail + 1)); had_fail=1
    echo "FAIL $name: check group exited with status $rc"
  fi
  if [ "$had_fail" = 1 ]; then
    echo "# --- $name log tail ($log):" >&2
    tail -n 25 "$log" | sed 's/^/#   /' >&2
  fi
}

echo "# proxy: $PROXY_BIN ($PROXY_KIND) on $PROXY_HOST:$PROXY_PORT; PostgreSQL on $PG_HOST:$PG_PORT; work dir $WORK" >&2
for g in "${ALL_GROUPS[@]}"; do
  if [ -n "$only" ] && ! [[ "$g" =~ $only ]]; then continue; fi
  run_group "$g"
done
proxy_stop
finished=1
[ "$n_fail" = 0 ]   # the summary line is printed by cleanup, after everything else
