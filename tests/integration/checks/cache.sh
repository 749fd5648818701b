# The result cache: real clients through pgswift with cache = on (clients/cache_checks.py), and its config errors.
# shellcheck shell=bash
# Sourced by run.sh (defines group_cache).

# Every it_cache_* table has a rule but it_cache_tz (cached only when a comment asks); the catalog is read every
# second so DDL made directly on PostgreSQL is found within the checks' wait.
group_cache() {
  if [ "$PROXY_KIND" != pgswift ]; then
    result_skip cache "the result cache is pgswift's own"
    return 0
  fi
  local status_port=$((PROXY_PORT + 30))
  write_config cache pool_mode=transaction default_pool_size=4 admin_users=pgswift_admin cache=on cache_catalog_period=1 \
    "status_port=$status_port" "db:cache_auto=host=$PG_HOST port=$PG_PORT dbname=pgswift_test cache=auto"
  cat >>"$WORK/cache.ini" <<'RULES'

[cache_rules]
it_cache_items = 60s tags=items
it_cache_items_v = 60s
it_cache_orders = 60s
it_cache_orders_eu = 60s
it_cache_child = 60s
it_cache_log = 60s
public.it_cache_rls = 60s
public.it_cache_ddl = 60s
it_cache_plain = 60s
it_cache_sp = 60s
RULES
  # shellcheck disable=SC2034  # (run.sh's variable, read by use_proxy)
  if proxy_start cache; then
    CURRENT_PROXY=cache
    python_check cache_checks.py "$status_port"
  else
    result_fail proxy_start_cache "proxy did not start with $WORK/cache.ini (log $WORK/logs/proxy-cache.log)"
  fi
  proxy_stop
  cache_shared
  cache_config_errors
}

# Two instances sharing a Redis and a memcached that this group starts on loopback (and stops, even when the checks
# stopped or killed them).
cache_shared() {
  local redis_port=$((PROXY_PORT + 20)) port_b=$((PROXY_PORT + 1)) redis_pid="$WORK/redis.pid" b_pid="$WORK/proxy-cache-b.pid"
  local mc_port=$((PROXY_PORT + 21)) mc_pid="$WORK/memcached.pid"
  if ! command -v redis-server >/dev/null || ! command -v memcached >/dev/null; then
    result_fail cache_shared "redis-server or memcached is not installed (scripts/lib/common.sh ensure_build_deps installs them)"
    return 0
  fi
  # memcached refuses to run as root unless told which user to be.
  memcached -d -u "$(id -un)" -l 127.0.0.1 -p "$mc_port" -U 0 -m 64 -P "$mc_pid"
  if ! wait_tcp 127.0.0.1 "$mc_port" 10; then
    result_fail cache_shared "memcached did not start"
    return 0
  fi
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes --pidfile "$redis_pid" \
    --logfile "$WORK/logs/redis.log" >/dev/null
  if ! wait_tcp 127.0.0.1 "$redis_port" 10; then
    result_fail cache_shared "redis-server did not start (log $WORK/logs/redis.log)"
    return 0
  fi
  local common=(pool_mode=transaction default_pool_size=4 admin_users=pgswift_admin cache=on cache_catalog_period=1
                "cache_redis_url=redis://127.0.0.1:$redis_port" "cache_memcached_servers=127.0.0.1:$mc_port" cache_tier_timeout=20ms)
  write_config cache-a "${common[@]}"
  write_config cache-b "${common[@]}" "listen_port=$port_b"
  local ini
  for ini in cache-a cache-b; do
    printf '\n[cache_rules]\nit_cache_items = 60s\nit_cache_plain = 60s\n' >>"$WORK/$ini.ini"
  done
  if proxy_start cache-a; then
    CURRENT_PROXY=cache-a
    start_daemon "$b_pid" "$WORK/logs/proxy-cache-b.log" "$PROXY_BIN" "$WORK/cache-b.ini"
    if wait_tcp "$PROXY_HOST" "$port_b" 20 "$(cat "$b_pid")"; then
      python_check cache_shared_checks.py "$PROXY_PORT" "$port_b" "$redis_pid" "$redis_port" "$mc_pid"
    else
      result_fail cache_shared_proxy_b "the second proxy did not start (log $WORK/logs/proxy-cache-b.log)"
    fi
    stop_pidfile "$b_pid" 10
  else
    result_fail proxy_start_cache_a "proxy did not start with $WORK/cache-a.ini (log $WORK/logs/proxy-cache-a.log)"
  fi
  proxy_stop
  local p
  for p in "$redis_pid" "$mc_pid"; do
    if [ -s "$p" ]; then
      kill -CONT "$(cat "$p")" 2>/dev/null || true
      stop_pidfile "$p" 10
    fi
  done
}

# A bad [cache_rules] line is refused with its file, line and key, as every other config error.
cache_config_errors() {
  write_config cache-bad cache=on
  printf '\n[cache_rules]\nit_cache_items = soon\n"unterminated = 5s\n' >>"$WORK/cache-bad.ini"
  local out rc=0
  out="$("$PROXY_BIN" --check "$WORK/cache-bad.ini" 2>&1)" || rc=$?
  if [ "$rc" = 0 ]; then
    result_fail cache_rules_errors "--check accepted a bad [cache_rules] section"
  elif ! grep -q "cache-bad.ini:[0-9]*: it_cache_items: invalid" <<<"$out" || ! grep -q 'invalid table name' <<<"$out"; then
    result_fail cache_rules_errors "unexpected --check output: $out"
  else
    result_ok cache_rules_errors
  fi
}
