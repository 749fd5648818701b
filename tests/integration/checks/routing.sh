# Read/write splitting (read_write_split) over a real primary and two fresh streaming replicas.
# shellcheck shell=bash
# Sourced by run.sh (defines group_routing).  One proxy in transaction mode with health checks every second and
# several entries over the same three hosts: cluster (the global read_write_split = 1), lagged (replica_max_lag =
# 64kB), never (primary_reads = never), plain (read_write_split = 0) and sess (pool_mode = session).  Which node
# answered is read from inet_server_port() and pg_is_in_recovery().  A replica is made to lag by pausing its replay
# (pg_wal_replay_pause() as superuser on the replica itself).  Group hosts promotes a replica, so this group starts
# from new copies (scripts/pg-replicas purge, then start 2); run.sh stops them at the end.  Last, rt_failover: the
# primary stopped hard under write load and a replica promoted, then the topology put back (the primary without
# synchronous settings, the replicas purged).

# rt_psql DB ARGS...: psql as scram_user through the proxy (unaligned, tuples only, no command tags).
rt_psql() {
  local db="$1"
  shift
  PGPASSWORD=scram_pw psql -X -q -At -h "$PROXY_HOST" -p "$PROXY_PORT" -U scram_user -d "$db" "$@"
}

# rt_admin COMMAND: one command on the admin console.
rt_admin() {
  PGPASSWORD=admin_pw psql -X -q -At -h "$PROXY_HOST" -p "$PROXY_PORT" -U pgswift_admin -d pgswift -c "$1"
}

# rt_super PORT ARGS...: psql as the PostgreSQL superuser on one node itself (over the shared socket directory).
rt_super() {
  local port="$1"
  shift
  run_as "$PG_BIN/psql" -X -q -At -h "$PG_SOCKET_DIR" -p "$port" -U "$PG_SUPERUSER" -d postgres "$@"
}

# rt_nodes DB: SHOW NODES of entry DB as host|port|role|state|circuit|lag_bytes.
rt_nodes() {
  rt_admin 'SHOW NODES' 2>&1 | awk -F'|' -v db="$1" '$1 == db { print $2 "|" $3 "|" $4 "|" $5 "|" $6 "|" $8 }'
}

# rt_wait_nodes DB WANT...: until every WANT (host|port|role|state|circuit) starts a line of SHOW NODES for DB (15 s).
rt_wait_nodes() {
  local db="$1" k line ok
  shift
  for k in $(seq 1 30); do
    NODES="$(rt_nodes "$db")"
    ok=1
    for line in "$@"; do grep -q "^$line|" <<<"$NODES" || ok=0; done
    [ "$ok" = 1 ] && return 0
    sleep 0.5
  done
  return 1
}

# rt_lag DB PORT: the lag in bytes SHOW NODES gives the replica on PORT in entry DB (empty when unknown).
rt_lag() {
  awk -F'|' -v p="$2" '$2 == p { print $6 }' <<<"$(rt_nodes "$1")"
}

# rt_wait_lag DB PORT above|within BYTES SECONDS: until that replica's lag (SHOW NODES) is above / at most BYTES.
rt_wait_lag() {
  local db="$1" port="$2" how="$3" bytes="$4" secs="$5" k lag
  for k in $(seq 1 $((secs * 4))); do
    lag="$(rt_lag "$db" "$port")"
    if [[ "$lag" =~ ^[0-9]+$ ]]; then
      if [ "$how" = above ] && [ "$lag" -gt "$bytes" ]; then return 0; fi
      if [ "$how" = within ] && [ "$lag" -le "$bytes" ]; then return 0; fi
    fi
    sleep 0.25
  done
  return 1
}

# rt_wait_replayed PORT...: until each replica has replayed what the primary has written by now (30 s).  The insert
# position: with synchronous_commit = off (scripts/pg-local) a commit may not be written out yet.
rt_wait_replayed() {
  local target port k
  target="$(rt_super "$PG_PORT" -c 'SELECT pg_current_wal_insert_lsn()')"
  for port in "$@"; do
    for k in $(seq 1 300); do
      [ "$(rt_super "$port" -c "SELECT pg_last_wal_replay_lsn() >= '$target'::pg_lsn" 2>/dev/null)" = t ] && continue 2
      sleep 0.1
    done
    echo "replica $port did not replay up to $target" >&2
    return 1
  done
}

# rt_reads DB N: N clients in a row, each one read; their answers (port|in_recovery), space-separated.
rt_reads() {
  local db="$1" n="$2" k got all=""
  for k in $(seq 1 "$n"); do
    got="$(rt_psql "$db" -c 'select inet_server_port(), pg_is_in_recovery()' 2>&1)" || got="error:$(tr '\n ' '__' <<<"$got")"
    all+="$got "
  done
  printf '%s\n' "$all" >&2
  echo "$all"
}

# rt_all WORDS REGEX: true if every word of WORDS (and at least one) matches REGEX entirely.
rt_all() {
  local w n=0
  for w in $1; do
    [[ "$w" =~ ^($2)$ ]] || return 1
    n=$((n + 1))
  done
  [ "$n" -gt 0 ]
}

# rt_expect_lines NAME REGEX N CMD...: ok if CMD exits 0 and prints N lines, each matching REGEX entirely (and, with
# RT_SAME=1, all equal).
rt_expect_lines() {
  local name="$1" re="$2" n="$3" got rc=0 count
  shift 3
  echo "--- $name: $*" >&2
  got="$("$@" 2>&1)" || rc=$?
  printf '%s\n' "$got" >&2
  count="$(grep -c '' <<<"$got")"
  if [ "$rc" = 0 ] && [ "$count" = "$n" ] && rt_all "$got" "$re" &&
     { [ "${RT_SAME:-0}" = 0 ] || [ "$(sort -u <<<"$got" | grep -c '')" = 1 ]; }; then
    result_ok "$name"
  else
    result_fail "$name" "exit $rc, output '$(tr '\n' ' ' <<<"$got" | cut -c1-200)' (want $n line(s) matching $re$([ "${RT_SAME:-0}" = 0 ] || echo ', all the same'))"
  fi
}

