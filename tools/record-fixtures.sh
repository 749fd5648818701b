#!/usr/bin/env bash
# Re-record the wire-protocol fixtures in pgwire-fixtures/.
#
# Starts a throwaway PostgreSQL 15 on 127.0.0.1, runs real clients (psql,
# pgbench, asyncpg, psycopg 3) and a few raw-socket sessions through
# tools/pgwire-record.py, one fixture file per session, then checks the files
# and prints per-message-type counts.  See pgwire-fixtures/README.md.
#
# Environment (all optional):
#   FIXTURE_WORK        scratch directory              (/tmp/pgswift-h3)
#   FIXTURE_PGPORT      port of the throwaway server    (55440)
#   FIXTURE_RELAY_PORT  port of the recording relay     (55441)
#   PGBIN               PostgreSQL server binaries      (/usr/lib/postgresql/15/bin)
#   FIXTURE_KEEP_SERVER=1  leave the server running afterwards
#
# Run as root (the server is run as the `postgres` OS user via runuser) or as
# the postgres user itself.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${FIXTURE_WORK:-/tmp/pgswift-h3}
PGPORT_REAL=${FIXTURE_PGPORT:-55440}
RELAY_PORT=${FIXTURE_RELAY_PORT:-55441}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
OUT=$REPO/pgwire-fixtures
DATA=$WORK/data
RUN=$WORK/run
VENV=$WORK/venv
PY=${PYTHON:-python3}
RELAY="$PY $REPO/tools/pgwire-record.py"
CLIENTS=$REPO/tools/fixture-clients
PASSWORD=fixture_pw
DB=fixture
HOST=127.0.0.1

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'record-fixtures: %s\n' "$*" >&2; exit 1; }

as_postgres() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

admin_psql() {  # superuser over the Unix socket, bypassing the relay
    as_postgres psql -X -q -v ON_ERROR_STOP=1 -h "$RUN" -p "$PGPORT_REAL" -d "${ADMIN_DB:-postgres}" "$@"
}

stop_server() {
    if [ -f "$DATA/postmaster.pid" ]; then
        as_postgres "$PGBIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null 2>&1 || true
    fi
}

cleanup() {
    if [ -n "${RELAY_PID:-}" ]; then kill -TERM "$RELAY_PID" 2>/dev/null || true; fi
    if [ "${FIXTURE_KEEP_SERVER:-0}" != 1 ]; then stop_server; fi
}
trap cleanup EXIT

# -- prerequisites -------------------------------------------------------------
for tool in psql pgbench "$PGBIN/initdb" "$PGBIN/pg_ctl"; do
    command -v "$tool" >/dev/null || die "missing $tool"
done
mkdir -p "$WORK" "$OUT"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import asyncpg, psycopg' 2>/dev/null; then
    log "creating Python venv in $VENV"
    "$PY" -m venv "$VENV"
    "$VENV/bin/pip" install -q asyncpg 'psycopg[binary]'
fi

# -- throwaway server ------------------------------------------------------------
log "initialising PostgreSQL in $DATA"
stop_server
rm -rf "$DATA" "$RUN" "$WORK/log"
mkdir -p "$DATA" "$RUN" "$WORK/log"
if [ "$(id -u)" = 0 ]; then chown postgres: "$DATA" "$RUN" "$WORK/log"; fi
as_postgres "$PGBIN/initdb" -D "$DATA" -U postgres --auth-local=trust --auth-host=reject \
    -E UTF8 --locale=C.UTF-8 >"$WORK/initdb.log"
cat >>"$DATA/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PGPORT_REAL
unix_socket_directories = '$RUN'
password_encryption = 'scram-sha-256'
fsync = off
synchronous_commit = off
full_page_writes = off
max_wal_senders = 4
wal_level = replica
lc_messages = 'C'
timezone = 'UTC'
EOF
cat >"$DATA/pg_hba.conf" <<EOF
local   all          postgres                     trust
host    replication  fixture_repl   127.0.0.1/32  scram-sha-256
host    all          fixture_md5    127.0.0.1/32  md5
host    all          fixture_clear  127.0.0.1/32  password
host    all          fixture        127.0.0.1/32  scram-sha-256
host    all          fixture_repl   127.0.0.1/32  scram-sha-256
EOF
as_postgres "$PGBIN/pg_ctl" -D "$DATA" -l "$WORK/log/server.log" -w start >/dev/null

admin_psql <<EOF
create role fixture login password '$PASSWORD';
set password_encryption = 'md5';
create role fixture_md5 login password '$PASSWORD';
reset password_encryption;
create role fixture_clear login password '$PASSWORD';
create role fixture_repl login replication password '$PASSWORD';
create database $DB owner fixture;
EOF

