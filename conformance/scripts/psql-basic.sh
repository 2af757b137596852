#!/bin/sh
# Runs the psql scenario (psql-basic.sql) against $PGHOST:$PGPORT as
# $PGUSER / $PGPASSWORD / $PGDATABASE. To record it, point PGHOST/PGPORT at
# `shardctl record --listen ... --upstream <server> --out FILE.pcap
# --connections 1` (see README.md here).
set -eu
here=$(dirname "$0")
# -X: no ~/.psqlrc; errors do not stop the script (the error paths are part
# of the scenario). sslmode=prefer (the default) sends an SSLRequest first,
# which a server without TLS declines: the capture stays readable.
exec psql -X -v ON_ERROR_STOP=0 -f "$here/psql-basic.sql"