group_routing() {
  pgbouncer_skip routing "PgBouncer has no read/write splitting" && return 0
  local r1=$PG_REPLICA_PORT r2=$((PG_REPLICA_PORT + 1)) got rc k
  local pr="$PG_PORT\|f" rep="($r1|$r2)\|t"

  echo "--- routing: fresh replicas (scripts/pg-replicas purge, start 2)" >&2
  "$REPO/scripts/pg-replicas" purge >&2 || true
  replicas_started=1
  if ! "$REPO/scripts/pg-replicas" start 2 >&2; then
    result_fail routing_replicas "scripts/pg-replicas start 2 failed"
    return 0
  fi
  local hosts="host=$PG_HOST,$PG_HOST,$PG_HOST port=$PG_PORT,$r1,$r2 dbname=pgswift_test"
  CURRENT_PROXY=""
  use_proxy routing pool_mode=transaction read_write_split=1 health_check_period=1 health_check_timeout=1 \
    health_check_failures=2 health_check_successes=1 health_check_user=pgswift_monitor admin_users=pgswift_admin \
    stats_users=pgswift_stats read_only_functions=it_routing_volatile_listed "db:cluster=$hosts" "db:lagged=$hosts replica_max_lag=64kB" "db:never=$hosts primary_reads=never" \
    "db:plain=$hosts read_write_split=0" "db:sess=$hosts pool_mode=session" || return 0

  # Until the first health checks answer, roles are unknown and the host list serves as a plain one.
  local db ready=1
  for db in cluster lagged never plain sess; do
    rt_wait_nodes "$db" "$PG_HOST|$PG_PORT|primary|up|closed" "$PG_HOST|$r1|replica|up|closed" "$PG_HOST|$r2|replica|up|closed" ||
      ready=0
  done
  if [ "$ready" = 1 ]; then result_ok routing_nodes_found
  else
    result_fail routing_nodes_found "SHOW NODES $db: $(tr '\n' ' ' <<<"$NODES" | cut -c1-300)"
    return 0
  fi

  # Tables made through the proxy (DDL: the primary), then replayed by both replicas before anything reads them.
  echo "--- routing: tables" >&2
  if ! rt_psql cluster -v ON_ERROR_STOP=1 >&2 2>&1 <<'SQL' || ! rt_wait_replayed "$r1" "$r2"; then
DROP TABLE IF EXISTS it_routing, it_routing_ryw, it_routing_lag, it_routing_py;
CREATE TABLE it_routing (id serial PRIMARY KEY, counter int);
CREATE TABLE it_routing_ryw (counter int);
CREATE TABLE it_routing_lag (id int, pad text);
CREATE TABLE it_routing_py (client text, n int);
INSERT INTO it_routing (counter) VALUES (1);
CREATE OR REPLACE FUNCTION it_routing_writer(v int) RETURNS int LANGUAGE sql VOLATILE AS 'INSERT INTO it_routing (counter) VALUES (v) RETURNING v';
CREATE OR REPLACE FUNCTION it_routing_volatile_reader() RETURNS int LANGUAGE sql VOLATILE AS 'SELECT count(*)::int FROM it_routing';
CREATE OR REPLACE FUNCTION it_routing_volatile_listed() RETURNS int LANGUAGE sql VOLATILE AS 'SELECT count(*)::int FROM it_routing';
CREATE OR REPLACE FUNCTION it_routing_stable() RETURNS int LANGUAGE sql STABLE AS 'SELECT count(*)::int FROM it_routing';
SQL
    result_fail routing_ddl "could not create the test tables through the proxy (group log)"
    return 0
  fi
  result_ok routing_ddl

  # --- read_write_split = 0 on one entry while the global is 1: a plain host list.  Three clients at once, each in a
  # transaction, are served by a fresh pool whose connects go round the hosts, so a replica serves one at least; on
  # the split entry every transaction runs on the primary.
  routing_plain_entry "$r1" "$r2"

  # --- Reads to replicas (both, in turn), writes to the primary.
  got="$(rt_reads cluster 6)"
  if rt_all "$got" "$rep" && [[ "$got" == *"$r1|t"* ]] && [[ "$got" == *"$r2|t"* ]]; then result_ok routing_reads_to_replicas
  else result_fail routing_reads_to_replicas "answers '$got' (want only $r1|t and $r2|t, both)"; fi
  expect_output routing_insert_to_primary "$PG_PORT" \
    rt_psql cluster -c 'insert into it_routing (counter) values (2) returning inet_server_port()'
  expect_output routing_update_to_primary "$PG_PORT" \
    rt_psql cluster -c 'update it_routing set counter = counter where counter = 1 returning inet_server_port()'
  expect_output routing_nextval_to_primary "t|$PG_PORT" \
    rt_psql cluster -c "select nextval('it_routing_id_seq') > 0, inet_server_port()"
  expect_output routing_for_update_to_primary "$PG_PORT" \
    rt_psql cluster -c 'select inet_server_port() from it_routing where counter = 1 for update'
  expect_output routing_cte_write_to_primary "$PG_PORT" \
    rt_psql cluster -c 'with w as (insert into it_routing (counter) values (3) returning 1) select inet_server_port() from w'

  # --- Transactions: the primary, unless begun READ ONLY (or under default_transaction_read_only = on).
  rt_expect_lines routing_begin_to_primary "$pr" 2 \
    rt_psql cluster -c 'BEGIN' -c 'select inet_server_port(), pg_is_in_recovery()' \
      -c 'select inet_server_port(), pg_is_in_recovery()' -c 'COMMIT'
  RT_SAME=1 rt_expect_lines routing_begin_read_only_to_replica "$rep" 2 \
    rt_psql cluster -c 'BEGIN READ ONLY' -c 'select inet_server_port(), pg_is_in_recovery()' \
      -c 'select inet_server_port(), pg_is_in_recovery()' -c 'COMMIT'
  RT_SAME=1 rt_expect_lines routing_read_only_default_to_replica "$rep" 2 \
    rt_psql cluster -c 'SET default_transaction_read_only = on' -c 'BEGIN' -c 'select inet_server_port(), pg_is_in_recovery()' \
      -c 'select inet_server_port(), pg_is_in_recovery()' -c 'COMMIT'
  RT_SAME=1 PGOPTIONS='-c default_transaction_read_only=on' rt_expect_lines routing_read_only_startup_option_to_replica "$rep" 2 \
    rt_psql cluster -c 'BEGIN' -c 'select inet_server_port(), pg_is_in_recovery()' \
      -c 'select inet_server_port(), pg_is_in_recovery()' -c 'COMMIT'
  RT_SAME=1 rt_expect_lines routing_start_transaction_read_only_to_replica "$rep" 2 \
    rt_psql cluster -c 'START TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY' -c 'select inet_server_port(), pg_is_in_recovery()' \
      -c 'select inet_server_port(), pg_is_in_recovery()' -c 'COMMIT'
  # READ WRITE said out loud beats a read-only session default: the transaction may write, so the primary.
  rt_expect_lines routing_begin_read_write_over_default "$PG_PORT" 1 \
    rt_psql cluster -c 'SET default_transaction_read_only = on' -c 'BEGIN READ WRITE' \
      -c 'insert into it_routing (counter) values (8) returning inet_server_port()' -c 'COMMIT'

  # --- Hints and pgswift.role.
  rt_expect_lines routing_hint_primary "$pr" 3 \
    rt_psql cluster -c '/* pgswift: primary */ select inet_server_port(), pg_is_in_recovery()' \
      -c '/* pgswift: primary */ select inet_server_port(), pg_is_in_recovery()' \
      -c '/* pgswift: primary */ select inet_server_port(), pg_is_in_recovery()'
  rt_expect_lines routing_role_primary "$pr" 3 \
    rt_psql cluster -c "SET pgswift.role = 'primary'" -c 'select inet_server_port(), pg_is_in_recovery()' \
      -c 'select inet_server_port(), pg_is_in_recovery()' -c 'select inet_server_port(), pg_is_in_recovery()'
  rt_expect_lines routing_hint_replica_over_role "$rep" 2 \
    rt_psql cluster -c "SET pgswift.role = 'primary'" -c '/* pgswift: replica */ select inet_server_port(), pg_is_in_recovery()' \
      -c '/* pgswift: replica */ select inet_server_port(), pg_is_in_recovery()'
  # Back to 'any' (or RESET) after 'primary': the very next reads go to replicas again (what ran on the primary only
  # because of the role is no write that read-your-writes would hold them back for).
  local back name
  for back in "SET pgswift.role = 'any'" 'RESET pgswift.role'; do
    name=routing_role_any_after_primary
    [ "$back" = 'RESET pgswift.role' ] && name=routing_role_reset_after_primary
    got="$(rt_psql cluster -c "SET pgswift.role = 'primary'" -c 'select inet_server_port(), pg_is_in_recovery()' \
             -c "$back" -c 'select inet_server_port(), pg_is_in_recovery()' \
             -c 'select inet_server_port(), pg_is_in_recovery()' 2>&1)" || true
    echo "--- $name: $got" >&2
    if [[ "$(tr '\n' ' ' <<<"$got")" =~ ^$PG_PORT\|f\ ($r1|$r2)\|t\ ($r1|$r2)\|t\ $ ]]; then result_ok "$name"
    else result_fail "$name" "answers '$(tr '\n' ' ' <<<"$got")' (want $PG_PORT|f then two replica answers)"; fi
  done
  RT_SAME=1 rt_expect_lines routing_role_replica_transaction "$rep" 2 \
    rt_psql cluster -c "SET pgswift.role = 'replica'" -c 'BEGIN' -c 'select inet_server_port(), pg_is_in_recovery()' \
      -c 'select inet_server_port(), pg_is_in_recovery()' -c 'COMMIT'
  rt_expect_lines routing_role_replica_write_to_primary "$PG_PORT" 1 \
    rt_psql cluster -c "SET pgswift.role = 'replica'" -c 'insert into it_routing (counter) values (4) returning inet_server_port()'
  rt_expect_lines routing_pgoptions_role_primary "$pr" 3 \
    env PGOPTIONS='-c pgswift.role=primary' PGPASSWORD=scram_pw psql -X -q -At -h "$PROXY_HOST" -p "$PROXY_PORT" -U scram_user \
      -d cluster -c 'select inet_server_port(), pg_is_in_recovery()' -c 'select inet_server_port(), pg_is_in_recovery()' \
      -c 'select inet_server_port(), pg_is_in_recovery()'

  routing_read_your_writes "$r1" "$r2"
  routing_max_lag "$r1" "$r2"
  routing_primary_reads_never "$r1" "$r2"
  routing_session_mode

  # --- Drivers: asyncpg's statement cache and psycopg's named statements on whichever node a unit goes to.
  python_check routing_checks.py cluster "$r1" "$r2"

  # --- SHOW POOLS: one row per (database, user) whatever the pools per host behind it.
  rt_functions "$r1" "$r2"
  rt_cancel_on_replica "$r1" "$r2"
  # Debian's prometheus-pgbouncer-exporter scrapes the console of a proxy with per-host pools inside (its check reads
  # the statistics of pgswift_test, a plain entry: one query there first).
  rt_psql pgswift_test -c 'select 1' >/dev/null 2>&1 || true
  python_check admin_checks.py exporter

  got="$(rt_admin 'SHOW POOLS' 2>&1)" || true
  printf '%s\n' "$got" >&2
  k="$(awk -F'|' '$1 == "cluster" && $2 == "scram_user"' <<<"$got" | grep -c '')" || true
  if [ "$k" = 1 ]; then result_ok routing_show_pools_one_row
  else result_fail routing_show_pools_one_row "$k rows for (cluster, scram_user) in SHOW POOLS (want 1)"; fi

  # --- Last, as it changes the topology (and puts it back): a failover under write load.
  rt_failover "$r1" "$r2"
  rt_auto_failover "$r1" "$r2"
  rt_switchover "$r1" "$r2"
}

