#!/bin/sh
# Runs the psycopg 3 scenario (psycopg3-basic.py) with libpq's PG*
# environment. PYTHON defaults to the driver venv of tests/drivers.
set -eu
here=$(dirname "$0")
exec "${PYTHON:-$here/../../tests/drivers/.venv/bin/python}" "$here/psycopg3-basic.py"
