#!/usr/bin/env bash
# opengauss-batch: BATCH_ROWS rows inserted through Shardwire's openGauss
# listener into a table sharded over 2 shards, as one Batch Bind ('U') and
# as BATCH_ROWS Bind + Execute pipelined before one Sync, by a small
# raw-protocol client (lib/og_batch.py: SHA256 login at 3.51, no driver).
# Rows per shard are checked after each load; rows/s both ways.
source "$(dirname "$0")/../lib/common.sh"
source "$BENCH_DIR/lib/servers.sh"
SUITE=opengauss-batch
SHARDS=2
BATCH_ROWS=${BATCH_ROWS:-10000}

build_shardwire
log "starting PostgreSQL with databases shard_0..shard_$((SHARDS - 1))"
start_pg main
pg_port=$REPLY_PORT pg_pid=$REPLY_PID
schema="CREATE TABLE t_batch (id bigint PRIMARY KEY, k int NOT NULL, note text NOT NULL)"
for ((i = 0; i < SHARDS; i++)); do
    pg_sql "$pg_port" postgres "CREATE DATABASE shard_$i"
    pg_sql "$pg_port" "shard_$i" "$schema"
done

log "starting Shardwire with an openGauss listener"
sw_port=$(free_port)
mkdir -p "$WORK/sw"
shardwire_global "$sw_port" | sed 's/protocol: postgresql/protocol: opengauss/' >"$WORK/sw/global.yaml"
{
    printf 'databaseName: whole\ndataSources:\n'
    for ((i = 0; i < SHARDS; i++)); do pg_data_source "ds_$i" "$pg_port" "shard_$i" 4; done
    printf 'rules:\n- !SHARDING\n  tables:\n    t_batch:\n      actualDataNodes: ds_${0..%s}.t_batch\n' $((SHARDS - 1))
    printf '      databaseStrategy:\n        standard:\n          shardingColumn: id\n          shardingAlgorithmName: by_id\n'
    printf '  shardingAlgorithms:\n    by_id:\n      type: MOD\n      props:\n        sharding-count: %s\n' "$SHARDS"
} >"$WORK/sw/database-whole.yaml"
start_shardwire opengauss "$WORK/sw" "$sw_port"
sw_pid=$REPLY_PID

empty() {
    local i
    for ((i = 0; i < SHARDS; i++)); do pg_sql "$pg_port" "shard_$i" "TRUNCATE t_batch"; done
}
check_rows() { # workload
    local i n wrong
    for ((i = 0; i < SHARDS; i++)); do
        n=$(pg_sql "$pg_port" "shard_$i" "SELECT count(*) FROM t_batch")
        wrong=$(pg_sql "$pg_port" "shard_$i" "SELECT count(*) FROM t_batch WHERE id % $SHARDS <> $i")
        [ "$n" = $((BATCH_ROWS / SHARDS)) ] && [ "$wrong" = 0 ] ||
            note "**$1: shard_$i holds $n rows ($wrong misplaced), expected $((BATCH_ROWS / SHARDS))**"
    done
}

workload="INSERT $BATCH_ROWS rows"
log "$workload"
for ((round = 1; round <= ROUNDS; round++)); do
    for contender in batch-bind pipelined-bind-execute; do
        empty
        mode=batch
        [ "$contender" = pipelined-bind-execute ] && mode=pipelined
        cmd=(python3 "$BENCH_DIR/lib/og_batch.py" "$mode" "$sw_port" "$BENCH_USER" "$BENCH_PASSWORD"
            whole "$BATCH_ROWS")
        measure timed --rows "$ROWS" --suite "$SUITE" --workload "$workload" --contender "$contender" \
            --round "$round" --pids "$pg_pid $sw_pid" --rss-pid "$sw_pid" -- "${cmd[@]}"
        check_rows "$contender"
    done
done

note "One PostgreSQL instance ($("$PGBIN/postgres" --version)) holds shard_0 and shard_1; fsync off. Shardwire serves them as database whole on an openGauss listener, t_batch sharded by id MOD $SHARDS, maxPoolSize 4 per shard."
note "Each run is one client process (lib/og_batch.py): SHA256 login, Parse, then $BATCH_ROWS rows as one Batch Bind or as $BATCH_ROWS pipelined Bind + Execute, one Sync, wait for ReadyForQuery ($ROUNDS rounds, contenders alternated, TRUNCATE before each, not timed). rows/s = $BATCH_ROWS / median time, login and Python start included. Behind the proxy both become one execute_batch per shard (pipelined Bind + Execute to PostgreSQL) for the Batch Bind, and one routed statement per row for the pipeline."
report --rows "$ROWS" --out "$RESULTS_DIR/$SUITE.md" --repo "$REPO_DIR" --secondary none \
    --title "opengauss-batch: $BATCH_ROWS rows as one Batch Bind vs pipelined Bind/Execute, 2 shards" \
    --intro "Both through Shardwire's openGauss listener; the figure is rows/s each way."
log "report written: $RESULTS_DIR/$SUITE.md"
