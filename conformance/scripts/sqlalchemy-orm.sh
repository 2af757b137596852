#!/bin/sh
# Runs sqlalchemy-orm.py (see its docstring) with the driver venv of tests/drivers
# (PYTHON overrides it).
set -eu
here=$(dirname "$0")
exec "${PYTHON:-$here/../../tests/drivers/.venv/bin/python}" "$here/sqlalchemy-orm.py"
