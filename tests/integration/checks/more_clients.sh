# Clients beyond asyncpg and psycopg 3: pg8000, psycopg2 (libpq) and PostgreSQL's JDBC driver.
# shellcheck shell=bash
# Sourced by run.sh (defines group_more_clients).

group_more_clients() {
  use_proxy main || return 0
  python_check other_clients.py
  local jar=/usr/share/java/postgresql.jar
  if ! command -v javac >/dev/null || [ ! -r "$jar" ]; then
    result_skip jdbc "javac or $jar missing (Debian: openjdk-17-jdk-headless, libpostgresql-jdbc-java)"
    return 0
  fi
  local dir="$WORK/jdbc" out
  mkdir -p "$dir"
  if ! javac -d "$dir" "$IT_DIR/clients/JdbcCheck.java" >>"$dir/javac.log" 2>&1; then
    result_fail jdbc "javac failed: $(tail -n 3 "$dir/javac.log" | tr '\n' ' ')"
    return 0
  fi
  if out="$(timeout 120 java -cp "$jar:$dir" JdbcCheck "$PROXY_HOST" "$PROXY_PORT" pgswift_test scram_user scram_pw 2>&1)" \
     && [ "$out" = "jdbc ok" ]; then
    result_ok jdbc
  else
    result_fail jdbc "$(echo "$out" | tail -n 5 | tr '\n' ' ')"
  fi
}
