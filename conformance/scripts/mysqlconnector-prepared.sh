#!/bin/sh
# Runs the MySQL Connector/Python prepared-statement scenario
# (mysqlconnector-prepared.py) with the MYSQL_* environment of
# mariadb-basic.sh. PYTHON defaults to the driver venv of tests/drivers.
set -eu
here=$(dirname "$0")
exec "${PYTHON:-$here/../../tests/drivers/.venv/bin/python}" "$here/mysqlconnector-prepared.py"