# rt_functions R1 R2: a call of a VOLATILE user function goes to the primary (the primary's checks list them), one
# of a STABLE function to a replica, and a VOLATILE one that read_only_functions lists to a replica.
rt_functions() {
  local r1="$1" r2="$2" got k
  # The list comes with the primary's next check.
  for k in $(seq 1 30); do
    got="$(rt_psql cluster -c 'select it_routing_writer(7), inet_server_port()' 2>&1)"
    [ "$got" = "7|$PG_PORT" ] && break
    sleep 0.2
  done
  if [ "$got" = "7|$PG_PORT" ]; then result_ok routing_volatile_function_to_primary
  else result_fail routing_volatile_function_to_primary "answered '$got' (want 7|$PG_PORT: a VOLATILE function may write)"; fi
  got="$(for k in 1 2 3 4; do rt_psql cluster -c 'select inet_server_port(), pg_is_in_recovery(), it_routing_stable() > 0' 2>&1; done | tr '\n' ' ')"
  if rt_all "$got" "($r1|$r2)\|t\|t"; then result_ok routing_stable_function_to_replica
  else result_fail routing_stable_function_to_replica "answered '$got' (want replicas: a STABLE function only reads)"; fi
  got="$(for k in 1 2; do rt_psql cluster -c 'select inet_server_port(), it_routing_volatile_reader() > 0' 2>&1; done | tr '\n' ' ')"
  if [ "$got" = "$PG_PORT|t $PG_PORT|t " ]; then result_ok routing_volatile_reader_unlisted_to_primary
  else result_fail routing_volatile_reader_unlisted_to_primary "answered '$got' (want the primary twice)"; fi
  got="$(for k in 1 2 3 4; do rt_psql cluster -c 'select inet_server_port(), pg_is_in_recovery(), it_routing_volatile_listed() > 0' 2>&1; done | tr '\n' ' ')"
  if rt_all "$got" "($r1|$r2)\|t\|t"; then result_ok routing_read_only_functions_to_replica
  else result_fail routing_read_only_functions_to_replica "answered '$got' (want replicas: read_only_functions lists it)"; fi
}

# rt_cancel_on_replica R1 R2: a query running on a replica is cancelled through the proxy (psql sends a CancelRequest
# when interrupted); the replica shows it running first, and the client hears 57014 at once.
rt_cancel_on_replica() {
  local r1="$1" r2="$2" pid k port on="" t0 t1 out
  PGPASSWORD=scram_pw psql -X -q -At -h "$PROXY_HOST" -p "$PROXY_PORT" -U scram_user -d cluster \
    -c 'select inet_server_port(), pg_sleep(30) /* it_routing_cancel */' >"$WORK/routing-cancel.out" 2>&1 &
  pid=$!
  for k in $(seq 1 50); do
    for port in "$r1" "$r2"; do
      [ "$(rt_super "$port" -c "select count(*) from pg_stat_activity where query like '%it_routing_cancel%' and pid <> pg_backend_pid()" 2>/dev/null)" = 1 ] && on="$port"
    done
    [ -n "$on" ] && break
    sleep 0.1
  done
  t0="$(rt_now)"
  kill -INT "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  t1="$(rt_now)"
  out="$(tr '\n' ' ' <"$WORK/routing-cancel.out")"
  echo "cancel on replica ${on:-none}: $(rt_ms "$t0" "$t1") ms: $out" >&2
  if [ -n "$on" ] && [[ "$out" == *"canceling statement due to user request"* ]] && [ "$(rt_ms "$t0" "$t1")" -lt 5000 ]; then
    result_ok routing_cancel_on_replica
  else
    result_fail routing_cancel_on_replica "running on replica '${on:-none}', answered in $(rt_ms "$t0" "$t1") ms: '$(cut -c1-200 <<<"$out")' (want a replica, 57014 within 5 s)"
  fi
}

# rt_three_at_once DB SLEEP: three clients in a transaction at once on entry DB; what each answered (port|recovery).
rt_three_at_once() {
  local db="$1" pause="$2" k pids=()
  for k in 1 2 3; do
    rt_psql "$db" -c 'BEGIN' -c 'select inet_server_port(), pg_is_in_recovery()' -c "select pg_sleep($pause)" -c 'COMMIT' \
      >"$WORK/routing-$db-$k.out" 2>&1 &
    pids+=($!)
  done
  for k in "${pids[@]}"; do wait "$k" || true; done
  cat "$WORK"/routing-"$db"-{1,2,3}.out | grep -v '^$' | tr '\n' ' '
}

routing_plain_entry() {
  local r1="$1" r2="$2" got
  echo "--- routing_plain_entry: three clients in a transaction at once on entry plain" >&2
  got="$(rt_three_at_once plain 1.5)"
  echo "$got" >&2
  # Three servers at once from a fresh pool whose connects go round [primary, r1, r2]: all three could be on the
  # primary only after six connects before them, and three clients make six at most (a login's and a transaction's).
  if rt_all "$got" "$PG_PORT\|f|$rep" && [ "$(wc -w <<<"$got")" = 3 ] && [[ "$got" == *"|t "* ]]; then
    result_ok routing_entry_split_off_plain_host_list
  else
    result_fail routing_entry_split_off_plain_host_list "three transactions answered '$got' (want three answers, a replica among them)"
  fi
  # The same on the split entry: every transaction on the primary.
  got="$(rt_three_at_once cluster 0.5)"
  echo "$got" >&2
  if [ "$got" = "$PG_PORT|f $PG_PORT|f $PG_PORT|f " ]; then result_ok routing_entry_split_on_transactions_primary
  else result_fail routing_entry_split_on_transactions_primary "three transactions answered '$got' (want $PG_PORT|f each)"; fi
}

