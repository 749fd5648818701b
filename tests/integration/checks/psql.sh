# psql through the proxy: one-shot queries over TCP and the unix socket, and a scripted session.
# shellcheck shell=bash
# Sourced by run.sh (defines group_psql).

group_psql() {
  use_proxy main || return 0
  expect_output psql_tcp_select_1 1 proxy_psql -c 'select 1'
  expect_output psql_unix_select_1 1 \
    env PGPASSWORD=scram_pw psql -X -At -h "$PROXY_SOCKET_DIR" -p "$PROXY_PORT" -U scram_user -d pgswift_test -c 'select 1'
  psql_session_check
}

# A session fed on stdin like a person at the prompt: variables, several statements,
# a transaction, \copy in and out, an error, an aborted transaction, and recovery.
psql_session_check() {
  local name=psql_session out="$WORK/psql-session.out" err="$WORK/psql-session.err" rc=0 problems=""
  local copy_out="$WORK/psql-copy-out.csv"
  rm -f "$copy_out"
  PGPASSWORD=scram_pw psql -X -h "$PROXY_HOST" -p "$PROXY_PORT" -U scram_user -d pgswift_test \
    -v ON_ERROR_STOP=0 -P pager=off >"$out" 2>"$err" <<SQL || rc=$?
\set answer 42
\set greeting 'hello'
SELECT :answer + 0 AS answer, :'greeting' AS greeting \gset g_
\echo answer=:g_answer greeting=:g_greeting
CREATE TEMP TABLE it_psql (id int PRIMARY KEY, label text);
BEGIN;
INSERT INTO it_psql VALUES (1, 'one'), (2, 'two');
UPDATE it_psql SET label = 'TWO' WHERE id = 2;
COMMIT;
\copy it_psql FROM stdin WITH (FORMAT csv)
3,three
4,"four, with comma"
\.
SELECT 'rows=' || count(*) FROM it_psql;
\copy (SELECT id, label FROM it_psql ORDER BY id) TO '$copy_out' WITH (FORMAT csv)
SELECT 1/0;
SELECT 'after error ' || :answer;
BEGIN;
INSERT INTO it_psql VALUES (5, 'five');
SELECT 1/0;
SELECT 'must not run';
ROLLBACK;
SELECT 'rows after rollback=' || count(*) FROM it_psql;
\echo done
SQL
  {
    echo "--- $name stdout:"; cat "$out"
    echo "--- $name stderr:"; cat "$err"
    echo "--- $name copy out:"; cat "$copy_out" 2>/dev/null || true
  } >&2
  [ "$rc" = 0 ] || problems+=" exit=$rc;"
  local want
  for want in "answer=42 greeting=hello" "rows=4" "after error 42" "rows after rollback=4" "done"; do
    grep -qF -- "$want" "$out" || problems+=" missing '$want';"
  done
  grep -q "must not run" "$out" && problems+=" statement ran inside an aborted transaction;"
  grep -q "division by zero" "$err" || problems+=" no 'division by zero' error;"
  grep -q "current transaction is aborted" "$err" || problems+=" no 'transaction is aborted' error;"
  if [ ! -s "$copy_out" ] || [ "$(wc -l <"$copy_out")" != 4 ] || ! grep -qx '4,"four, with comma"' "$copy_out"; then
    problems+=" \\copy out file wrong;"
  fi
  if [ -z "$problems" ]; then result_ok "$name"; else result_fail "$name" "$problems"; fi
}
