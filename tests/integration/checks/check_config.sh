# `pgswift --check CONFIG`: a good config passes; a bad value is reported with file, line and key.
# shellcheck shell=bash
# Sourced by run.sh (defines group_check_config).  PgBouncer has no --check option,
# so the group is skipped when PROXY_KIND=pgbouncer.

group_check_config() {
  if pgbouncer_skip check_config_good "has no --check option"; then
    pgbouncer_skip check_config_bad "has no --check option"
    return 0
  fi
  write_config check-good
  expect_cmd check_config_good run_clean "$PROXY_BIN" --check "$WORK/check-good.ini"

  local bad="$WORK/check-bad.ini" line out rc=0 problems=""
  sed 's/^listen_port = .*/listen_port = abc/' "$WORK/check-good.ini" >"$bad"
  give_to_os_user "$bad"
  line="$(grep -n '^listen_port = abc' "$bad" | cut -d: -f1)"
  out="$(run_clean "$PROXY_BIN" --check "$bad" 2>&1)" || rc=$?
  printf -- '--- check_config_bad (line %s), exit %s:\n%s\n' "$line" "$rc" "$out" >&2
  [ "$rc" != 0 ] || problems+=" exit status 0;"
  grep -qF -- "$bad" <<<"$out" || grep -qF -- "$(basename "$bad")" <<<"$out" || problems+=" file name not mentioned;"
  grep -qE "(^|[^0-9])$line([^0-9]|\$)" <<<"$out" || problems+=" line $line not mentioned;"
  grep -q listen_port <<<"$out" || problems+=" key listen_port not mentioned;"
  if [ -z "$problems" ]; then result_ok check_config_bad; else result_fail check_config_bad "$problems"; fi
}
