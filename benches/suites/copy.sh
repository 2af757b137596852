#!/usr/bin/env bash
# copy: COPY ... FROM STDIN of COPY_ROWS rows (psql \copy from a file) into
# one database (direct) and through Shardwire into a table sharded over 4
# shards, as text and as CSV. Rows per shard are checked after each load;
# Shardwire's peak RSS (VmHWM, reset before each load) shows that it streams
# rows to the shards instead of holding them (target: under 64 MiB).
source "$(dirname "$0")/../lib/common.sh"
source "$BENCH_DIR/lib/servers.sh"
SUITE=copy
SHARDS=4
COPY_ROWS=${COPY_ROWS:-1000000}

build_shardwire
log "starting PostgreSQL with database whole and shard_0..shard_$((SHARDS - 1))"
start_pg main
pg_port=$REPLY_PORT pg_pid=$REPLY_PID
schema="CREATE TABLE t_copy (id bigint PRIMARY KEY, k int NOT NULL, note text NOT NULL, amount numeric(12,2))"
pg_sql "$pg_port" postgres "CREATE DATABASE whole"
pg_sql "$pg_port" whole "$schema"
for ((i = 0; i < SHARDS; i++)); do
    pg_sql "$pg_port" postgres "CREATE DATABASE shard_$i"
    pg_sql "$pg_port" "shard_$i" "$schema"
done

log "writing $COPY_ROWS rows as text and CSV"
mkdir -p "$WORK/data"
python3 - "$COPY_ROWS" "$WORK/data" <<'EOF'
import sys
n, out = int(sys.argv[1]), sys.argv[2]
with open(f"{out}/rows.txt", "w") as text, open(f"{out}/rows.csv", "w") as csv:
    for i in range(n):
        note = f"order {i} for customer {i * 7919 % 100003}"
        text.write(f"{i}\t{i * 7919 % 1000003}\t{note}\t{i % 10000}.{i % 100:02d}\n")
        csv.write(f'{i},{i * 7919 % 1000003},"{note}, ""quoted""",{i % 10000}.{i % 100:02d}\n')
EOF

log "starting Shardwire"
sw_port=$(free_port)
mkdir -p "$WORK/sw"
shardwire_global "$sw_port" >"$WORK/sw/global.yaml"
{
    printf 'databaseName: whole\ndataSources:\n'
    for ((i = 0; i < SHARDS; i++)); do pg_data_source "ds_$i" "$pg_port" "shard_$i" 4; done
    printf 'rules:\n- !SHARDING\n  tables:\n    t_copy:\n      actualDataNodes: ds_${0..%s}.t_copy\n' $((SHARDS - 1))
    printf '      databaseStrategy:\n        standard:\n          shardingColumn: id\n          shardingAlgorithmName: by_id\n'
    printf '  shardingAlgorithms:\n    by_id:\n      type: MOD\n      props:\n        sharding-count: %s\n' "$SHARDS"
} >"$WORK/sw/database-whole.yaml"
start_shardwire sharded "$WORK/sw" "$sw_port"
sw_pid=$REPLY_PID

declare -A port=([direct]=$pg_port [shardwire-sharded]=$sw_port)
empty() { # contender
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "${port[$1]}" -U "$BENCH_USER" -d whole \
        -c "TRUNCATE t_copy"
}
check_rows() { # workload
    local i n wrong
    for ((i = 0; i < SHARDS; i++)); do
        n=$(pg_sql "$pg_port" "shard_$i" "SELECT count(*) FROM t_copy")
        wrong=$(pg_sql "$pg_port" "shard_$i" "SELECT count(*) FROM t_copy WHERE id % $SHARDS <> $i")
        [ "$n" = $((COPY_ROWS / SHARDS)) ] && [ "$wrong" = 0 ] ||
            note "**$1: shard_$i holds $n rows ($wrong misplaced), expected $((COPY_ROWS / SHARDS))**"
    done
}

for f in "text|rows.txt|" "csv|rows.csv|WITH (FORMAT csv)"; do
    IFS='|' read -r name file options <<<"$f"
    workload="COPY $COPY_ROWS rows, $name"
    log "$workload"
    for ((round = 1; round <= ROUNDS; round++)); do
        for contender in direct shardwire-sharded; do
            empty "$contender"
            rss=()
            [ "$contender" = shardwire-sharded ] && rss=(--rss-pid "$sw_pid")
            cmd=("$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "${port[$contender]}"
                -U "$BENCH_USER" -d whole -c "\\copy t_copy FROM '$WORK/data/$file' $options")
            measure timed --rows "$ROWS" --suite "$SUITE" --workload "$workload" --contender "$contender" \
                --round "$round" --pids "$pg_pid $sw_pid" "${rss[@]}" -- "${cmd[@]}"
        done
        check_rows "$workload"
    done
done

note "One PostgreSQL instance ($("$PGBIN/postgres" --version)) holds database whole (the direct contender) and shard_0..shard_$((SHARDS - 1)); fsync off. t_copy has a bigint primary key; rows are ~50 bytes of text. Shardwire: maxPoolSize 4 per shard, t_copy sharded by id MOD $SHARDS (one actual table per shard)."
note "Each load is psql \\copy from a file ($ROUNDS rounds, contenders alternated, TRUNCATE before each, not timed); rows/s = $COPY_ROWS / median time. After each Shardwire load every shard held exactly its quarter of the rows, unless a line above says otherwise. Peak RSS is Shardwire's VmHWM, reset before each load."
report --rows "$ROWS" --out "$RESULTS_DIR/$SUITE.md" --repo "$REPO_DIR" --secondary none \
    --title "copy: COPY FROM STDIN into $SHARDS shards vs one database" \
    --intro "Target: Shardwire's peak RSS under 64 MiB whatever the row count."
log "report written: $RESULTS_DIR/$SUITE.md"
