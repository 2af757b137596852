#!/bin/sh
# Records psql-basic.sh then psycopg3-basic.sh with the kernel's own TCP
# (dumpcap on the loopback interface, pcapng), not the relay: a fixture for
# the reader's real-capture path (kernel segmentation, TCP options, two
# connections one after the other). Needs root (or CAP_NET_RAW) and
# dumpcap; PG* as for psql-basic.sh, OUT the pcapng to write.
set -eu
here=$(dirname "$0")
dumpcap -q -i lo -f "tcp port $PGPORT" -w "$OUT" &
pid=$!
sleep 2
"$here/psql-basic.sh" > /dev/null 2>&1
"$here/psycopg3-basic.sh" > /dev/null
sleep 1
kill -INT "$pid"
wait "$pid"
