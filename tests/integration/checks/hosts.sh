# Host lists: a [databases] entry naming several hosts (pgswift's port list lets them differ by port on loopback).
# shellcheck shell=bash
# Sourced by run.sh (defines group_hosts).  A host that refuses is skipped within the same connect; a connect
# fails only when every host refused, and the error names each one.  Then two real streaming replicas
# (scripts/pg-replicas, stopped again when the run ends): new server connections go round the list.

# A loopback port nothing listens on, from START upwards.
hosts_closed_port() {
  local port="$1"
  while tcp_open "$PG_HOST" "$port"; do port=$((port + 1)); done
  echo "$port"
}

group_hosts() {
  pgbouncer_skip host_list_skips_refused "takes one port for every host of a list and does not skip a host that refuses" && return 0
  local closed closed2 out rc=0
  closed="$(hosts_closed_port $((PG_PORT + 101)))"
  closed2="$(hosts_closed_port $((closed + 1)))"
  use_proxy hosts \
    "db:hostlist=host=$PG_HOST,$PG_HOST port=$closed,$PG_PORT dbname=pgswift_test" \
    "db:deadlist=host=$PG_HOST,$PG_HOST port=$closed,$closed2 dbname=pgswift_test" || return 0
  # Round-robin starts every other connect at the refusing host: each must still land on the one that answers.
  for attempt in 1 2 3 4; do
    expect_output "host_list_skips_refused_$attempt" "$PG_PORT" \
      env PGPASSWORD=scram_pw psql -X -At -h "$PROXY_HOST" -p "$PROXY_PORT" -U scram_user -d hostlist -c 'select inet_server_port()'
  done
  echo "--- host_list_all_refused" >&2
  out="$(PGPASSWORD=scram_pw psql -X -At -h "$PROXY_HOST" -p "$PROXY_PORT" -U scram_user -d deadlist -c 'select 1' 2>&1)" || rc=$?
  printf '%s\n' "$out" >&2
  if [ "$rc" != 0 ] && [[ "$out" == *"$PG_HOST:$closed:"* ]] && [[ "$out" == *"$PG_HOST:$closed2:"* ]]; then
    result_ok host_list_all_refused
  else
    result_fail host_list_all_refused "exit $rc, '$(tr '\n' ' ' <<<"$out" | cut -c1-200)' (want an error naming $PG_HOST:$closed and $PG_HOST:$closed2)"
  fi

  # Two streaming replicas of the test server; server_lifetime = 0 closes each server after its client, so every
  # client's server is a new connection and round-robin shows in which node answers.
  echo "--- hosts: scripts/pg-replicas start 2" >&2
  if ! "$REPO/scripts/pg-replicas" start 2 >&2; then
    result_fail host_list_replicas_round_robin "scripts/pg-replicas start 2 failed"
    return 0
  fi
  replicas_started=1
  local r1=$PG_REPLICA_PORT r2=$((PG_REPLICA_PORT + 1)) ports="" got
  CURRENT_PROXY=""
  use_proxy hosts-replicas server_lifetime=0 \
    "db:replicas=host=$PG_HOST,$PG_HOST port=$r1,$r2 dbname=pgswift_test" || return 0
  for attempt in 1 2 3 4; do
    got="$(PGPASSWORD=scram_pw psql -X -At -h "$PROXY_HOST" -p "$PROXY_PORT" -U scram_user -d replicas \
      -c 'select inet_server_port(), pg_is_in_recovery()' 2>&1)" || got="error: $got"
    printf '%s\n' "$got" >&2
    ports+="$got "
  done
  if [[ "$ports" == *"$r1|t"* ]] && [[ "$ports" == *"$r2|t"* ]] && [[ "$ports" != *error* ]]; then
    result_ok host_list_replicas_round_robin
  else
    result_fail host_list_replicas_round_robin "answers '$ports' (want both $r1|t and $r2|t)"
  fi

  hosts_nodes_check "$r1" "$r2"
}

# hosts_show_nodes / hosts_wait_nodes WANT...: SHOW NODES of entry "cluster" as host|port|role|state|circuit|lag_bytes,
# and waiting (15 s) until every WANT starts a line of it (checks/routing.sh's rt_nodes and rt_wait_nodes).
hosts_show_nodes() { rt_nodes cluster; }
hosts_wait_nodes() { rt_wait_nodes cluster "$@"; }

