#!/usr/bin/env bash
# scatter: queries that Shardwire sends to all 4 shards and merges (ORDER BY
# ... LIMIT, a deep OFFSET page, GROUP BY with few and with many groups),
# timed against the same query on one database holding all rows, at two
# table sizes (SMALL_ROWS and BIG_ROWS per shard). Shardwire's peak RSS
# (VmHWM, reset before each query) shows whether the merge holds rows in
# memory: if it streams, the peak stays flat from the small to the big table.
source "$(dirname "$0")/../lib/common.sh"
source "$BENCH_DIR/lib/servers.sh"
SUITE=scatter
SHARDS=4
SMALL_ROWS=${SMALL_ROWS:-250000}
BIG_ROWS=${BIG_ROWS:-1000000}

build_shardwire
log "starting PostgreSQL and loading $SHARDS x $BIG_ROWS + $SHARDS x $SMALL_ROWS rows, and all of them in one database"
start_pg main -c max_parallel_workers_per_gather=2 -c work_mem=64MB
pg_port=$REPLY_PORT pg_pid=$REPLY_PID
# id % SHARDS names the shard; k is a scrambled key (ORDER BY must sort), grp
# has 1000 values, pad makes rows realistic in width.
create_table() { # db table
    pg_sql "$pg_port" "$1" "CREATE TABLE $2 (id bigint PRIMARY KEY, k int NOT NULL, grp int NOT NULL, pad text NOT NULL)"
}
fill() { # db table ids-from-series-expression count
    pg_sql "$pg_port" "$1" "INSERT INTO $2 SELECT $3, (($3) * 7919) % 1000003, ($3) % 1000, md5(($3)::text)
                            FROM generate_series(0::bigint, $4 - 1) g"
}
pg_sql "$pg_port" postgres "CREATE DATABASE whole"
dbs=(whole)
for ((i = 0; i < SHARDS; i++)); do
    pg_sql "$pg_port" postgres "CREATE DATABASE shard_$i"
    dbs+=("shard_$i")
done
for t in t_small:$SMALL_ROWS t_big:$BIG_ROWS; do
    table=${t%%:*} per_shard=${t##*:}
    create_table whole "$table"
    fill whole "$table" g $((per_shard * SHARDS))
    for ((i = 0; i < SHARDS; i++)); do
        create_table "shard_$i" "$table"
        fill "shard_$i" "$table" "g * $SHARDS + $i" "$per_shard"
    done
done
for db in "${dbs[@]}"; do pg_sql "$pg_port" "$db" "VACUUM ANALYZE"; done

log "starting Shardwire"
sw_port=$(free_port)
mkdir -p "$WORK/sw"
shardwire_global "$sw_port" >"$WORK/sw/global.yaml"
{
    printf 'databaseName: whole\ndataSources:\n'
    for ((i = 0; i < SHARDS; i++)); do pg_data_source "ds_$i" "$pg_port" "shard_$i" 4; done
    printf 'rules:\n- !SHARDING\n  tables:\n'
    for table in t_small t_big; do
        printf '    %s:\n      actualDataNodes: ds_${0..%s}.%s\n      databaseStrategy:\n        standard:\n          shardingColumn: id\n          shardingAlgorithmName: by_id\n' \
            "$table" $((SHARDS - 1)) "$table"
    done
    printf '  shardingAlgorithms:\n    by_id:\n      type: INLINE\n      props:\n        algorithm-expression: ds_${id %% %s}\n' "$SHARDS"
} >"$WORK/sw/database-whole.yaml"
start_shardwire sharded "$WORK/sw" "$sw_port"
sw_pid=$REPLY_PID

queries=(
    "top 10|SELECT id, k FROM TABLE ORDER BY k, id LIMIT 10"
    "page at offset 100000|SELECT id, k FROM TABLE ORDER BY k, id LIMIT 10 OFFSET 100000"
    "group by 1000 groups|SELECT grp, count(*), sum(k), min(id) FROM TABLE GROUP BY grp ORDER BY grp"
    "group by ~all keys, top 10|SELECT k, count(*) FROM TABLE GROUP BY k ORDER BY k LIMIT 10"
)
declare -A port=([direct]=$pg_port [shardwire-sharded]=$sw_port)
run_psql() { # contender sql
    "$PGBIN/psql" -X -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "${port[$1]}" -U "$BENCH_USER" -d whole -c "$2"
}

for q in "${queries[@]}"; do
    name=${q%%|*} template=${q#*|}
    for t in t_small:$SMALL_ROWS t_big:$BIG_ROWS; do
        table=${t%%:*} per_shard=${t##*:}
        sql=${template//TABLE/$table}
        workload="$name, $SHARDS x $per_shard rows"
        # Same answer from both, or the timing means nothing.
        a=$(run_psql direct "$sql" 2>&1 | sort | md5sum) || true
        b=$(run_psql shardwire-sharded "$sql" 2>&1 | sort | md5sum) || true
        [ "$a" = "$b" ] || note "**$workload: Shardwire's answer differs from direct's** (its first lines: $(run_psql shardwire-sharded "$sql" 2>&1 | head -2 | tr '\n' ' ' | cut -c1-200))"
        log "$workload"
        for ((round = 1; round <= ROUNDS; round++)); do
            measure timed --rows "$ROWS" --suite "$SUITE" --workload "$workload" --contender direct \
                --round "$round" --pids "$pg_pid $sw_pid" -- \
                "$PGBIN/psql" -X -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U "$BENCH_USER" -d whole -c "$sql"
            measure timed --rows "$ROWS" --suite "$SUITE" --workload "$workload" --contender shardwire-sharded \
                --round "$round" --pids "$pg_pid $sw_pid" --rss-pid "$sw_pid" -- \
                "$PGBIN/psql" -X -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$sw_port" -U "$BENCH_USER" -d whole -c "$sql"
        done
    done
done

note "One PostgreSQL instance ($("$PGBIN/postgres" --version)) holds database whole (all rows, the direct contender) and shard_0..shard_$((SHARDS - 1)) (rows with id % $SHARDS = i), max_parallel_workers_per_gather=2, work_mem=64MB; no index on k or grp, so every query scans. Shardwire: maxPoolSize 4 per shard, max-connections-size-per-query 1."
note "Each query runs through psql (-At, output captured), $ROUNDS rounds, contenders alternated; the time includes psql's connection and login. Peak RSS is Shardwire's VmHWM, reset (/proc/PID/clear_refs) before each query; RSS before is VmRSS at that moment."
note "Answers were compared (sorted) between direct and Shardwire before timing; a difference is reported above this line."
report --rows "$ROWS" --out "$RESULTS_DIR/$SUITE.md" --repo "$REPO_DIR" --secondary none \
    --title "scatter: merged queries over $SHARDS shards vs one database" \
    --intro "Target: Shardwire's peak RSS flat as rows grow (compare each query's small and big table)."
log "report written: $RESULTS_DIR/$SUITE.md"
