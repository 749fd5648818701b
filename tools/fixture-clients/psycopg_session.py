#!/usr/bin/env python3
"""One short psycopg 3 session for the wire-protocol fixtures.

Covers: query parameters, server-side prepared statements (prepare_threshold=0),
a pipeline, COPY TO STDOUT and COPY FROM STDIN, a COPY abandoned by an
exception (CopyFail), an error, a notice, a notification, and conn.cancel()
of a running pg_sleep (CancelRequest on a new connection).
"""

import argparse
import sys
import threading

import psycopg
from psycopg import errors


def run(args) -> None:
    conninfo = (f"host={args.host} port={args.port} user={args.user} password={args.password} "
                f"dbname={args.database} application_name=psycopg-fixture")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("select %s::int + %s::int as sum, %s::text as label", (20, 22, "answer")).fetchone()

        # Server-side prepared statements from the first execution on.
        conn.prepare_threshold = 0
        for n in (1, 2):
            conn.execute("select %s::int * 2 as doubled", (n,)).fetchone()
        conn.prepare_threshold = None  # back to unprepared

        conn.execute("create temp table psy_items(id int, name text)")
        with conn.pipeline() as pipeline:
            with conn.cursor() as cur:
                cur.execute("insert into psy_items values (%s, %s)", (1, "one"))
                cur.execute("insert into psy_items values (%s, %s)", (2, "two"))
                pipeline.sync()
                cur.execute("select id, name from psy_items order by id")
                cur.fetchall()

        with conn.cursor() as cur:
            with cur.copy("copy psy_items (id, name) from stdin") as copy:
                copy.write_row((3, "three"))
                copy.write_row((4, "four"))
            with cur.copy("copy (select id, name from psy_items order by id) to stdout") as copy:
                for _ in copy:
                    pass
            try:
                with cur.copy("copy psy_items (id, name) from stdin") as copy:
                    copy.write_row((5, "five"))
                    raise RuntimeError("abandon this copy")
            except errors.QueryCanceled:
                pass  # psycopg reports the server's answer to CopyFail this way
            except RuntimeError:
                pass

        try:
            conn.execute("select 1 / 0")
        except errors.DivisionByZero:
            pass
        else:
            raise SystemExit("expected a division-by-zero error")

        notices = []
        conn.add_notice_handler(lambda diag: notices.append(diag.message_primary))
        conn.execute("DO $$ BEGIN RAISE NOTICE 'hello from psycopg'; END $$")

        notifies = []
        conn.add_notify_handler(lambda n: notifies.append(n.payload))
        conn.execute("listen psy_channel")
        conn.execute("notify psy_channel, 'hello from psycopg'")
        if not notifies:
            for _ in conn.notifies(timeout=3.0, stop_after=1):
                break

        timer = threading.Timer(0.5, conn.cancel)
        timer.start()
        try:
            conn.execute("select pg_sleep(5)")
        except errors.QueryCanceled:
            pass
        else:
            raise SystemExit("expected the pg_sleep to be cancelled")
        finally:
            timer.join()

        conn.execute("select 'still usable'").fetchone()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--database", required=True)
    run(ap.parse_args())
    return 0


if __name__ == "__main__":
    sys.exit(main())
