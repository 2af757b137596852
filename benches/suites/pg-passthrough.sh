#!/usr/bin/env bash
# pg-passthrough: pgbench -S (simple and prepared, 1 and 8 clients) against
# PostgreSQL directly, through PgBouncer (transaction mode, pool 8), and
# through a Shardwire passthrough database (one data source, no rules, pool 8)
# twice: with the eBPF splice switched off (user-space copy) and on.
source "$(dirname "$0")/../lib/common.sh"
source "$BENCH_DIR/lib/servers.sh"
SUITE=pg-passthrough
POOL=8

build_shardwire
log "starting PostgreSQL and loading pgbench scale $SCALE"
start_pg main
pg_port=$REPLY_PORT pg_pid=$REPLY_PID
pg_sql "$pg_port" postgres "CREATE DATABASE bench"
"$PGBIN/pgbench" -i -q -s "$SCALE" -h 127.0.0.1 -p "$pg_port" -U "$BENCH_USER" bench >"$WORK/init.log" 2>&1 ||
    die "pgbench -i failed: $(tail -5 "$WORK/init.log")"

log "starting PgBouncer and Shardwire"
start_pgbouncer tx "$pg_port" bench "$POOL" transaction
pgb_port=$REPLY_PORT pgb_pid=$REPLY_PID
# PgBouncer 1.18 (Debian 12) loses prepared statements in transaction mode
# (they live on whichever server connection ran PREPARE), so -M prepared is
# compared with a session-mode PgBouncer, equivalent here: clients <= pool.
start_pgbouncer session "$pg_port" bench "$POOL" session
pgbs_port=$REPLY_PORT pgbs_pid=$REPLY_PID

passthrough_conf() { # dir port fastpath
    mkdir -p "$1"
    shardwire_global "$2" "proxy-fastpath-enabled: $3" >"$1/global.yaml"
    { printf 'databaseName: bench\ndataSources:\n'; pg_data_source ds "$pg_port" bench "$POOL"; } \
        >"$1/database-bench.yaml"
}
passthrough_conf "$WORK/sw-copy" "$(free_port)" false
start_shardwire copy "$WORK/sw-copy" "$(sed -n 's/.*address: 127.0.0.1://p' "$WORK/sw-copy/global.yaml")"
swc_port=$REPLY_PORT swc_pid=$REPLY_PID
passthrough_conf "$WORK/sw-splice" "$(free_port)" true
start_shardwire splice "$WORK/sw-splice" "$(sed -n 's/.*address: 127.0.0.1://p' "$WORK/sw-splice/global.yaml")"
sws_port=$REPLY_PORT sws_pid=$REPLY_PID

declare -A port=([direct]=$pg_port [pgbouncer]=$pgb_port [pgbouncer-session]=$pgbs_port
    [shardwire-passthrough]=$swc_port [shardwire-splice]=$sws_port)
pids="$pg_pid $pgb_pid $pgbs_pid $swc_pid $sws_pid"

run_pgbench() { # workload contender round mode clients [--warmup]
    local threads=$(($5 < 2 ? $5 : 2)) secs=$SECS
    [ "${6:-}" = --warmup ] && secs=$WARMUP
    measure pgbench --rows "$ROWS" --suite "$SUITE" --workload "$1" --contender "$2" --round "$3" \
        --pids "$pids" ${6:-} -- "$PGBIN/pgbench" -n -S -M "$4" -c "$5" -j "$threads" -T "$secs" \
        -h 127.0.0.1 -p "${port[$2]}" -U "$BENCH_USER" bench
}

for mode in simple prepared; do
    contenders=(direct pgbouncer shardwire-passthrough shardwire-splice)
    [ "$mode" = prepared ] && contenders=(direct pgbouncer-session shardwire-passthrough shardwire-splice)
    for clients in 1 8; do
        workload="pgbench -S -M $mode, $clients clients"
        log "$workload: warm-up"
        for c in "${contenders[@]}"; do run_pgbench "$workload" "$c" 0 "$mode" "$clients" --warmup; done
        for ((round = 1; round <= ROUNDS; round++)); do
            for c in "${contenders[@]}"; do run_pgbench "$workload" "$c" "$round" "$mode" "$clients"; done
        done
    done
done

note "pgbench scale $SCALE ($((SCALE * 100000)) accounts, all in shared_buffers), $ROUNDS rounds of $SECS s per contender, contenders alternated within each round, $WARMUP s warm-up each."
note "PgBouncer $(pgbouncer --version | head -1 | awk '{print $2}') in transaction mode (pgbouncer-session: session mode, for -M prepared, which 1.18 cannot serve in transaction mode), default_pool_size = max_db_connections = $POOL; Shardwire maxPoolSize $POOL. $("$PGBIN/postgres" --version)."
note "shardwire-passthrough has proxy-fastpath-enabled: false (user-space copy); shardwire-splice has it true. The splice instance's log on its path: $(grep -m1 'passthrough sessions' "$WORK/shardwire-splice.log" | sed 's/^.*INFO //' | cut -c1-300 || echo 'no line about it')."
note "CPU-s / 1k tx (system) is busy time of all cores from /proc/stat over the run (includes softirq, where the splice works, and anything else running on the machine); (own processes) is user+system time of PostgreSQL, the pooler/proxies and pgbench. p50/p99 come from pgbench --log with --sampling-rate=0.1."
report --rows "$ROWS" --out "$RESULTS_DIR/$SUITE.md" --repo "$REPO_DIR" \
    --title "pg-passthrough: pgbench -S direct, PgBouncer, Shardwire passthrough" \
    --intro "Targets: Shardwire passthrough TPS at least PgBouncer's at 8 clients; system CPU per transaction no more than PgBouncer's."
log "report written: $RESULTS_DIR/$SUITE.md"
