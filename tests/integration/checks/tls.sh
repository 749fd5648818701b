# TLS: client-side TLS (require, verify-full, client certificates) and TLS from the proxy to PostgreSQL.
# shellcheck shell=bash
# Sourced by run.sh (defines group_tls).  Certificates come from scripts/pg-local
# (server.crt: CN localhost, SAN localhost and 127.0.0.1; client.crt; ca.crt).

# tls_psql CONNINFO-EXTRA... : psql through the proxy with extra conninfo words, printing 'select 1'.
tls_psql() {
  psql -X -At "host=$PROXY_HOST port=$PROXY_PORT dbname=pgswift_test user=scram_user password=scram_pw connect_timeout=10 $*" \
    -c 'select 1'
}

tls_conninfo_check() {
  local name="$1" out
  shift
  echo "--- $name: $*" >&2
  if out="$(psql -X "host=$PROXY_HOST port=$PROXY_PORT dbname=pgswift_test user=scram_user password=scram_pw $*" -c '\conninfo' 2>&1)" &&
     printf '%s\n' "$out" >&2 && grep -q "SSL connection" <<<"$out"; then
    result_ok "$name"
  else
    printf '%s\n' "$out" >&2
    result_fail "$name" "no SSL connection: $(tr '\n' ' ' <<<"$out" | cut -c1-200)"
  fi
}

group_tls() {
  local tls=(client_tls_key_file="$TLS_DIR/server.key" client_tls_cert_file="$TLS_DIR/server.crt"
             client_tls_ca_file="$TLS_DIR/ca.crt")
  if use_proxy tls-require client_tls_sslmode=require "${tls[@]}"; then
    tls_conninfo_check tls_client_require sslmode=require
    expect_output tls_client_verify_full_ip 1 tls_psql sslmode=verify-full "sslrootcert=$TLS_DIR/ca.crt"
    expect_output tls_client_verify_full_localhost 1 \
      psql -X -At "host=localhost port=$PROXY_PORT dbname=pgswift_test user=scram_user password=scram_pw sslmode=verify-full sslrootcert=$TLS_DIR/ca.crt" -c 'select 1'
    expect_fail tls_client_plaintext_refused tls_psql sslmode=disable
    # A CA that did not sign the proxy's certificate must make verify-full fail.
    if [ ! -s "$WORK/other-ca/ca.crt" ]; then
      PGSWIFT_TEST_DIR="$WORK/other" "$REPO/scripts/pg-local" tls-certs "$WORK/other-ca" >/dev/null 2>&1 || true
    fi
    expect_fail tls_client_wrong_ca_refused tls_psql sslmode=verify-full "sslrootcert=$WORK/other-ca/ca.crt"
  fi

  if use_proxy tls-verify-client client_tls_sslmode=verify-full "${tls[@]}"; then
    expect_output tls_client_cert_accepted 1 tls_psql sslmode=verify-full "sslrootcert=$TLS_DIR/ca.crt" \
      "sslcert=$TLS_DIR/client.crt" "sslkey=$TLS_DIR/client.key"
    expect_fail tls_client_cert_missing_refused tls_psql sslmode=require sslcert=/nonexistent sslkey=/nonexistent
  fi

  # Proxy -> PostgreSQL over TLS; PostgreSQL itself reports whether the backend's connection is encrypted.
  if use_proxy tls-server-require server_tls_sslmode=require; then
    expect_output tls_server_require t proxy_psql -c 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'
  fi
  if use_proxy tls-server-verify server_tls_sslmode=verify-full "server_tls_ca_file=$TLS_DIR/ca.crt"; then
    expect_output tls_server_verify_full t proxy_psql -c 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'
  fi
  # server_tls_sslmode defaults to prefer since PgBouncer 1.24 (pgswift follows 1.25); Debian's 1.18 defaults to disable.
  local want_default=t
  if [ "$PROXY_KIND" = pgbouncer ]; then want_default=f; fi
  if use_proxy main; then
    expect_output tls_server_default_prefer "$want_default" proxy_psql -c 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'
  fi
}