# Health checks over the primary and both replicas: roles and states as SHOW NODES shows them, then a replica
# stopped hard is found down (and new connects keep working), and found up again once it is back.
hosts_nodes_check() {
  local r1="$1" r2="$2" out rc=0 status metrics
  status="$(hosts_closed_port $((PROXY_PORT + 61)))"
  CURRENT_PROXY=""
  use_proxy hosts-nodes health_check_period=1 health_check_timeout=1 health_check_failures=2 health_check_successes=1 \
    health_check_user=pgswift_monitor admin_users=pgswift_admin server_lifetime=0 status_port="$status" \
    "db:cluster=host=$PG_HOST,$PG_HOST,$PG_HOST port=$PG_PORT,$r1,$r2 dbname=pgswift_test" \
    "db:readers=host=$PG_HOST,$PG_HOST port=$r1,$r2 dbname=pgswift_test" || return 0
  if hosts_wait_nodes "$PG_HOST|$PG_PORT|primary|up|closed" "$PG_HOST|$r1|replica|up|closed" "$PG_HOST|$r2|replica|up|closed"; then
    result_ok show_nodes_roles
  else
    result_fail show_nodes_roles "SHOW NODES: $(tr '\n' ' ' <<<"$NODES" | cut -c1-300)"
  fi
  # /ready: the cluster has its primary; a list of replicas only (a read-only entry) is ready with its replicas up.
  local code body k
  for k in $(seq 1 20); do
    code="$(curl -s -o "$WORK/hosts-ready.json" -w '%{http_code}' "http://127.0.0.1:$status/ready")"
    grep -q '"name":"readers"[^}]*"reachable":true' "$WORK/hosts-ready.json" && break
    sleep 0.5
  done
  if [ "$code" = 200 ] && grep -q '"name":"readers"[^}]*"reachable":true' "$WORK/hosts-ready.json"; then result_ok ready_replicas_only_list
  else result_fail ready_replicas_only_list "/ready $code $(head -c 400 "$WORK/hosts-ready.json")"; fi

  # The same in /metrics: one series per host and state, role and circuit, and a replica's lag.
  metrics="$(curl -s "http://127.0.0.1:$status/metrics" 2>&1)" || true
  if grep -Eq "^pgswift_node_role\{[^}]*port=\"$PG_PORT\"[^}]*role=\"primary\"[^}]*\} 1(\.0)?$" <<<"$metrics" &&
     grep -Eq "^pgswift_node_role\{[^}]*port=\"$r1\"[^}]*role=\"replica\"[^}]*\} 1(\.0)?$" <<<"$metrics" &&
     grep -Eq "^pgswift_node_state\{[^}]*port=\"$r2\"[^}]*state=\"up\"[^}]*\} 1(\.0)?$" <<<"$metrics" &&
     grep -Eq "^pgswift_node_lag_bytes\{[^}]*port=\"$r1\"[^}]*\} [0-9.e+]+$" <<<"$metrics"; then
    result_ok metrics_nodes
  else
    result_fail metrics_nodes "/metrics node series: $(grep pgswift_node_ <<<"$metrics" | tr '\n' ' ' | cut -c1-400)"
  fi
  # A replica's lag is a number of bytes (0 when it has everything).
  if grep -Eq "^$PG_HOST\|$r1\|replica\|up\|closed\|[0-9]+$" <<<"$NODES"; then result_ok show_nodes_lag
  else result_fail show_nodes_lag "no lag_bytes for $r1: $(tr '\n' ' ' <<<"$NODES" | cut -c1-300)"; fi

  # DRAIN NODE: no new server connection goes there (server_lifetime = 0: every client gets a new one).
  local ports="" admin=(env PGPASSWORD=admin_pw psql -X -At -h "$PROXY_HOST" -p "$PROXY_PORT" -U pgswift_admin -d pgswift)
  "${admin[@]}" -c "DRAIN NODE cluster $PG_HOST:$r1" >&2 || true
  for attempt in 1 2 3 4 5 6; do
    ports+="$(PGPASSWORD=scram_pw psql -X -At -h "$PROXY_HOST" -p "$PROXY_PORT" -U scram_user -d cluster -c 'select inet_server_port()' 2>&1) "
  done
  NODES="$(hosts_show_nodes)"
  if [[ "$ports" != *"$r1"* ]] && [[ "$ports" == *"$PG_PORT"* ]] && grep -q "^$PG_HOST|$r1|replica|drained|" <<<"$NODES"; then
    result_ok drain_node
  else
    result_fail drain_node "servers on '$ports', SHOW NODES: $(tr '\n' ' ' <<<"$NODES" | cut -c1-300)"
  fi
  "${admin[@]}" -c "UNDRAIN NODE cluster $PG_HOST:$r1" >&2 || true
  if hosts_wait_nodes "$PG_HOST|$r1|replica|up"; then result_ok undrain_node
  else result_fail undrain_node "SHOW NODES: $(tr '\n' ' ' <<<"$NODES" | cut -c1-300)"; fi

  echo "--- hosts: stopping the replica on $r2 (immediate)" >&2
  run_as "$PG_BIN/pg_ctl" -D "$PGSWIFT_TEST_DIR/pg-replica-$r2" -m immediate -w stop >&2 || true
  if hosts_wait_nodes "$PG_HOST|$r2|replica|down"; then result_ok show_nodes_down
  else result_fail show_nodes_down "SHOW NODES: $(tr '\n' ' ' <<<"$NODES" | cut -c1-300)"; fi
  for attempt in 1 2 3; do
    out="$(PGPASSWORD=scram_pw psql -X -At -h "$PROXY_HOST" -p "$PROXY_PORT" -U scram_user -d cluster -c 'select 1' 2>&1)" || rc=$?
  done
  if [ "$rc" = 0 ] && [ "$out" = 1 ]; then result_ok nodes_down_host_skipped
  else result_fail nodes_down_host_skipped "exit $rc, '$(tr '\n' ' ' <<<"$out" | cut -c1-200)'"; fi

  echo "--- hosts: starting the replicas again" >&2
  "$REPO/scripts/pg-replicas" start 2 >&2 || true
  if hosts_wait_nodes "$PG_HOST|$r2|replica|up"; then result_ok show_nodes_up_again
  else result_fail show_nodes_up_again "SHOW NODES: $(tr '\n' ' ' <<<"$NODES" | cut -c1-300)"; fi

  # A failover with the old primary still up: the replica on $r2 promoted writes a new timeline, so the old primary
  # and the replica still following it are fenced (stale), and new server connections go to the new primary only.
  echo "--- hosts: promoting the replica on $r2" >&2
  run_as "$PG_BIN/psql" -X -At -h "$PG_SOCKET_DIR" -p "$r2" -U "$PG_SUPERUSER" -d postgres -c 'SELECT pg_promote()' >&2 || true
  if hosts_wait_nodes "$PG_HOST|$r2|primary|up" "$PG_HOST|$PG_PORT|primary|stale" "$PG_HOST|$r1|replica|stale"; then
    result_ok failover_fences_old_timeline
  else
    result_fail failover_fences_old_timeline "SHOW NODES: $(tr '\n' ' ' <<<"$NODES" | cut -c1-300)"
  fi
  ports=""
  for attempt in 1 2 3 4; do
    ports+="$(PGPASSWORD=scram_pw psql -X -At -h "$PROXY_HOST" -p "$PROXY_PORT" -U scram_user -d cluster \
      -c 'select inet_server_port(), pg_is_in_recovery()' 2>&1) "
  done
  if [ "$ports" = "$r2|f $r2|f $r2|f $r2|f " ]; then result_ok failover_new_primary_only
  else result_fail failover_new_primary_only "servers answered '$ports' (want $r2|f four times)"; fi

  # /ready: a checked host list is ready while it has a reachable primary (the new one), and not once it is gone.
  code="$(curl -s -o "$WORK/hosts-ready.json" -w '%{http_code}' "http://127.0.0.1:$status/ready")"
  if [ "$code" = 200 ] && grep -q '"name":"cluster"' "$WORK/hosts-ready.json"; then result_ok ready_with_primary
  else result_fail ready_with_primary "/ready $code $(head -c 300 "$WORK/hosts-ready.json")"; fi
  run_as "$PG_BIN/pg_ctl" -D "$PGSWIFT_TEST_DIR/pg-replica-$r2" -m immediate -w stop >&2 || true
  for k in $(seq 1 30); do
    code="$(curl -s -o "$WORK/hosts-ready.json" -w '%{http_code}' "http://127.0.0.1:$status/ready")"
    body="$(cat "$WORK/hosts-ready.json")"
    [ "$code" = 503 ] && [[ "$body" == *"no reachable primary"* ]] && break
    sleep 0.5
  done
  if [ "$code" = 503 ] && [[ "$body" == *"no reachable primary"* ]]; then result_ok not_ready_without_primary
  else result_fail not_ready_without_primary "/ready $code $(head -c 300 <<<"$body")"; fi
}
