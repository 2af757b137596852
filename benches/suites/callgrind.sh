#!/usr/bin/env bash
# callgrind: Shardwire's own user-space instructions per pgbench -S
# transaction at one client, routed over two shards, counted by
# valgrind --tool=callgrind: repeatable on a noisy shared machine where TPS
# is not. Each binary runs twice per mode (N_SHORT and N_LONG
# transactions after the same start-up); the difference divided by
# N_LONG - N_SHORT is the cost of one transaction, start-up and warm-up
# cancelled out. SHARDWIRE_BIN_BEFORE=path adds the before binary.
source "$(dirname "$0")/../lib/common.sh"
source "$BENCH_DIR/lib/servers.sh"
SUITE=callgrind
N_SHORT=${N_SHORT:-500}
N_LONG=${N_LONG:-2500}

need_cmd valgrind valgrind
build_shardwire
log "starting PostgreSQL with two shard databases (pgbench scale 1 each)"
start_pg main
pg_port=$REPLY_PORT
for k in 0 1; do
    pg_sql "$pg_port" postgres "CREATE DATABASE shard_$k"
    "$PGBIN/pgbench" -i -q -s 1 -h 127.0.0.1 -p "$pg_port" -U "$BENCH_USER" "shard_$k" \
        >>"$WORK/init.log" 2>&1 || die "pgbench -i shard_$k failed: $(tail -5 "$WORK/init.log")"
done

conf() { # dir port
    mkdir -p "$1"
    shardwire_global "$2" >"$1/global.yaml"
    {
        printf 'databaseName: bench\ndataSources:\n'
        pg_data_source ds_0 "$pg_port" shard_0 2
        pg_data_source ds_1 "$pg_port" shard_1 2
        printf 'rules:\n- !SHARDING\n  tables:\n    pgbench_accounts:\n      actualDataNodes: ds_${0..1}.pgbench_accounts\n'
        printf '      databaseStrategy:\n        standard:\n          shardingColumn: aid\n          shardingAlgorithmName: by_aid\n'
        printf '  shardingAlgorithms:\n    by_aid:\n      type: INLINE\n      props:\n        algorithm-expression: ds_${aid %% 2}\n'
        printf -- '- !BROADCAST\n  tables:\n    - pgbench_branches\n    - pgbench_tellers\n'
    } >"$1/database-bench.yaml"
}

# instructions BINARY MODE N: total instructions of one proxy run serving
# N transactions after its start-up.
instructions() {
    local bin=$1 mode=$2 n=$3 port out
    port=$(free_port)
    out="$WORK/callgrind.$(basename "$bin").$mode.$n"
    conf "$WORK/sw-$port" "$port"
    valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" serve --config "$WORK/sw-$port" \
        >"$out.log" 2>&1 &
    local pid=$!
    wait_port "$port" 600 || die "proxy under valgrind did not listen: $(tail -5 "$out.log")"
    PGPASSWORD=$BENCH_PASSWORD "$PGBIN/pgbench" -n -S -M "$mode" -c 1 -t "$n" -h 127.0.0.1 -p "$port" \
        -U "$BENCH_USER" bench >"$out.pgbench" 2>&1 || die "pgbench failed: $(tail -5 "$out.pgbench")"
    kill -TERM "$pid"
    wait "$pid" 2>/dev/null
    awk '/^(summary|totals):/ {print $2; exit}' "$out"
}

contenders=("after:$SHARDWIRE_BIN")
[ -n "${SHARDWIRE_BIN_BEFORE:-}" ] && contenders=("before:$SHARDWIRE_BIN_BEFORE" "${contenders[@]}")
mkdir -p "$RESULTS_DIR"
out="$RESULTS_DIR/$SUITE.md"
{
    echo "# callgrind: Shardwire's instructions per pgbench -S transaction (1 client, 2 shards)"
    echo
    echo "Written $(date -u '+%Y-%m-%d %H:%M UTC') by \`benches/run.sh callgrind\` at $(git -C "$REPO_DIR" rev-parse --short HEAD)."
    echo "Instructions per transaction = (Ir of a run of $N_LONG transactions - Ir of a run of $N_SHORT) / $((N_LONG - N_SHORT)),"
    echo "the proxy's user-space instructions only (valgrind --tool=callgrind), start-up cancelled out."
    echo
    echo "| binary | mode | instructions per transaction |"
    echo "|---|---|---:|"
} >"$out"
for c in "${contenders[@]}"; do
    name=${c%%:*} bin=${c#*:}
    for mode in simple prepared; do
        log "$name $mode: $N_SHORT and $N_LONG transactions under callgrind"
        short=$(instructions "$bin" "$mode" "$N_SHORT")
        long=$(instructions "$bin" "$mode" "$N_LONG")
        per=$(((long - short) / (N_LONG - N_SHORT)))
        log "$name $mode: $per instructions per transaction"
        echo "| $name (\`$bin\`) | $mode | $per |" >>"$out"
    done
done
log "report written: $out"
