#!/bin/sh
# sqlalchemy-orm.py with the mysql+pymysql dialect (MYSQL_* environment
# selects it); the same file as sqlalchemy-orm.sh, which uses
# postgresql+psycopg with PG*.
set -eu
exec "$(dirname "$0")/sqlalchemy-orm.sh"
