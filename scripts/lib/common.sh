# Shared shell helpers for pgswift's scripts (pg-local, bench, demo, tests/integration/run.sh).
# shellcheck shell=bash disable=SC2034  # (variables here are used by the scripts that source it)
# Sourced, never run.  Sets defaults for the test environment, and helpers to
# run servers as an unprivileged OS user when invoked as root (PostgreSQL and
# PgBouncer refuse to run as root; pgswift is treated the same way).

PGSWIFT_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

: "${PGSWIFT_TEST_DIR:=/tmp/pgswift-test}"      # all throwaway state lives here
: "${PG_PORT:=55432}"                            # PostgreSQL port (127.0.0.1)
: "${PG_HOST:=127.0.0.1}"                        # everything listens on loopback only
: "${PG_BIN:=/usr/lib/postgresql/15/bin}"        # Debian's PostgreSQL 15 binaries
: "${PGBOUNCER_BIN:=/usr/sbin/pgbouncer}"

: "${PG_REPLICA_PORT:=25433}"                   # scripts/pg-replicas: replicas on this port and up
# (below the kernel's ephemeral range, 32768-60999 by default: a port there may be held for a moment by an outgoing
# connection's local end, and a server starting then cannot bind it)
PG_DATA="$PGSWIFT_TEST_DIR/pg"
PG_SOCKET_DIR="$PGSWIFT_TEST_DIR/sock"
PG_TLS_DIR="$PGSWIFT_TEST_DIR/tls"
PG_LOG_DIR="$PGSWIFT_TEST_DIR/logs"

# OS user that runs PostgreSQL and the proxies.  Root delegates to `postgres`.
if [ "$(id -u)" = 0 ]; then
  : "${PGSWIFT_OS_USER:=postgres}"
else
  PGSWIFT_OS_USER="$(id -un)"
fi
# initdb names the bootstrap superuser after the OS user that ran it.
PG_SUPERUSER="$PGSWIFT_OS_USER"

export PGCONNECT_TIMEOUT="${PGCONNECT_TIMEOUT:-10}"

die()  { echo "error: $*" >&2; exit 1; }
note() { echo "# $*" >&2; }

# print_help FILE: print the leading comment block of FILE (after the shebang), without '# '.
print_help() {
  awk 'NR == 1 && /^#!/ { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$1"
}

# run_as CMD...: run CMD as $PGSWIFT_OS_USER (plain exec when that is us).
run_as() {
  if [ "$(id -u)" = 0 ] && [ "$PGSWIFT_OS_USER" != root ]; then
    runuser -u "$PGSWIFT_OS_USER" -- "$@"
  else
    "$@"
  fi
}

# give_to_os_user PATH...: hand files/directories (recursively) to the server OS user.
give_to_os_user() {
  if [ "$(id -u)" = 0 ]; then chown -R "$PGSWIFT_OS_USER": "$@"; fi
}

# mkdir_owned MODE DIR...: create directories owned by the server OS user.
mkdir_owned() {
  local mode="$1" d
  shift
  for d in "$@"; do
    mkdir -p "$d"
    give_to_os_user "$d"
    chmod "$mode" "$d"
  done
}

# tcp_open HOST PORT: true if something accepts TCP connections there.
tcp_open() {
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# pid_running PID: true if the process exists and is not a zombie.
pid_running() {
  local pid="$1" state
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  state="$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$pid/stat" 2>/dev/null)" || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

# run_clean CMD...: run CMD as the server OS user without this harness's PGSWIFT_*
# environment variables: pgswift reads PGSWIFT_<KEY> as a setting override and
# refuses unknown keys (PGSWIFT_TEST_DIR would become the setting "test_dir").
# Variables named in RUN_CLEAN_KEEP (space-separated) are passed through all the
# same, for checks of the overrides themselves:
#   RUN_CLEAN_KEEP=PGSWIFT_LISTEN_PORT PGSWIFT_LISTEN_PORT=7432 run_clean pgswift x.ini
run_clean() {
  local unset_args=() v keep=" ${RUN_CLEAN_KEEP:-} "
  for v in $(compgen -e); do
    case "$v" in
      RUN_CLEAN_KEEP) unset_args+=(-u "$v") ;;
      PGSWIFT_*) [[ "$keep" == *" $v "* ]] || unset_args+=(-u "$v") ;;
    esac
  done
  run_as env "${unset_args[@]}" "$@"
}

# start_daemon PIDFILE LOGFILE CMD...: start CMD in the background as the server OS
# user (environment as for run_clean), detached from this shell's job control; its
# own pid (not runuser's) goes to PIDFILE.  Output (stdout+stderr) is appended to LOGFILE.
start_daemon() {
  local pidfile="$1" logfile="$2"
  shift 2
  rm -f "$pidfile"
  touch "$logfile"
  give_to_os_user "$logfile"
  # The inner shell writes its pid and then execs the program, so the pid is the
  # program's.  setsid keeps it out of our process group (Ctrl-C in a terminal
  # reaches our trap, which stops it cleanly).
  # shellcheck disable=SC2016
  # The soft fd limit is raised for proxies with many clients (runuser's PAM session resets it).
  run_clean setsid sh -c 'ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 4096 2>/dev/null; echo $$ > "$1"; shift; exec "$@"' \
    start_daemon "$pidfile" "$@" \
    >>"$logfile" 2>&1 </dev/null &
  local i
  for ((i = 0; i < 50; i++)); do
    [ -s "$pidfile" ] && break
    sleep 0.1
  done
  [ -s "$pidfile" ] || die "could not start $1 (no pid written; log: $logfile)"
}

