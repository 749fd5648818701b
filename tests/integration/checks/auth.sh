# Client authentication: one proxy config per auth_type (trust, md5, scram-sha-256, plain, hba) and auth_query.
# shellcheck shell=bash
# Sourced by run.sh (defines group_auth).
#
# Each case is NAME:USER:PASSWORD:DB:EXPECT for clients/auth_checks.py; EXPECT is
# "ok", "ok/METHOD" (also checks which authentication request the proxy sent) or
# an SQLSTATE.  "pgbouncer-skip=REASON|EXPECT" marks a case PgBouncer fails.

# auth_case_set PREFIX CONFIG [KEY=VALUE...] -- CASE...: start the proxy with the
# config and run the cases.
auth_case_set() {
  local prefix="$1" config="$2" overrides=()
  shift 2
  while [ $# -gt 0 ] && [ "$1" != -- ]; do overrides+=("$1"); shift; done
  shift
  use_proxy "$config" "${overrides[@]}" || return 0
  python_check auth_checks.py "$prefix" "$@"
}

group_auth() {
  local db=pgswift_test
  # PgBouncer cannot pass the SQLSTATE halves of the refusal cases: 1.18 (Debian 12)
  # answers every login failure it raises itself with SQLSTATE 08P01 (protocol
  # violation); pgswift is expected to answer as PostgreSQL does (28P01, 3D000).
  local bad_pw="pgbouncer-skip=PgBouncer reports a failed password as SQLSTATE 08P01, not 28P01|28P01"
  local bad_db="pgbouncer-skip=PgBouncer reports an unknown database as SQLSTATE 08P01, not 3D000|3D000"

  # trust: no password is asked for; the server login uses the userlist entry.
  auth_case_set auth_trust auth-trust auth_type=trust -- \
    "scram_user:scram_user:scram_pw:$db:ok/none" \
    "md5_user:md5_user:anything:$db:ok/none" \
    "wrong_password_ignored:scram_user:not-the-password:$db:ok" \
    "unknown_db:scram_user:scram_pw:no_such_db:$bad_db"

  # md5: md5 for plain and md5 userlist entries; a SCRAM secret switches to SCRAM.
  auth_case_set auth_md5 auth-md5 auth_type=md5 -- \
    "scram_user:scram_user:scram_pw:$db:ok/md5" \
    "md5_user:md5_user:md5_pw:$db:ok/md5" \
    "scram_secret_user:bench:bench:$db:ok/scram" \
    "wrong_password:md5_user:wrong:$db:$bad_pw" \
    "unknown_db:md5_user:md5_pw:no_such_db:$bad_db"

  auth_case_set auth_scram auth-scram auth_type=scram-sha-256 -- \
    "scram_user:scram_user:scram_pw:$db:ok/scram" \
    "scram_secret_user:bench:bench:$db:ok/scram" \
    "wrong_password:scram_user:wrong:$db:$bad_pw" \
    "wrong_password_secret:bench:wrong:$db:$bad_pw" \
    "unknown_user:no_such_user:whatever:$db:$bad_pw" \
    "unknown_db:scram_user:scram_pw:no_such_db:$bad_db"

  auth_case_set auth_plain auth-plain auth_type=plain -- \
    "scram_user:scram_user:scram_pw:$db:ok/cleartext" \
    "md5_user:md5_user:md5_pw:$db:ok/cleartext" \
    "wrong_password:scram_user:wrong:$db:$bad_pw" \
    "unknown_db:scram_user:scram_pw:no_such_db:$bad_db"

  cat >"$WORK/auth_hba.conf" <<HBA
# pg_hba.conf syntax, read by the proxy (auth_type = hba)
# TYPE  DATABASE  USER      ADDRESS        METHOD
host    all       md5_user  127.0.0.1/32   md5
host    all       all       127.0.0.1/32   scram-sha-256
local   all       all                      scram-sha-256
HBA
  auth_case_set auth_hba auth-hba auth_type=hba "auth_hba_file=$WORK/auth_hba.conf" -- \
    "md5_user:md5_user:md5_pw:$db:ok/md5" \
    "scram_user:scram_user:scram_pw:$db:ok/scram" \
    "scram_secret_user:bench:bench:$db:ok/scram" \
    "wrong_password_md5:md5_user:wrong:$db:$bad_pw" \
    "wrong_password_scram:scram_user:wrong:$db:$bad_pw" \
    "unknown_db:scram_user:scram_pw:no_such_db:$bad_db"

  # auth_query: the userlist holds only the auth user; everyone else is looked up
  # in pg_authid through the SECURITY DEFINER function pg-local created.
  auth_case_set auth_query auth-query auth_type=md5 "auth_file=$WORK/userlist-authuser.txt" \
      auth_user=pgswift_auth 'auth_query=SELECT username, secret FROM pgswift_auth.lookup($1)' -- \
    "scram_user:scram_user:scram_pw:$db:ok/scram" \
    "md5_user:md5_user:md5_pw:$db:ok/md5" \
    "wrong_password:md5_user:wrong:$db:$bad_pw" \
    "wrong_password_scram:scram_user:wrong:$db:$bad_pw" \
    "unknown_user:no_such_user:whatever:$db:$bad_pw" \
    "unknown_db:md5_user:md5_pw:no_such_db:$bad_db"
}