# Read-your-writes (lsn): one client alternating a write and a read 200 times, with one replica's replay paused,
# always sees its own last write; another client's reads still reach the paused replica, which has none of them.
routing_read_your_writes() {
  local r1="$1" r2="$2" i out rc=0 bad n on_r1
  echo "--- routing_read_your_writes: pausing replay on $r1" >&2
  rt_psql cluster -c 'truncate it_routing_ryw' >&2 2>&1 || true
  rt_wait_replayed "$r1" "$r2" || true
  rt_super "$r1" -c 'SELECT pg_wal_replay_pause()' >&2 || true
  for i in $(seq 1 200); do
    echo "insert into it_routing_ryw (counter) values ($i);"
    echo "select $i, max(counter), count(*), inet_server_port() from it_routing_ryw;"
  done >"$WORK/routing-ryw.sql"
  out="$(rt_psql cluster -v ON_ERROR_STOP=1 -f "$WORK/routing-ryw.sql" 2>&1)" || rc=$?
  n="$(grep -c '' <<<"$out")"
  bad="$(awk -F'|' '$1 != $2 || $1 != $3' <<<"$out" | head -n 3 | tr '\n' ' ')"
  on_r1="$(awk -F'|' -v p="$r1" '$4 == p' <<<"$out" | grep -c '')" || true
  echo "reads by node: $(awk -F'|' '{ print $4 }' <<<"$out" | sort | uniq -c | tr '\n' ' ')" >&2
  if [ "$rc" = 0 ] && [ "$n" = 200 ] && [ -z "$bad" ] && [ "$on_r1" = 0 ]; then result_ok routing_read_your_writes_200
  else
    result_fail routing_read_your_writes_200 "exit $rc, $n answers, wrong ones (want i|i|i|port): '$bad', $on_r1 read(s) on the paused $r1; '$(tail -n 2 <<<"$out" | tr '\n' ' ' | cut -c1-200)'"
  fi
  # A slower client: a write, then a read once the health checks may have seen it replayed (\! sleep 1.5): never the
  # paused replica, and the one that has the write takes some of the reads.
  for i in $(seq 201 205); do
    echo "insert into it_routing_ryw (counter) values ($i);"
    echo '\! sleep 1.5'
    echo "select $i, max(counter), count(*), inet_server_port() from it_routing_ryw;"
  done >"$WORK/routing-ryw-slow.sql"
  rc=0
  out="$(rt_psql cluster -v ON_ERROR_STOP=1 -f "$WORK/routing-ryw-slow.sql" 2>&1)" || rc=$?
  printf '%s\n' "$out" >&2
  n="$(grep -c '' <<<"$out")"
  bad="$(awk -F'|' '$1 != $2 || $1 != $3' <<<"$out" | head -n 3 | tr '\n' ' ')"
  on_r1="$(awk -F'|' -v p="$r1" '$4 == p' <<<"$out" | grep -c '')" || true
  if [ "$rc" = 0 ] && [ "$n" = 5 ] && [ -z "$bad" ] && [ "$on_r1" = 0 ] && grep -q "|$r2\$" <<<"$out"; then
    result_ok routing_read_your_writes_caught_up_replica
  else
    result_fail routing_read_your_writes_caught_up_replica "exit $rc, answers '$(tr '\n' ' ' <<<"$out" | cut -c1-200)' (want i|i|i|port five times, never $r1, $r2 at least once)"
  fi
  # Another client has no write to wait for: reads go round both replicas, and the paused one has none of the rows.
  local got
  rt_wait_replayed "$r2" || true
  got="$(for i in 1 2 3 4; do rt_psql cluster -c 'select count(*), inet_server_port() from it_routing_ryw' 2>&1; done | tr '\n' ' ')"
  echo "$got" >&2
  if [[ "$got" == *"0|$r1 "* ]] && [[ "$got" == *"205|$r2 "* ]]; then result_ok routing_paused_replica_serves_other_clients
  else result_fail routing_paused_replica_serves_other_clients "answers '$got' (want 0|$r1 and 205|$r2 among them)"; fi
  rt_super "$r1" -c 'SELECT pg_wal_replay_resume()' >&2 || true
  rt_wait_replayed "$r1" >&2 || true
}

# replica_max_lag = 64kB (entry lagged): a replica whose replay is paused while the primary writes ~4 MB gets no
# reads once the checks see it behind; it gets them again once it has caught up.
routing_max_lag() {
  local r1="$1" r2="$2" got
  echo "--- routing_max_lag: pausing replay on $r1, writing ~4 MB" >&2
  rt_super "$r1" -c 'SELECT pg_wal_replay_pause()' >&2 || true
  rt_psql lagged -c "insert into it_routing_lag select g, repeat('x', 1000) from generate_series(1, 4000) g" >&2 2>&1 || true
  if rt_wait_lag lagged "$r1" above 65536 15 && rt_wait_lag lagged "$r2" within 65536 15; then
    got="$(rt_reads lagged 6)"
    if rt_all "$got" "$r2\|t"; then result_ok routing_max_lag_excludes_replica
    else result_fail routing_max_lag_excludes_replica "answers '$got' (want $r2|t only: $r1 is behind)"; fi
  else
    result_fail routing_max_lag_excludes_replica "SHOW NODES never showed $r1 > 64kB behind and $r2 within: $(rt_nodes lagged | tr '\n' ' ')"
  fi
  rt_super "$r1" -c 'SELECT pg_wal_replay_resume()' >&2 || true
  if rt_wait_lag lagged "$r1" within 65536 20; then
    got="$(rt_reads lagged 6)"
    if rt_all "$got" "$rep" && [[ "$got" == *"$r1|t"* ]]; then result_ok routing_max_lag_replica_back
    else result_fail routing_max_lag_replica_back "answers '$got' (want replicas only, $r1 among them)"; fi
  else
    result_fail routing_max_lag_replica_back "SHOW NODES never showed $r1 caught up: $(rt_nodes lagged | tr '\n' ' ')"
  fi
}

# primary_reads = never (entry never) with both replicas drained: a read fails with 08006 naming why, the same client
# still writes; with the primary drained too a write fails at once (08006).
routing_primary_reads_never() {
  local r1="$1" r2="$2" out rc=0 t0 t1 got
  rt_admin "DRAIN NODE never $PG_HOST:$r1" >&2 || true
  rt_admin "DRAIN NODE never $PG_HOST:$r2" >&2 || true
  rt_wait_nodes never "$PG_HOST|$r1|replica|drained" "$PG_HOST|$r2|replica|drained" || true
  out="$(rt_psql never -v VERBOSITY=verbose -c 'select inet_server_port()' \
           -c 'insert into it_routing (counter) values (5) returning inet_server_port()' 2>&1)" || rc=$?
  printf '%s\n' "$out" >&2
  if grep -q '^ERROR:  08006: pgswift: no replica may take reads (primary_reads = never)' <<<"$out" &&
     [[ "$out" == *"$PG_HOST:$r1"* ]] && [[ "$out" == *"$PG_HOST:$r2"* ]]; then
    result_ok routing_never_read_fails_08006
  else
    result_fail routing_never_read_fails_08006 "exit $rc, '$(tr '\n' ' ' <<<"$out" | cut -c1-250)' (want ERROR 08006 pgswift: no replica may take reads (primary_reads = never)... naming $PG_HOST:$r1 and $PG_HOST:$r2)"
  fi
  if [ "$(tail -n 1 <<<"$out")" = "$PG_PORT" ]; then result_ok routing_never_client_still_writes
  else result_fail routing_never_client_still_writes "after the refused read: '$(tr '\n' ' ' <<<"$out" | cut -c1-250)' (want $PG_PORT last)"; fi

  rt_admin "DRAIN NODE never $PG_HOST:$PG_PORT" >&2 || true
  rc=0
  t0="$(date +%s%N)"
  out="$(rt_psql never -v VERBOSITY=verbose -c 'insert into it_routing (counter) values (6) returning inet_server_port()' 2>&1)" || rc=$?
  t1="$(date +%s%N)"
  printf '%s\n' "$out" >&2
  if [ "$rc" != 0 ] && grep -q '^ERROR:  08006: pgswift: ' <<<"$out" && [ $(((t1 - t0) / 1000000)) -lt 3000 ]; then
    result_ok routing_no_primary_write_fails_08006
  else
    result_fail routing_no_primary_write_fails_08006 "exit $rc after $(((t1 - t0) / 1000000)) ms: '$(tr '\n' ' ' <<<"$out" | cut -c1-250)' (want ERROR 08006 pgswift: ... at once)"
  fi
  rt_admin "UNDRAIN NODE never $PG_HOST:$PG_PORT" >&2 || true
  rt_admin "UNDRAIN NODE never $PG_HOST:$r1" >&2 || true
  rt_admin "UNDRAIN NODE never $PG_HOST:$r2" >&2 || true
  rt_wait_nodes never "$PG_HOST|$PG_PORT|primary|up" "$PG_HOST|$r1|replica|up" "$PG_HOST|$r2|replica|up" || true
  got="$(rt_reads never 2)"
  if rt_all "$got" "$rep"; then result_ok routing_never_reads_after_undrain
  else result_fail routing_never_reads_after_undrain "answers '$got' (want replicas)"; fi
}

