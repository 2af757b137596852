#!/bin/sh
# Runs psql-describe.sql (\d TABLE, \di) against $PGHOST:$PGPORT like
# psql-basic.sh.
set -eu
here=$(dirname "$0")
exec psql -X -v ON_ERROR_STOP=0 -f "$here/psql-describe.sql"
