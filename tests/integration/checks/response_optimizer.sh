# ResponseOptimizer with real HTTP clients: the example server (Examples/ResponseOptimizerExample) under curl.
# shellcheck shell=bash
# Sourced by run.sh (defines group_response_optimizer). Needs no proxy or database: it runs the example binary
# built beside pgswift on a loopback port of its own.

RO_PORT="${RO_PORT:-$((PROXY_PORT + 7))}"
RO_URL="http://127.0.0.1:$RO_PORT"

# ro_bin: the example binary ($RO_BIN, else the one built beside pgswift, else the debug build).
ro_bin() {
  local bin="${RO_BIN:-$(dirname "$PROXY_BIN")/ResponseOptimizerExample}"
  [ -x "$bin" ] || bin="$REPO/.build/debug/ResponseOptimizerExample"
  printf '%s\n' "$bin"
}

# ro_start [ENV=VALUE...]: start the example with the given environment; waits for /health.
ro_start() {
  env "$@" "$(ro_bin)" "$RO_PORT" >>"$WORK/logs/ro-example.log" 2>&1 &
  RO_PID=$!
  local i
  for i in $(seq 1 100); do
    curl -sf "$RO_URL/health" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}

ro_stop() {
  [ -n "${RO_PID:-}" ] || return 0
  kill "$RO_PID" 2>/dev/null || true
  wait "$RO_PID" 2>/dev/null || true
  RO_PID=""
}

# ro_header FILE NAME: a header's value from a curl -D dump (case-insensitive name, CR stripped).
ro_header() {
  tr -d '\r' <"$1" | awk -v n="$(printf '%s' "$2" | tr 'A-Z' 'a-z')" 'BEGIN{FS=": "} tolower($1)==n {sub(/^[^:]*: /,""); print; exit}'
}

ro_check() {
  local name="$1" problems="$2"
  if [ -z "$problems" ]; then result_ok "$name"; else result_fail "$name" "$problems"; fi
}

group_response_optimizer() {
  if pgbouncer_skip ro_compression "not about the proxy"; then return 0; fi
  local d="$WORK/ro" p st tag
  mkdir -p "$d"
  if ! ro_start; then
    result_fail ro_start "the example did not answer on $RO_URL (log $WORK/logs/ro-example.log)"
    ro_stop
    return 0
  fi

  # Each coding, decoded by curl itself (--compressed) and checked as JSON with 200 items.
  for coding in gzip br deflate; do
    p=""
    curl -s -D "$d/h-$coding" -H "Accept-Encoding: $coding" -o "$d/raw-$coding" "$RO_URL/catalogue"
    curl -s --compressed -H "Accept-Encoding: $coding" -o "$d/body-$coding" "$RO_URL/catalogue"
    [ "$(ro_header "$d/h-$coding" content-encoding)" = "$coding" ] || p+=" Content-Encoding is '$(ro_header "$d/h-$coding" content-encoding)';"
    [ "$(ro_header "$d/h-$coding" vary)" = "Accept-Encoding" ] || p+=" no Vary: Accept-Encoding;"
    "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["items"]) == 200' "$d/body-$coding" 2>>"$WORK/logs/ro.log" || p+=" decoded body is not the catalogue;"
    [ "$(stat -c %s "$d/raw-$coding")" -lt "$(( $(stat -c %s "$d/body-$coding") / 3 ))" ] || p+=" not compressed 3:1;"
    ro_check "ro_compression_$coding" "$p"
  done

  p=""
  curl -s -D "$d/h-q" -o /dev/null -H 'Accept-Encoding: gzip;q=0.2, br;q=0.9' "$RO_URL/catalogue"
  [ "$(ro_header "$d/h-q" content-encoding)" = br ] || p+=" q-values: got '$(ro_header "$d/h-q" content-encoding)' (want br);"
  curl -s -D "$d/h-none" -o /dev/null "$RO_URL/catalogue"
  [ -z "$(ro_header "$d/h-none" content-encoding)" ] || p+=" compressed without Accept-Encoding;"
  curl -s -D "$d/h-small" -o /dev/null -H 'Accept-Encoding: gzip' "$RO_URL/health"
  [ -z "$(ro_header "$d/h-small" content-encoding)" ] || p+=" a 2-byte body was compressed;"
  ro_check ro_negotiation "$p"

  # ETag from a version the application keeps: 304 without a body; If-Match guards PUT (412, then 200).
  p=""
  curl -s -D "$d/h-tag" -o /dev/null "$RO_URL/catalogue"
  tag="$(ro_header "$d/h-tag" etag)"
  [ -n "$tag" ] || p+=" no ETag;"
  st="$(curl -s -o "$d/b304" -w '%{http_code}' -H "If-None-Match: $tag" "$RO_URL/catalogue")"
  [ "$st" = 304 ] && [ ! -s "$d/b304" ] || p+=" If-None-Match: $st with $(stat -c %s "$d/b304") bytes;"
  st="$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H 'If-Match: "v-999"' "$RO_URL/catalogue?name=x")"
  [ "$st" = 412 ] || p+=" stale If-Match on PUT: $st (want 412);"
  st="$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "If-Match: $tag" "$RO_URL/catalogue?name=renamed")"
  [ "$st" = 200 ] || p+=" current If-Match on PUT: $st (want 200);"
  st="$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $tag" "$RO_URL/catalogue")"
  [ "$st" = 200 ] || p+=" old tag after the PUT: $st (want 200);"
  ro_check ro_etag_version "$p"

  # ETag from the body's hash, through gzip (the coded tag is accepted back).
  p=""
  curl -s -D "$d/h-item" -o /dev/null -H 'Accept-Encoding: gzip' "$RO_URL/items/5"
  tag="$(ro_header "$d/h-item" etag)"
  case "$tag" in '"'*'-gzip"') ;; *) p+=" gzip ETag '$tag' not coded;" ;; esac
  st="$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept-Encoding: gzip' -H "If-None-Match: \"x\", $tag" "$RO_URL/items/5")"
  [ "$st" = 304 ] || p+=" If-None-Match list: $st;"
  st="$(curl -s -o /dev/null -w '%{http_code}' -H 'If-None-Match: *' "$RO_URL/items/5")"
  [ "$st" = 304 ] || p+=" If-None-Match *: $st;"
  ro_check ro_etag_body "$p"

  # Partial responses.
  p=""
  curl -s --compressed -o "$d/fields" "$RO_URL/catalogue?fields=id,items(id,owner(email))"
  "$PY" - "$d/fields" 2>>"$WORK/logs/ro.log" <<'PYEOF' || p+=" fields= did not select id,items(id,owner(email));"