# Session mode (entry sess): the whole session on the primary by default; target_session_attrs in the startup options
# picks the kind of node; an invalid value fails the login.
routing_session_mode() {
  local attrs want out rc
  rt_expect_lines routing_session_default_primary "$pr" 2 \
    rt_psql sess -c 'select inet_server_port(), pg_is_in_recovery()' -c 'select inet_server_port(), pg_is_in_recovery()'
  for attrs in primary read-write standby read-only prefer-standby any; do
    case "$attrs" in
      primary|read-write) want="$pr" ;;
      any) want="$pr|$rep" ;;
      *) want="$rep" ;;
    esac
    RT_SAME=1 PGOPTIONS="-c target_session_attrs=$attrs" rt_expect_lines "routing_session_attrs_$attrs" "$want" 3 \
      rt_psql sess -c 'select inet_server_port(), pg_is_in_recovery()' -c 'select inet_server_port(), pg_is_in_recovery()' \
        -c 'select inet_server_port(), pg_is_in_recovery()'
  done
  rc=0
  out="$(PGOPTIONS='-c target_session_attrs=bogus' rt_psql sess -c 'select 1' 2>&1)" || rc=$?
  printf '%s\n' "$out" >&2
  if [ "$rc" != 0 ] && [[ "$out" == *'invalid target_session_attrs value'* ]]; then result_ok routing_session_attrs_invalid
  else result_fail routing_session_attrs_invalid "exit $rc, '$(tr '\n' ' ' <<<"$out" | cut -c1-200)' (want a login error: invalid target_session_attrs value)"; fi
}

# rt_now: the clock the load's lines use (epoch seconds, microseconds).
rt_now() { date +%s.%6N; }

# rt_ms FROM TO: milliseconds between two rt_now readings.
rt_ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%d", (b - a) * 1000 }'; }

# rt_acks FILE: how many commits the load has had acknowledged so far.
rt_acks() {
  local n
  n="$(grep -c '^ack ' "$1" 2>/dev/null)" || true
  echo "${n:-0}"
}

# A failover under write load.  Commits are acknowledged only once replica 1 has applied them (synchronous_commit =
# remote_apply, synchronous_standby_names naming it: with '*' the one standby waited for could be replica 2, and
# replica 1 promoted could then miss acknowledged commits).  A proxy with health checks every second (2 failures: down)
# over the three hosts takes one writer (one row per transaction, increasing ids) and one reader
# (clients/failover_load.py).  The primary is stopped hard, replica 1 promoted a second later: writes resume within two
# health_check_periods of the promotion, every acknowledged id is on the new primary and no id whose attempt failed
# before its COMMIT is, reads go on throughout.  The old primary started again is fenced (stale) while the writes stay
# on the new one.  Then the topology is put back as the other groups and the next run expect (rt_failover_restore).
rt_failover() {
  local r1="$1" r2="$2" fo="$WORK/routing-failover" got k t0 t_down t_promote t_promoted t_back t_stale ms
  local hosts="host=$PG_HOST,$PG_HOST,$PG_HOST port=$PG_PORT,$r1,$r2 dbname=pgswift_test"
  RT_FO_LOAD_PID=""

  echo "--- routing_failover: synchronous commit (remote_apply) to replica-$r1" >&2
  rt_super "$PG_PORT" -c "ALTER SYSTEM SET synchronous_standby_names = '\"replica-$r1\"'" \
    -c "ALTER SYSTEM SET synchronous_commit = 'remote_apply'" -c 'SELECT pg_reload_conf()' >&2 2>&1 || true
  for k in $(seq 1 50); do
    got="$(rt_super "$PG_PORT" -c "SELECT current_setting('synchronous_commit') || ' ' || string_agg(application_name || ':' || sync_state, ' ' ORDER BY application_name) FROM pg_stat_replication" 2>&1)" || true
    [[ "$got" == "remote_apply "*"replica-$r1:sync"* ]] && break
    sleep 0.2
  done
  echo "synchronous_commit and pg_stat_replication: $got" >&2
  if [[ "$got" == "remote_apply "*"replica-$r1:sync"* ]]; then result_ok routing_failover_sync_replication
  else
    result_fail routing_failover_sync_replication "'$got' (want remote_apply and replica-$r1:sync)"
    rt_failover_restore "$r1"
    return 0
  fi

  CURRENT_PROXY=""
  use_proxy routing-failover pool_mode=transaction read_write_split=1 health_check_period=1 health_check_timeout=1 \
    health_check_failures=2 health_check_successes=1 health_check_user=pgswift_monitor admin_users=pgswift_admin \
    "db:cluster=$hosts" || { rt_failover_restore "$r1"; return 0; }
  if ! rt_wait_nodes cluster "$PG_HOST|$PG_PORT|primary|up|closed" "$PG_HOST|$r1|replica|up|closed" "$PG_HOST|$r2|replica|up|closed" ||
     ! rt_psql cluster -v ON_ERROR_STOP=1 >&2 2>&1 <<'SQL'; then
DROP TABLE IF EXISTS it_routing_failover;
CREATE TABLE it_routing_failover (id bigint PRIMARY KEY, port int DEFAULT inet_server_port(), at timestamptz DEFAULT clock_timestamp());
SQL
    result_fail routing_failover_setup "SHOW NODES: $(tr '\n' ' ' <<<"$NODES" | cut -c1-300), or the table could not be made (group log)"
    rt_failover_restore "$r1"
    return 0
  fi

  # The load: until $fo.stop exists (120 s at most).
  rm -f "$fo.stop" "$fo.log"
  PYTHONPATH="$IT_DIR/clients" PYTHONDONTWRITEBYTECODE=1 PROXY_HOST="$PROXY_HOST" PROXY_PORT="$PROXY_PORT" \
    TEST_USER=scram_user TEST_PASSWORD=scram_pw \
    "$PY" "$IT_DIR/clients/failover_load.py" --db cluster --table it_routing_failover --out "$fo.log" --stop "$fo.stop" \
      --max-seconds 120 >"$fo.err" 2>&1 &
  RT_FO_LOAD_PID=$!
  for k in $(seq 1 100); do
    [ "$(rt_acks "$fo.log")" -ge 100 ] && grep -q '^read ' "$fo.log" && break
    sleep 0.1
  done
  if [ "$(rt_acks "$fo.log")" -lt 100 ] || ! grep -q '^read ' "$fo.log"; then
    result_fail routing_failover_load "the load had $(rt_acks "$fo.log") acknowledged writes and $(grep -c '^read ' "$fo.log") reads after 10 s (want 100 and 1; $fo.err: $(tail -n 3 "$fo.err" | tr '\n' ' ' | cut -c1-200))"
    rt_failover_restore "$r1"
    return 0
  fi

  echo "--- routing_failover: stopping the primary (immediate) under load" >&2
  t0="$(rt_now)"
  run_as "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w stop >&2 2>&1 || true
  t_down="$(rt_now)"
  sleep 1
  echo "SHOW NODES with the primary down: $(rt_nodes cluster | tr '\n' ' ')" >&2
  echo "--- routing_failover: promoting the replica on $r1" >&2
  t_promote="$(rt_now)"
  rt_super "$r1" -c 'SELECT pg_promote()' >&2 2>&1 || true
  t_promoted="$(rt_now)"
  echo "primary stopped in $(rt_ms "$t0" "$t_down") ms; pg_promote() returned after $(rt_ms "$t_promote" "$t_promoted") ms" >&2
  # Until a write started after the primary was down is acknowledged (15 s).
  for k in $(seq 1 150); do
    awk -v d="$t_down" '$1 == "ack" && $3 >= d { f = 1; exit } END { exit !f }' "$fo.log" && break
    sleep 0.1
  done

  if ! awk -v d="$t_down" '$1 == "ack" && $3 >= d { f = 1; exit } END { exit !f }' "$fo.log"; then
    echo "no write acknowledged since the primary went down; the console says:" >&2
    for k in 'SHOW CLIENTS' 'SHOW SERVERS' 'SHOW POOLS' 'SHOW NODES'; do rt_admin "$k" >&2 2>&1 || true; done
  fi
  # The other replica streamed from the old primary: with it gone it follows nobody, still on the old timeline. It is
  # fenced (stale) and gets no reads, or it would serve data frozen at the failover.
  if rt_wait_nodes cluster "$PG_HOST|$r2|replica|stale"; then
    got=""
    for k in 1 2 3 4; do got+="$(rt_psql cluster -c 'select inet_server_port()' 2>&1 | tr '\n' ' ')"; done
    echo "reads with $r2 fenced: $got" >&2
    if [[ "$got" != *"$r2"* ]]; then result_ok routing_failover_orphan_replica_fenced
    else result_fail routing_failover_orphan_replica_fenced "reads answered by '$got' (want none from $r2, fenced)"; fi
  else
    result_fail routing_failover_orphan_replica_fenced "SHOW NODES: $(tr '\n' ' ' <<<"$NODES" | cut -c1-300) (want $r2 replica stale: it follows nobody on the old timeline)"
  fi

  # The old primary back, still on the old timeline (and still asking for replica 1's apply at every commit: a write
  # sent there would hang): fenced within two checks, while the load goes on.
  echo "--- routing_failover: starting the old primary again" >&2
  run_as "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG_DIR/postgresql.log" -w -t 120 start >&2 2>&1 || true
  t_back="$(rt_now)"
  if rt_wait_nodes cluster "$PG_HOST|$PG_PORT|primary|stale" "$PG_HOST|$r1|primary|up"; then
    t_stale="$(rt_now)"
    ms="$(rt_ms "$t_back" "$t_stale")"
    echo "old primary stale $ms ms after it was back; SHOW NODES: $(tr '\n' ' ' <<<"$NODES")" >&2
    if [ "$ms" -le 5000 ]; then result_ok routing_failover_old_primary_fenced
    else result_fail routing_failover_old_primary_fenced "stale only $ms ms after the old primary was back (want 5000 at most)"; fi
  else
    result_fail routing_failover_old_primary_fenced "SHOW NODES 15 s after the old primary was back: $(tr '\n' ' ' <<<"$NODES" | cut -c1-300) (want $PG_PORT primary stale, $r1 primary up)"
  fi
  sleep 1.5
  touch "$fo.stop"
  for k in $(seq 1 100); do pid_running "$RT_FO_LOAD_PID" || break; sleep 0.1; done
  if pid_running "$RT_FO_LOAD_PID"; then
    echo "the load did not stop within 10 s of $fo.stop (a statement hanging): killed" >&2
    kill "$RT_FO_LOAD_PID" 2>/dev/null || true
  fi
  wait "$RT_FO_LOAD_PID" 2>/dev/null || true
  RT_FO_LOAD_PID=""
  echo "load: $(tail -n 1 "$fo.log") (done ACKS FAILS DOUBTS RECONNECTS READS READFAILS); failures:" >&2
  grep -E '^(fail|doubt|reconnect|readfail) ' "$fo.log" | awk '{ $2 = $3 = $4 = ""; print }' | sort | uniq -c | sort -rn | head -n 12 >&2

  rt_failover_judge "$r1" "$fo" "$t_down" "$t_promote" "$t_back"

  # New clients after the failover: their writes on the new primary (a timeout, in case one were sent to the old).
  got=""
  for k in 1 2 3 4; do
    got+="$(PGPASSWORD=scram_pw timeout 10 psql -X -q -At -h "$PROXY_HOST" -p "$PROXY_PORT" -U scram_user -d cluster \
      -c "insert into it_routing_failover (id) values (-$k) returning inet_server_port()" 2>&1 | tr '\n' ' ')"
  done
  echo "new clients' writes: $got" >&2
  if [ "$got" = "$r1 $r1 $r1 $r1 " ]; then result_ok routing_failover_new_clients_write_new_primary
  else result_fail routing_failover_new_clients_write_new_primary "answers '$got' (want $r1 four times)"; fi

  rt_failover_restore "$r1"
}

