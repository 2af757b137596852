#!/usr/bin/env bash
# pg-sharded: pgbench -S (simple and prepared, 1 and 8 clients) against one
# database holding all of pgbench's rows (direct) and through Shardwire over
# two shard databases holding half of pgbench_accounts each, sharded by aid
# (ds_${aid % 2}); pgbench_branches and pgbench_tellers are broadcast. Every
# point select routes to one shard. All three databases live in one
# PostgreSQL instance, so both contenders get the same server and caches.
#
# SHARDWIRE_BIN_BEFORE=path adds a second Shardwire binary (e.g. one built
# from main) as contender "shardwire-before", same config, alternated in
# the same rounds, so a change to the hot path is measured before / after
# under the same load. WORKLOADS="simple:1 prepared:8" picks a subset.
source "$(dirname "$0")/../lib/common.sh"
source "$BENCH_DIR/lib/servers.sh"
SUITE=pg-sharded
POOL=8

build_shardwire
log "starting PostgreSQL and loading pgbench scale $SCALE (whole, and halves on two shards)"
start_pg main
pg_port=$REPLY_PORT pg_pid=$REPLY_PID
pgbench_init() { # db [pgbench -i options]
    local db=$1
    shift
    "$PGBIN/pgbench" -i -q "$@" -s "$SCALE" -h 127.0.0.1 -p "$pg_port" -U "$BENCH_USER" "$db" \
        >>"$WORK/init.log" 2>&1 || die "pgbench -i $db failed: $(tail -5 "$WORK/init.log")"
}
for db in bench shard_0 shard_1; do pg_sql "$pg_port" postgres "CREATE DATABASE $db"; done
pgbench_init bench
for k in 0 1; do
    # Tables and rows first, then drop the other shard's half, then the
    # primary keys and vacuum, so each shard is as compact as a fresh load.
    pgbench_init "shard_$k" -I dtg
    pg_sql "$pg_port" "shard_$k" "DELETE FROM pgbench_accounts WHERE aid % 2 <> $k"
    pgbench_init "shard_$k" -I vp
done
for k in 0 1; do
    n=$(pg_sql "$pg_port" "shard_$k" "SELECT count(*) FROM pgbench_accounts")
    [ "$n" -eq $((SCALE * 50000)) ] || die "shard_$k holds $n accounts, expected $((SCALE * 50000))"
done

log "starting Shardwire"
sw_port=$(free_port)
mkdir -p "$WORK/sw"
shardwire_global "$sw_port" >"$WORK/sw/global.yaml"
{
    printf 'databaseName: bench\ndataSources:\n'
    pg_data_source ds_0 "$pg_port" shard_0 "$POOL"
    pg_data_source ds_1 "$pg_port" shard_1 "$POOL"
    cat <<'EOF'
rules:
- !SHARDING
  tables:
    pgbench_accounts:
      actualDataNodes: ds_${0..1}.pgbench_accounts
      databaseStrategy:
        standard:
          shardingColumn: aid
          shardingAlgorithmName: by_aid
  shardingAlgorithms:
    by_aid:
      type: INLINE
      props:
        algorithm-expression: ds_${aid % 2}
- !BROADCAST
  tables:
    - pgbench_branches
    - pgbench_tellers
EOF
} >"$WORK/sw/database-bench.yaml"
start_shardwire sharded "$WORK/sw" "$sw_port"
sw_pid=$REPLY_PID
if [ -n "${SHARDWIRE_BIN_BEFORE:-}" ]; then
    [ -x "$SHARDWIRE_BIN_BEFORE" ] || die "SHARDWIRE_BIN_BEFORE=$SHARDWIRE_BIN_BEFORE is not executable"
    before_port=$(free_port)
    mkdir -p "$WORK/sw-before"
    shardwire_global "$before_port" >"$WORK/sw-before/global.yaml"
    cp "$WORK/sw/database-bench.yaml" "$WORK/sw-before/"
    SHARDWIRE_BIN=$SHARDWIRE_BIN_BEFORE start_shardwire before "$WORK/sw-before" "$before_port"
    before_pid=$REPLY_PID
