# The Python client checks (asyncpg, psycopg 3, raw-socket bad input) against the main proxy config.
# shellcheck shell=bash
# Sourced by run.sh (defines group_asyncpg, group_psycopg, group_bad_input).

group_asyncpg() {
  use_proxy main || return 0
  python_check asyncpg_checks.py
}

group_psycopg() {
  use_proxy main || return 0
  python_check psycopg_checks.py
}

group_bad_input() {
  use_proxy main || return 0   # main sets client_login_timeout = 2
  python_check bad_input.py
}