# rt_failover_judge R1 LOAD_FILE T_DOWN T_PROMOTE T_BACK: the checks over what the load recorded.
rt_failover_judge() {
  local r1="$1" fo="$2" t_down="$3" t_promote="$4" t_back="$5" got lost phantom acks bad last
  # Promotion (the pg_promote() call) -> the first acknowledged write started after the primary was down.
  got="$(awk -v d="$t_down" -v p="$t_promote" '$1 == "ack" && $3 >= d { printf "%d %s", ($4 - p) * 1000, $5; exit }' "$fo.log")"
  echo "promotion -> first acknowledged write: ${got:-none} (ms port)" >&2
  if [ -n "$got" ] && [ "${got% *}" -le 3000 ] && [ "${got#* }" = "$r1" ]; then
    result_ok routing_failover_writes_resume
  else
    result_fail routing_failover_writes_resume "promotion -> first acknowledged write '${got:-none}' (ms port; want at most 3000 ms, on $r1)"
  fi
  # Every write begun once the primary was down that was acknowledged ran on the new primary, and they kept coming
  # until the load stopped (through the old primary's return and fencing).
  got="$(awk -v d="$t_down" -v r="$r1" '$1 == "ack" && $3 >= d { n++; if ($5 != r) bad++; last = $4 } END { printf "%d %d %s", n, bad, last }' "$fo.log")"
  read -r acks bad last <<<"$got"
  echo "after the primary was down: $acks acknowledged writes, $bad not on $r1, the last at $last (old primary back at $t_back)" >&2
  if [ "$acks" -gt 0 ] && [ "$bad" = 0 ] && awk -v l="$last" -v b="$t_back" 'BEGIN { exit !(l > b + 1) }'; then
    result_ok routing_failover_writes_on_new_primary
  else
    result_fail routing_failover_writes_on_new_primary "$acks acknowledged writes after the primary was down, $bad of them not on $r1, the last at $last (want all on $r1, going on past the old primary's return at $t_back)"
  fi
  # Durability: every acknowledged id is on the new primary; no id whose attempt failed before its COMMIT is.
  awk '$1 == "ack" { print $2 }' "$fo.log" | sort >"$fo.acked"
  awk '$1 == "fail" { print $2 }' "$fo.log" | sort >"$fo.failed"
  if rt_super "$r1" -d pgswift_test -c 'SELECT id FROM it_routing_failover WHERE id > 0' 2>"$fo.count.err" | sort >"$fo.present" &&
     [ ! -s "$fo.count.err" ]; then
    acks="$(grep -c '' "$fo.acked")" || true
    lost="$(comm -23 "$fo.acked" "$fo.present" | grep -c '')" || true
    phantom="$(comm -12 "$fo.failed" "$fo.present" | grep -c '')" || true
    echo "$acks acknowledged ids, $(grep -c '' "$fo.present") rows on $r1, $lost acknowledged id(s) missing ($(comm -23 "$fo.acked" "$fo.present" | head -n 5 | tr '\n' ' ')), $phantom failed id(s) present" >&2
    if [ "$acks" -gt 0 ] && [ "$lost" = 0 ] && [ "$phantom" = 0 ]; then result_ok routing_failover_no_acknowledged_write_lost
    else result_fail routing_failover_no_acknowledged_write_lost "$lost of $acks acknowledged ids missing on the new primary $r1, $phantom ids whose attempt failed before COMMIT present"; fi
  else
    result_fail routing_failover_no_acknowledged_write_lost "could not read the rows on $r1: $(head -c 200 "$fo.count.err")"
  fi
  # The writes attempted while there was no primary failed at once (an error, not a wait): none took a second.
  got="$(awk '$1 == "fail" || $1 == "doubt" { n++; d = $4 - $3; if (d > m) m = d } END { printf "%d %d", n, m * 1000 }' "$fo.log")"
  echo "failed write attempts: ${got% *}, the longest ${got#* } ms" >&2
  if [ "${got#* }" -lt 1000 ]; then result_ok routing_failover_writes_fail_at_once
  else result_fail routing_failover_writes_fail_at_once "${got% *} failed write attempts, the longest took ${got#* } ms (want under 1000 ms each)"; fi
  # Reads outside a transaction have replicas (and then the new primary) all along: none fails.
  got="$(awk '$1 == "read" { n++ } $1 == "readfail" { f++ } END { printf "%d %d", n, f }' "$fo.log")"
  echo "reads: ${got% *} answered, ${got#* } failed; after the promotion, by node: $(awk -v p="$t_promote" '$1 == "read" && $2 >= p { n[$4]++ } END { for (k in n) printf "%s:%d ", k, n[k] }' "$fo.log")" >&2
  if [ "${got% *}" -gt 0 ] && [ "${got#* }" = 0 ]; then result_ok routing_failover_reads_kept_working
  else result_fail routing_failover_reads_kept_working "${got% *} reads answered, ${got#* } failed (want none failed): $(grep -m 3 '^readfail ' "$fo.log" | tr '\n' ' ' | cut -c1-250)"; fi
}