import json, sys
d = json.load(open(sys.argv[1]))
assert set(d) == {"id", "items"}, d.keys()
assert all(set(i) == {"id", "owner"} and set(i["owner"]) == {"email"} for i in d["items"])
PYEOF
  st="$(curl -s -o "$d/bad" -w '%{http_code}' "$RO_URL/catalogue?fields=id,owner(name")"
  [ "$st" = 400 ] && grep -q '"position":14' "$d/bad" || p+=" malformed fields: $st $(head -c 200 "$d/bad");"
  ro_check ro_fields "$p"

  # Streaming: 200,000 NDJSON rows, chunked and gzip'd piece by piece.
  p=""
  curl -s -D "$d/h-exp" -H 'Accept-Encoding: gzip' -o "$d/export.gz" "$RO_URL/export?rows=200000"
  [ "$(ro_header "$d/h-exp" transfer-encoding)" = chunked ] || p+=" not chunked;"
  [ -z "$(ro_header "$d/h-exp" content-length)" ] || p+=" has a Content-Length;"
  [ "$(gzip -dc "$d/export.gz" | wc -l)" = 200000 ] || p+=" rows: $(gzip -dc "$d/export.gz" 2>/dev/null | wc -l);"
  ro_check ro_streaming "$p"

  # Precomputed: the 300 ms computation is never waited for after the first.
  p=""
  curl -s -o /dev/null "$RO_URL/report"
  local i t slow=0
  for i in $(seq 1 10); do
    t="$(curl -s -o /dev/null -w '%{time_total}' "$RO_URL/report")"
    awk -v t="$t" 'BEGIN{exit !(t > 0.2)}' && slow=$((slow + 1))
  done
  [ "$slow" = 0 ] || p+=" $slow of 10 reads waited;"
  ro_check ro_precomputed "$p"
  ro_stop

  # Settings from the environment; a bad value stops the example with the variable named.
  p=""
  if ro_start RESPONSE_COMPRESSION_ENABLED=false RESPONSE_ETAG_ENABLED=no RESPONSE_STREAMING_THRESHOLD=4k; then
    curl -s -D "$d/h-off" -o /dev/null -H 'Accept-Encoding: gzip' "$RO_URL/items/1"
    [ -z "$(ro_header "$d/h-off" content-encoding)" ] || p+=" compressed with RESPONSE_COMPRESSION_ENABLED=false;"
    [ -z "$(ro_header "$d/h-off" etag)" ] || p+=" ETag with RESPONSE_ETAG_ENABLED=no;"
    # Over the 4 KiB streaming threshold a body goes out chunked; under it, with its length.
    curl -s -D "$d/h-big" -o "$d/big" "$RO_URL/catalogue"
    [ "$(ro_header "$d/h-big" transfer-encoding)" = chunked ] && [ -z "$(ro_header "$d/h-big" content-length)" ] \
      || p+=" a 26 KB body over RESPONSE_STREAMING_THRESHOLD=4k was not chunked;"
    "$PY" -c 'import json,sys; assert len(json.load(open(sys.argv[1]))["items"]) == 200' "$d/big" 2>>"$WORK/logs/ro.log" || p+=" chunked body broken;"
    curl -s -D "$d/h-sm" -o /dev/null "$RO_URL/small"
    [ -n "$(ro_header "$d/h-sm" content-length)" ] || p+=" a small body lost its Content-Length;"
  else
    p+=" did not start with the switches off;"
  fi
  ro_stop
  local out rc=0
  out="$(RESPONSE_COMPRESSION_THRESHOLD=lots timeout 10 "$(ro_bin)" "$RO_PORT" 2>&1)" || rc=$?
  [ "$rc" = 2 ] && grep -q 'RESPONSE_COMPRESSION_THRESHOLD=lots' <<<"$out" || p+=" bad setting: exit $rc, '$out';"
  ro_check ro_environment "$p"
}
