# pgbench through the proxy: initialisation, then each query protocol for $PGBENCH_SECONDS seconds.
# shellcheck shell=bash
# Sourced by run.sh (defines group_pgbench).

group_pgbench() {
  use_proxy main || return 0
  local conn=(-h "$PROXY_HOST" -p "$PROXY_PORT" -U bench)
  # bench logs in with the SCRAM secret copied from pg_authid (SCRAM pass-through).
  expect_cmd pgbench_init env PGPASSWORD=bench pgbench "${conn[@]}" -i -s 1 -q pgswift_test
  local mode
  for mode in simple extended prepared; do
    pgbench_run "pgbench_$mode" "${conn[@]}" -c 4 -j 2 -T "$PGBENCH_SECONDS" -M "$mode" pgswift_test
  done
}

# pgbench_run NAME ARGS...: ok if pgbench exits 0, processed > 0 and failed = 0.
pgbench_run() {
  local name="$1" out rc=0 processed failed
  shift
  out="$WORK/$name.out"
  echo "--- $name: pgbench $*" >&2
  PGPASSWORD=bench timeout $((PGBENCH_SECONDS + 60)) pgbench "$@" >"$out" 2>&1 || rc=$?
  cat "$out" >&2
  processed="$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$out")"
  failed="$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$out")"
  if [ "$rc" != 0 ]; then
    result_fail "$name" "pgbench exit $rc: $(grep -m1 -iE 'error|abort' "$out" | cut -c1-200)"
  elif [ -z "$processed" ] || [ "$processed" = 0 ]; then
    result_fail "$name" "no transactions processed"
  elif [ "${failed:-0}" != 0 ]; then
    result_fail "$name" "$failed failed transactions"
  else
    echo "$name: $processed transactions, $(grep -m1 '^tps' "$out")" >&2
    result_ok "$name"
  fi
}