# rt_failover_restore R1: the topology the other groups and the next run expect: the old primary running, without the
# synchronous settings (its commits would wait for a standby forever), as scripts/pg-local left it; the replicas gone
# (the next run copies new ones from it; the old primary's timeline stays behind the promoted replica's, which goes).
rt_failover_restore() {
  local r1="$1" ok=1 got
  echo "--- routing_failover: restoring the topology" >&2
  if [ -n "${RT_FO_LOAD_PID:-}" ]; then
    kill "$RT_FO_LOAD_PID" 2>/dev/null || true
    wait "$RT_FO_LOAD_PID" 2>/dev/null || true
    RT_FO_LOAD_PID=""
  fi
  proxy_stop
  if ! run_as "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
    run_as "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG_DIR/postgresql.log" -w -t 120 start >&2 2>&1 || ok=0
  fi
  rt_super "$PG_PORT" -c 'ALTER SYSTEM RESET synchronous_standby_names' -c 'ALTER SYSTEM RESET synchronous_commit' \
    -c 'SELECT pg_reload_conf()' >&2 2>&1 || ok=0
  "$REPO/scripts/pg-replicas" purge >&2 2>&1 || ok=0
  timeout 120 "$REPO/scripts/pg-local" start >&2 2>&1 || ok=0
  "$REPO/scripts/pg-local" status >&2 2>&1 || ok=0
  # A commit that needs a transaction id, within 10 s: no synchronous standby is waited for.
  got="$(run_as timeout 10 "$PG_BIN/psql" -X -q -At -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U "$PG_SUPERUSER" -d postgres \
    -c "SELECT current_setting('synchronous_standby_names') = '' AND pg_current_xact_id() IS NOT NULL AND NOT pg_is_in_recovery()" 2>&1)" || ok=0
  if [ "$ok" = 1 ] && [ "$got" = t ]; then result_ok routing_failover_topology_restored
  else result_fail routing_failover_topology_restored "pg-local or pg-replicas failed, or the primary answered '$got' (want t: no synchronous standby, commits, not in recovery)"; fi
}

# rt_auto_failover R1 R2: auto_failover with two pgswift instances watching the same cluster. The primary stopped
# hard: after failover_timeout exactly one instance promotes the most advanced replica (as pgswift_monitor, granted
# pg_promote), both send writes there, and the other replica, left on the old timeline, is fenced.
rt_auto_failover() {
  local r1="$1" r2="$2" second="$WORK/routing-auto-second" got k promoted="" other promoters
  echo "--- routing_auto_failover: fresh replicas, pg_promote granted to pgswift_monitor" >&2
  rt_super "$PG_PORT" -d pgswift_test -c 'GRANT EXECUTE ON FUNCTION pg_promote(boolean, integer) TO pgswift_monitor' >&2 2>&1 || true
  if ! "$REPO/scripts/pg-replicas" start 2 >&2; then
    result_fail routing_auto_failover "scripts/pg-replicas start 2 failed"
    return 0
  fi
  local settings=(pool_mode=transaction read_write_split=1 auto_failover=1 failover_timeout=2 health_check_period=1
                  health_check_timeout=1 health_check_failures=2 health_check_successes=1 health_check_user=pgswift_monitor
                  admin_users=pgswift_admin "db:cluster=host=$PG_HOST,$PG_HOST,$PG_HOST port=$PG_PORT,$r1,$r2 dbname=pgswift_test")
  CURRENT_PROXY=""
  use_proxy routing-auto "${settings[@]}" || { rt_auto_failover_restore; return 0; }
  # The second instance: the same config on the next free port, its own socket directory.
  local port2
  port2="$(hosts_closed_port $((PROXY_PORT + 71)))"
  mkdir_owned 0755 "$second.sock"
  sed -e "s/^listen_port = .*/listen_port = $port2/" -e "s|^unix_socket_dir = .*|unix_socket_dir = $second.sock|" \
    "$WORK/routing-auto.ini" >"$second.ini"
  start_daemon "$second.pid" "$second.log" "$PROXY_BIN" "$second.ini"
  if ! wait_tcp "$PROXY_HOST" "$port2" 20 "$(cat "$second.pid")" ||
     ! rt_wait_nodes cluster "$PG_HOST|$PG_PORT|primary|up|closed" "$PG_HOST|$r1|replica|up|closed" "$PG_HOST|$r2|replica|up|closed"; then
    result_fail routing_auto_failover "the second instance did not start, or SHOW NODES: $(tr '\n' ' ' <<<"$NODES" | cut -c1-300)"
    rt_auto_failover_restore
    return 0
  fi
  # Both replicas replayed everything: the candidate is the first listed, whichever instance decides.
  rt_wait_replayed "$r1" "$r2" || true
  echo "--- routing_auto_failover: stopping the primary (immediate)" >&2
  run_as "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w stop >&2 2>&1 || true
  for k in $(seq 1 60); do
    NODES="$(rt_nodes cluster)"
    if grep -q "^$PG_HOST|$r1|primary|up|" <<<"$NODES"; then promoted="$r1"; break; fi
    if grep -q "^$PG_HOST|$r2|primary|up|" <<<"$NODES"; then promoted="$r2"; break; fi
    sleep 0.5
  done
  echo "SHOW NODES after the primary stopped: $(tr '\n' ' ' <<<"$NODES")" >&2
  grep -h "auto_failover" "$WORK/logs/proxy-routing-auto.log" "$second.log" >&2 || true
  promoters="$(grep -l "auto_failover: promoted" "$WORK/logs/proxy-routing-auto.log" "$second.log" 2>/dev/null | grep -c '')" || true
  if [ "$promoted" = "$r1" ] && [ "$promoters" = 1 ]; then result_ok routing_auto_failover_one_instance_promotes
  else result_fail routing_auto_failover_one_instance_promotes "promoted '${promoted:-none}' (want $r1, the first listed of two alike), $promoters instance(s) logged a promotion (want 1)"; fi
  # Writes through either instance land on the new primary.
  got="$(rt_psql cluster -c 'create table if not exists it_routing_auto (id int)' -c 'insert into it_routing_auto values (1) returning inet_server_port()' 2>&1 | tr '\n' ' ')"
  got+="$(PGPASSWORD=scram_pw psql -X -q -At -h "$PROXY_HOST" -p "$port2" -U scram_user -d cluster \
    -c 'insert into it_routing_auto values (2) returning inet_server_port()' 2>&1 | tr '\n' ' ')"
  echo "writes after the automatic failover: $got" >&2
  if [ -n "$promoted" ] && [ "$got" = "$promoted $promoted " ]; then result_ok routing_auto_failover_writes_resume
  else result_fail routing_auto_failover_writes_resume "writes answered '$got' (want $promoted through both instances)"; fi
  other="$r2"
  [ "$promoted" = "$r2" ] && other="$r1"
  if rt_wait_nodes cluster "$PG_HOST|$other|replica|stale"; then result_ok routing_auto_failover_orphan_fenced
  else result_fail routing_auto_failover_orphan_fenced "SHOW NODES: $(tr '\n' ' ' <<<"$NODES" | cut -c1-300) (want $other replica stale)"; fi
  rt_auto_failover_restore
}

rt_auto_failover_restore() {
  echo "--- routing_auto_failover: restoring the topology" >&2
  stop_pidfile "$WORK/routing-auto-second.pid" 10
  proxy_stop
  if ! run_as "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
    run_as "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG_DIR/postgresql.log" -w -t 120 start >&2 2>&1 || true
  fi
  rt_super "$PG_PORT" -d pgswift_test -c 'REVOKE EXECUTE ON FUNCTION pg_promote(boolean, integer) FROM pgswift_monitor' >&2 2>&1 || true
  "$REPO/scripts/pg-replicas" purge >&2 2>&1 || true
  timeout 120 "$REPO/scripts/pg-local" start >&2 2>&1 || true
}

