# Clients beyond asyncpg and psycopg 3: pg8000, psycopg2 (libpq) and PostgreSQL's JDBC driver.
# shellcheck shell=bash
# Sourced by run.sh (defines group_more_clients, and jdbc_check for checks/prepared.sh).

group_more_clients() {
  use_proxy main || return 0
  python_check other_clients.py
  jdbc_check jdbc
}

# jdbc_check NAME [transaction]: compile clients/JdbcCheck.java once per run and run it through the proxy;
# "transaction" adds its two-connection part (see the file).
jdbc_check() {
  local name="$1" jar=/usr/share/java/postgresql.jar dir="$WORK/jdbc" out
  shift
  if ! command -v javac >/dev/null || [ ! -r "$jar" ]; then
    result_skip "$name" "javac or $jar missing (Debian: openjdk-17-jdk-headless, libpostgresql-jdbc-java)"
    return 0
  fi
  mkdir -p "$dir"
  if [ ! -f "$dir/JdbcCheck.class" ] && ! javac -d "$dir" "$IT_DIR/clients/JdbcCheck.java" >>"$dir/javac.log" 2>&1; then
    result_fail "$name" "javac failed: $(tail -n 3 "$dir/javac.log" | tr '\n' ' ')"
    return 0
  fi
  if out="$(timeout 120 java -cp "$jar:$dir" JdbcCheck "$PROXY_HOST" "$PROXY_PORT" pgswift_test scram_user scram_pw "$@" 2>&1)" \
     && [ "$out" = "jdbc ok" ]; then
    result_ok "$name"
  else
    result_fail "$name" "$(echo "$out" | tail -n 5 | tr '\n' ' ')"
  fi
}