export PGPASSWORD=$PASSWORD PGCONNECT_TIMEOUT=10 PGAPPNAME=pgswift-fixtures
SERVER_VERSION=$(admin_psql -At -c 'select version()')
RECORDED_ON=$(date -u +%Y-%m-%d)
log "server: $SERVER_VERSION"

log "pgbench -i -s 1 (directly, not recorded)"
pgbench -i -s 1 -q -h "$HOST" -p "$PGPORT_REAL" -U fixture "$DB" >"$WORK/pgbench-init.log" 2>&1

# -- recording -------------------------------------------------------------------
# record NAME CLIENT COMMAND-DESCRIPTION -- CMD ARGS...
record() {
    local name=$1 client=$2 what=$3
    shift 4
    local out="$OUT/$name.pgw" relay_log="$WORK/relay-$name.log"
    rm -f "$out" "$relay_log"
    $RELAY --listen "$RELAY_PORT" --server "$HOST:$PGPORT_REAL" --out "$out" \
        --label "$name" --note "client: $client" --note "session: $what" \
        --note "server: $SERVER_VERSION" 2>"$relay_log" &
    RELAY_PID=$!
    local i
    for i in $(seq 1 100); do
        grep -q listening "$relay_log" 2>/dev/null && break
        kill -0 "$RELAY_PID" 2>/dev/null || die "relay for $name did not start: $(cat "$relay_log")"
        sleep 0.05
    done
    log "recording $name: $what"
    local rc=0 client_log="$WORK/client-$name.log"
    "$@" >"$client_log" 2>&1 || rc=$?
    sleep 0.3
    kill -TERM "$RELAY_PID"
    wait "$RELAY_PID" || true
    RELAY_PID=
    if [ "$rc" != 0 ]; then
        cat "$client_log" >&2
        die "$name: client exited with $rc (client log: $client_log, relay log: $relay_log)"
    fi
}

PSQL_VERSION=$(psql --version)
PGBENCH_VERSION=$(pgbench --version)
ASYNCPG_VERSION="asyncpg $("$VENV/bin/python" -c 'import asyncpg; print(asyncpg.__version__)')"
PSYCOPG_VERSION="psycopg $("$VENV/bin/python" -c 'import psycopg; print(psycopg.__version__, "with libpq", psycopg.pq.version())')"
RAW_VERSION="tools/fixture-clients/pgraw.py (Python $("$PY" -c 'import platform; print(platform.python_version())'), raw socket)"

relay_conninfo() {  # relay_conninfo USER
    echo "host=$HOST port=$RELAY_PORT user=$1 dbname=$DB"
}

# psql running a script whose last statement is a pg_sleep that we cancel with
# SIGINT once the server reports it running; psql then sends CancelRequest on a
# new connection and, as a script was interrupted, exits after the query.
psql_simple() {
    local script="$WORK/psql-simple.sql"
    cat >"$script" <<'EOF'
select 1 as one, 'two'::text as two, 3.5::numeric as three_and_a_half, null::int as nothing;
select 'first' as a \; select 'second' as b \; select 'third' as c;
select 1 / 0;
DO $$ BEGIN RAISE NOTICE 'hello'; END $$;
create temp table psql_copy(id int, name text);
\copy psql_copy from stdin
1	one
2	two
3	\N
\.
copy (select id, name from psql_copy order by id) to stdout;
listen fixture_channel;
notify fixture_channel, 'hello from psql';
select 'notified' as after_notify;
select pg_sleep(5);
EOF
    psql -X "$(relay_conninfo fixture) application_name=psql-simple" -f "$script" >"$WORK/psql-simple.out" 2>&1 &
    local pid=$! i
    for i in $(seq 1 100); do
        if [ "$(ADMIN_DB=$DB admin_psql -At -c "select count(*) from pg_stat_activity where application_name = 'psql-simple' and query like 'select pg_sleep(5)%' and state = 'active'")" = 1 ]; then
            break
        fi
        sleep 0.1
    done
    sleep 0.2
    kill -INT "$pid"
    local rc=0
    wait "$pid" || rc=$?
    # psql exits with 3 when a script is interrupted; anything else is a failure.
    grep -q 'canceling statement due to user request' "$WORK/psql-simple.out" \
        || die "psql-simple: pg_sleep was not cancelled (rc=$rc): $(cat "$WORK/psql-simple.out")"
}