# rt_switchover R1 R2: a planned switchover the way Patroni does one, unseen by pgswift's checks (every 30 s): the
# primary shut down cleanly, replica 1 promoted, the old primary started again as replica 1's standby. The first
# transaction after it (BEGIN, then an INSERT, as psycopg sends them) goes to the old primary, which pgswift's last
# check called the primary: the INSERT is refused there with 25006, and pgswift sends the transaction, BEGIN first,
# to replica 1 once the checks have found it is the primary now. The client sees none of this.
rt_switchover() {
  local r1="$1" r2="$2" got k
  echo "--- routing_switchover: fresh replicas, checks every 30 s" >&2
  if ! "$REPO/scripts/pg-replicas" start 2 >&2; then
    result_fail routing_switchover_write_retried "scripts/pg-replicas start 2 failed"
    return 0
  fi
  # The functions below must be unknown to the proxy's first checks (a run before this one left them).
  rt_super "$PG_PORT" -d pgswift_test -c 'DROP FUNCTION IF EXISTS it_switch_writes()' -c 'DROP FUNCTION IF EXISTS it_switch_volatile()' >&2 2>&1 || true
  CURRENT_PROXY=""
  use_proxy routing-switch pool_mode=transaction default_pool_size=1 read_write_split=1 health_check_period=30 health_check_timeout=2 \
    health_check_failures=2 health_check_successes=1 health_check_user=pgswift_monitor admin_users=pgswift_admin \
    "db:cluster=host=$PG_HOST,$PG_HOST,$PG_HOST port=$PG_PORT,$r1,$r2 dbname=pgswift_test" || { rt_switchover_restore; return 0; }
  if ! rt_wait_nodes cluster "$PG_HOST|$PG_PORT|primary|up" "$PG_HOST|$r1|replica|up" ||
     ! rt_psql cluster -c 'DROP TABLE IF EXISTS it_routing_switch' -c 'CREATE TABLE it_routing_switch (id int, port int DEFAULT inet_server_port())' >&2 2>&1; then
    result_fail routing_switchover_write_retried "SHOW NODES: $(tr '\n' ' ' <<<"$NODES" | cut -c1-300), or the table could not be made"
    rt_switchover_restore
    return 0
  fi
  # A function the checks (every 30 s) have not listed, made on the primary directly, that writes: its call goes to a
  # replica, is refused there (25006, in the replica's log), and runs on the primary instead. The replica's server
  # goes back to its pool (one per host here) and answers the next reads cleanly.
  rt_super "$PG_PORT" -d pgswift_test -c "CREATE OR REPLACE FUNCTION it_switch_writes() RETURNS int VOLATILE LANGUAGE sql AS 'INSERT INTO it_routing_switch (id) VALUES (0) RETURNING inet_server_port()'" \
    -c 'GRANT INSERT ON it_routing_switch TO scram_user' >&2 2>&1 || true
  rt_wait_replayed "$r1" "$r2" || true
  local refusals
  refusals="$(cat "$PG_LOG_DIR/replica-$r1.log" "$PG_LOG_DIR/replica-$r2.log" 2>/dev/null | grep -c 'cannot execute INSERT in a read-only transaction')" || true
  got="$(rt_psql cluster -c 'SELECT it_switch_writes()' 2>&1 | tr '\n' ' ')"
  k="$(cat "$PG_LOG_DIR/replica-$r1.log" "$PG_LOG_DIR/replica-$r2.log" 2>/dev/null | grep -c 'cannot execute INSERT in a read-only transaction')" || true
  echo "a writing function the checks have not listed: answered '$got'; refusals in the replicas' logs $refusals -> $k" >&2
  if [ "$got" = "$PG_PORT " ] && [ "$k" -gt "$refusals" ]; then result_ok routing_writing_function_refused_by_replica_runs_on_primary
  else result_fail routing_writing_function_refused_by_replica_runs_on_primary "answered '$got' (want $PG_PORT), replica refusals $refusals -> $k (want one more: it went to a replica first)"; fi
  got="$(for k in 1 2 3 4; do rt_psql cluster -c 'SELECT 41 + 1' 2>&1; done | tr '\n' ' ')"
  if [ "$got" = "42 42 42 42 " ]; then result_ok routing_refusing_replica_server_reused_cleanly
  else result_fail routing_refusing_replica_server_reused_cleanly "reads after the refusal answered '$got' (want 42 four times)"; fi
  # One made through pgswift: the DDL has the primary checked at the next round, so a call half a second later goes
  # there as VOLATILE (not refused anywhere: it only reads).
  rt_psql cluster -c "CREATE OR REPLACE FUNCTION it_switch_volatile() RETURNS int VOLATILE LANGUAGE sql AS 'SELECT inet_server_port()'" >&2 2>&1 || true
  rt_wait_replayed "$r1" "$r2" || true
  sleep 0.5
  got="$(rt_psql cluster -c 'SELECT it_switch_volatile()' 2>&1 | tr '\n' ' ')"
  if [ "$got" = "$PG_PORT " ]; then result_ok routing_function_listed_after_ddl
  else result_fail routing_function_listed_after_ddl "a VOLATILE function made through pgswift 0.5 s before ran on '$got' (want $PG_PORT, the primary)"; fi
  rt_psql cluster -c 'DELETE FROM it_routing_switch' >&2 2>&1 || true
  rt_wait_replayed "$r1" "$r2" || true
  echo "--- routing_switchover: primary shut down, $r1 promoted, the old primary back as its standby" >&2
  run_as "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >&2 2>&1 || true
  rt_super "$r1" -c 'SELECT pg_promote()' >&2 2>&1 || true
  run_as touch "$PG_DATA/standby.signal"
  printf "primary_conninfo = 'host=%s port=%s user=%s'\n" "$PG_SOCKET_DIR" "$r1" "$PG_SUPERUSER" | run_as tee -a "$PG_DATA/postgresql.auto.conf" >/dev/null
  run_as "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG_DIR/postgresql.log" -w -t 120 start >&2 2>&1 || true
  got=""
  for k in $(seq 1 50); do
    got="$(rt_super "$PG_PORT" -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" || true
    [ "$got" = t ] && break
    sleep 0.2
  done
  echo "old primary in recovery: '$got'; SHOW NODES (not checked since): $(rt_nodes cluster | tr '\n' ' ')" >&2
  local t0 t1
  t0="$(rt_now)"
  got="$(rt_psql cluster -c 'BEGIN' -c 'INSERT INTO it_routing_switch (id) VALUES (1) RETURNING port' -c 'COMMIT' 2>&1 | tr '\n' ' ')"
  t1="$(rt_now)"
  # Not judged (timing): the figure docs/BENCHMARKS.md quotes, a psql session's login and three statements included.
  echo "the transaction after the switchover: '$got' in $(rt_ms "$t0" "$t1") ms" >&2
  grep -h "refused a write as read-only" "$WORK/logs/proxy-routing-switch.log" >&2 || true
  if [ "$got" = "$r1 " ] && grep -q "refused a write as read-only" "$WORK/logs/proxy-routing-switch.log"; then
    result_ok routing_switchover_write_retried
  else
    result_fail routing_switchover_write_retried "the transaction answered '$got' (want $r1: refused by the old primary, then run on the new one), or the proxy did not log the retry"
  fi
  got="$(rt_super "$r1" -d pgswift_test -c 'SELECT count(*), min(port) FROM it_routing_switch' 2>&1 | tr '\n' ' ')"
  if [ "$got" = "1|$r1 " ]; then result_ok routing_switchover_committed_once
  else result_fail routing_switchover_committed_once "the new primary holds '$got' (want 1|$r1: the row once)"; fi
  got="$(rt_psql cluster -c 'INSERT INTO it_routing_switch (id) VALUES (2) RETURNING port' 2>&1 | tr '\n' ' ')"
  if [ "$got" = "$r1 " ]; then result_ok routing_switchover_later_writes
  else result_fail routing_switchover_later_writes "a later write answered '$got' (want $r1)"; fi
  rt_switchover_restore
}

# rt_switchover_restore: the old primary promoted back (the standby settings removed), the replicas purged, pg-local
# as the other groups and the next run expect.
rt_switchover_restore() {
  local ok=1 got
  echo "--- routing_switchover: restoring the topology" >&2
  proxy_stop
  if ! run_as "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
    run_as "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG_DIR/postgresql.log" -w -t 120 start >&2 2>&1 || ok=0
  fi
  if [ "$(rt_super "$PG_PORT" -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" = t ]; then
    run_as "$PG_BIN/pg_ctl" -D "$PG_DATA" -w promote >&2 2>&1 || ok=0
  fi
  rt_super "$PG_PORT" -c 'ALTER SYSTEM RESET primary_conninfo' -c 'SELECT pg_reload_conf()' >/dev/null 2>&1 || ok=0
  "$REPO/scripts/pg-replicas" purge >&2 2>&1 || ok=0
  timeout 120 "$REPO/scripts/pg-local" start >&2 2>&1 || ok=0
  got="$(rt_super "$PG_PORT" -c 'SELECT NOT pg_is_in_recovery()' 2>&1)" || ok=0
  if [ "$ok" = 1 ] && [ "$got" = t ]; then result_ok routing_switchover_topology_restored
  else result_fail routing_switchover_topology_restored "the old primary could not be promoted back, or pg-local/pg-replicas failed (answered '$got')"; fi
}