# stop_pidfile PIDFILE [SECONDS]: stop the process named in PIDFILE: SIGTERM (pgswift
# and PgBouncer >= 1.23 then shut down safely, PgBouncer 1.18 exits at once); if it
# is still there after a few seconds SIGQUIT (fast exit in pgswift and PgBouncer
# >= 1.23); SIGKILL after SECONDS (10) in all.
stop_pidfile() {
  local pidfile="$1" secs="${2:-10}" pid i
  [ -s "$pidfile" ] || return 0
  pid="$(tr -dc 0-9 <"$pidfile")"
  rm -f "$pidfile"
  pid_running "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < secs * 10; i++)); do
    pid_running "$pid" || return 0
    if [ "$i" = 30 ]; then kill -QUIT "$pid" 2>/dev/null || true; fi
    sleep 0.1
  done
  note "pid $pid did not stop after ${secs}s (SIGTERM, SIGQUIT); sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  sleep 0.2
}

# wait_tcp HOST PORT SECONDS [PID]: wait until the port accepts connections
# (fails early if PID is given and dies).
wait_tcp() {
  local host="$1" port="$2" secs="$3" pid="${4:-}" i
  for ((i = 0; i < secs * 10; i++)); do
    if tcp_open "$host" "$port"; then return 0; fi
    if [ -n "$pid" ] && ! pid_running "$pid"; then return 1; fi
    sleep 0.1
  done
  return 1
}

# wait_tcp_free HOST PORT SECONDS: wait until nothing listens on the port.
wait_tcp_free() {
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    tcp_open "$1" "$2" || return 0
    sleep 0.1
  done
  return 1
}

# proc_cpu_ticks PID: utime+stime of PID (all its threads) in clock ticks.
proc_cpu_ticks() {
  # Fields after the ")" that closes the command name: utime is the 12th, stime the 13th.
  awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# proc_cpu_split PID: "utime stime" of PID (all its threads) in clock ticks.
proc_cpu_split() {
  awk '{ sub(/^.*\) /, ""); print $12, $13 }' "/proc/$1/stat" 2>/dev/null || echo "0 0"
}

# proc_children_ticks PID: cutime+cstime of PID: the CPU of its children that exited and were waited for.
proc_children_ticks() {
  awk '{ sub(/^.*\) /, ""); print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# proc_ctxt_switches PID: voluntary and involuntary context switches of all PID's threads.
proc_ctxt_switches() {
  # A thread may end between the glob and the read: what is left is counted.
  { cat /proc/"$1"/task/*/status 2>/dev/null || true; } | awk '/^(non)?voluntary_ctxt_switches/ { n += $2 } END { print n + 0 }'
}

# pg_cluster_ticks: CPU ticks the local PostgreSQL cluster and its replicas used so far: each postmaster, its live children (backends,
# walwriter, ...) and the children that already exited (counted in the postmaster's cutime/cstime once reaped).
# Read through cat, which carries on past a process that ended between the glob and the read (mawk would stop there
# and print nothing); such a process's time is in the postmaster's cutime by then.
pg_cluster_ticks() {
  local pms="" f pm
  # The test server and any streaming replicas of it (scripts/pg-replicas): reads routed to a replica cost there.
  for f in "$PG_DATA/postmaster.pid" "$PGSWIFT_TEST_DIR"/pg-replica-*/postmaster.pid; do
    pm="$(head -n1 "$f" 2>/dev/null)" && pms+=" $pm"
  done
  [ -n "$pms" ] || { echo 0; return; }
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v pms="$pms" 'BEGIN { n = split(pms, a, " "); for (i = 1; i <= n; i++) pm[a[i]] = 1 }
    {
      line = $0; sub(/^.*\) /, "", line); split(line, f, " ")
      if ($1 in pm) total += f[12] + f[13] + f[14] + f[15]
      else if (f[2] in pm) total += f[12] + f[13]
    } END { print total + 0 }'
}

# psql_super ARGS...: psql as the PostgreSQL superuser over the server's own unix socket.
psql_super() {
  run_as "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U "$PG_SUPERUSER" "$@"
}

# is_pgbouncer BIN: true if BIN is PgBouncer rather than pgswift.
is_pgbouncer() {
  case "$(basename "$1")" in
    *pgbouncer*) return 0 ;;
  esac
  run_clean timeout 5 "$1" --version 2>/dev/null </dev/null | head -n1 | grep -qi pgbouncer
}

# ensure_build_deps: as root, apt-get install the -dev packages the Swift build links against:
# libssl-dev (libcrypto, for SCRAM/MD5 and ETags), libpg-query-dev (PostgreSQL's parser, for session-state analysis),
# zlib1g-dev and libbrotli-dev (ResponseOptimizer's gzip, deflate and br), libhiredis-dev and libmemcached-dev
# (the result cache's Redis and Memcached clients); curl, which the HTTP checks use; and redis-server and memcached,
# which RedisClientTests and MemcachedClientTests start (they fail, not skip, without them).
ensure_build_deps() {
  local p missing=()
  for p in libssl-dev libpg-query-dev zlib1g-dev libbrotli-dev libhiredis-dev libmemcached-dev curl redis-server memcached; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ "${#missing[@]}" -gt 0 ] || return 0
  if [ "$(id -u)" != 0 ]; then
    note "missing build packages (install them as root): ${missing[*]}"
    return 0
  fi
  note "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}