psql_largeobject() {
    printf 'large object payload for the FunctionCall fixture\n' >"$WORK/lo-payload.txt"
    psql -X -v ON_ERROR_STOP=1 "$(relay_conninfo fixture)" >"$WORK/psql-lo.out" 2>&1 <<EOF
\\lo_import '$WORK/lo-payload.txt'
\\lo_export :LASTOID '$WORK/lo-export.txt'
\\lo_unlink :LASTOID
EOF
    cmp -s "$WORK/lo-payload.txt" "$WORK/lo-export.txt" || die "large object round trip failed"
}

pgbench_mode() {  # pgbench_mode MODE
    local common=(-h "$HOST" -p "$RELAY_PORT" -U fixture -M "$1" -c 1 -j 1)
    pgbench "${common[@]}" -t 5 -S "$DB" >"$WORK/pgbench-$1.log" 2>&1
    pgbench "${common[@]}" -t 3 "$DB" >>"$WORK/pgbench-$1.log" 2>&1
}

raw() {  # raw SESSION USER
    "$PY" "$CLIENTS/pgraw.py" "$1" --host "$HOST" --port "$RELAY_PORT" --user "$2" \
        --password "$PASSWORD" --database "$DB"
}

py_client() {  # py_client SCRIPT
    "$VENV/bin/python" "$CLIENTS/$1" --host "$HOST" --port "$RELAY_PORT" --user fixture \
        --password "$PASSWORD" --database "$DB"
}

rm -f "$OUT"/*.pgw

record psql-simple "$PSQL_VERSION" \
    "psql -f script: query, multi-statement query, division by zero, RAISE NOTICE, \\copy from stdin, COPY TO STDOUT, LISTEN/NOTIFY, pg_sleep(5) cancelled by SIGINT (CancelRequest); scram auth" \
    -- psql_simple
record psql-scram "$PSQL_VERSION" "psql -c as role fixture (SCRAM-SHA-256)" \
    -- psql -X "$(relay_conninfo fixture)" -c "select current_user, 'scram-sha-256' as method"
record psql-md5 "$PSQL_VERSION" "psql -c as role fixture_md5 (md5)" \
    -- psql -X "$(relay_conninfo fixture_md5)" -c "select current_user, 'md5' as method"
record psql-largeobject "$PSQL_VERSION" "psql \\lo_import, \\lo_export, \\lo_unlink (libpq large-object API: FunctionCall)" \
    -- psql_largeobject
for mode in simple extended prepared; do
    record "pgbench-$mode" "$PGBENCH_VERSION" \
        "pgbench -M $mode -c 1 -t 5 -S, then pgbench -M $mode -c 1 -t 3 (tpcb-like), scale 1" \
        -- pgbench_mode "$mode"
done
record asyncpg "$ASYNCPG_VERSION" \
    "tools/fixture-clients/asyncpg_session.py: parameters, prepared statement, executemany, transaction with cursor, copy_records_to_table, copy_from_query, LISTEN/NOTIFY, error, pg_sleep cancelled by timeout" \
    -- py_client asyncpg_session.py
record psycopg "$PSYCOPG_VERSION" \
    "tools/fixture-clients/psycopg_session.py: parameters, prepare_threshold=0, pipeline, COPY in/out, CopyFail, error, notice, notify, conn.cancel() of pg_sleep" \
    -- py_client psycopg_session.py
record raw-functioncall "$RAW_VERSION" "pgraw.py functioncall: FunctionCall of int4abs (text, binary, NULL, bad oid)" \
    -- raw functioncall fixture
record raw-negotiate "$RAW_VERSION" "pgraw.py negotiate: StartupMessage for protocol 3.2 with _pq_.some_option" \
    -- raw negotiate fixture
record raw-gssenc "$RAW_VERSION" "pgraw.py gssenc: GSSENCRequest, then cleartext password auth as fixture_clear" \
    -- raw gssenc fixture_clear
record raw-extended "$RAW_VERSION" "pgraw.py extended: Parse/Describe/Flush, PortalSuspended, Close, NoData, empty queries, extended-mode error, CopyFail" \
    -- raw extended fixture
record raw-replication "$RAW_VERSION" "pgraw.py replication: physical replication connection, IDENTIFY_SYSTEM, START_REPLICATION (CopyBothResponse), status update, CopyDone both ways" \
    -- raw replication fixture_repl

# -- check and summarise ---------------------------------------------------------------
log "checking fixtures"
$RELAY --check "$OUT"/*.pgw
log "message counts"
"$PY" "$REPO/tools/fixture-stats.py" --require-coverage --update-readme "$OUT/README.md" "$OUT"/*.pgw
log "done: $(ls "$OUT"/*.pgw | wc -l) fixture files, recorded $RECORDED_ON"
