#!/bin/sh
# pgbench -i -s 1 with server-side data generation (-I dtGp: drop, create
# tables, INSERT ... SELECT generate_series, primary keys; client-side
# COPY of 100,000 rows would make a capture of megabytes), then ten
# transactions of each built-in script (tpcb-like, simple-update,
# select-only; -n: no vacuum, fixed random seed), then `pgbench -i -I d`
# drops the tables. PG* environment.
set -eu
pgbench -i -s 1 -I dtGp -q
for script in tpcb-like simple-update select-only; do
    pgbench -n -c 1 -t 10 --random-seed=1 -b "$script"
done
pgbench -i -I d