fi

# A wrong route shows as a missing row, which pgbench -S does not notice:
# check that both halves are reachable through the proxy first.
contenders=(direct shardwire-sharded)
declare -A port=([direct]=$pg_port [shardwire-sharded]=$sw_port)
pids="$pg_pid $sw_pid"
if [ -n "${SHARDWIRE_BIN_BEFORE:-}" ]; then
    contenders+=(shardwire-before)
    port[shardwire-before]=$before_port
    pids="$pids $before_pid"
fi
for c in "${contenders[@]:1}"; do
    for aid in 2 3; do
        got=$("$PGBIN/psql" -X -At -h 127.0.0.1 -p "${port[$c]}" -U "$BENCH_USER" -d bench \
            -c "SELECT aid FROM pgbench_accounts WHERE aid = $aid") || die "point select through $c failed"
        [ "$got" = "$aid" ] || die "aid $aid through $c returned '$got'"
    done
done

run_pgbench() { # workload contender round mode clients [--warmup]
    local threads=$(($5 < 2 ? $5 : 2)) secs=$SECS
    [ "${6:-}" = --warmup ] && secs=$WARMUP
    measure pgbench --rows "$ROWS" --suite "$SUITE" --workload "$1" --contender "$2" --round "$3" \
        --pids "$pids" ${6:-} -- "$PGBIN/pgbench" -n -S -M "$4" -c "$5" -j "$threads" -T "$secs" \
        -h 127.0.0.1 -p "${port[$2]}" -U "$BENCH_USER" bench
}

for workload_spec in ${WORKLOADS:-simple:1 simple:8 prepared:1 prepared:8}; do
    mode=${workload_spec%%:*} clients=${workload_spec##*:}
    {
        workload="pgbench -S -M $mode, $clients clients"
        log "$workload: warm-up"
        for c in "${contenders[@]}"; do run_pgbench "$workload" "$c" 0 "$mode" "$clients" --warmup; done
        for ((round = 1; round <= ROUNDS; round++)); do
            for c in "${contenders[@]}"; do run_pgbench "$workload" "$c" "$round" "$mode" "$clients"; done
        done
    }
done

note "pgbench scale $SCALE: direct holds all $((SCALE * 100000)) accounts in database bench; Shardwire's logical database bench spreads them over shard_0 (even aid) and shard_1 (odd aid) of the same PostgreSQL instance, maxPoolSize $POOL per shard. $("$PGBIN/postgres" --version)."
[ -n "${SHARDWIRE_BIN_BEFORE:-}" ] &&
    note "shardwire-before is \`$SHARDWIRE_BIN_BEFORE\` (built $(date -u -r "$SHARDWIRE_BIN_BEFORE" '+%Y-%m-%d %H:%M UTC')), same configuration on its own port, alternated with the others in every round."
note "$ROUNDS rounds of $SECS s per contender, alternated within each round, $WARMUP s warm-up each. A point select on each shard was checked through the proxy before the runs."
note "CPU-s / 1k tx (system) is busy time of all cores from /proc/stat over the run (includes anything else running on the machine); (own processes) is user+system time of PostgreSQL, Shardwire and pgbench. p50/p99 come from pgbench --log with --sampling-rate=0.1."
# A before / after run gets its own report and a "vs shardwire-before"
# column, and leaves the suite's regular report alone.
out="$RESULTS_DIR/$SUITE.md" secondary=none
if [ -n "${SHARDWIRE_BIN_BEFORE:-}" ]; then
    out="$RESULTS_DIR/$SUITE-before-after.md" secondary=shardwire-before
fi
report --rows "$ROWS" --out "$out" --repo "$REPO_DIR" --secondary "$secondary" \
    --title "pg-sharded: pgbench -S on one database vs Shardwire over two shards" \
    --intro "Target: sharded point selects lose at most 15% against direct (vs direct >= 0.85)."
log "report written: $out"
