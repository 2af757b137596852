#!/usr/bin/env bash
# connections: (1) resident memory per idle client: RSS of Shardwire (a
# sharded logical database, where an idle client holds no backend session)
# and of PgBouncer with 1k and 5k clients logged in and idle; (2) pgbench -S
# -C, a new connection (and SCRAM login) per transaction: direct, PgBouncer
# and a Shardwire passthrough database.
source "$(dirname "$0")/../lib/common.sh"
source "$BENCH_DIR/lib/servers.sh"
SUITE=connections
POOL=8
IDLE_COUNTS=${IDLE_COUNTS:-1000 5000}

build_shardwire
log "starting PostgreSQL, PgBouncer and Shardwire"
start_pg main
pg_port=$REPLY_PORT pg_pid=$REPLY_PID
for db in bench bench_1; do pg_sql "$pg_port" postgres "CREATE DATABASE $db"; done
"$PGBIN/pgbench" -i -q -s 1 -h 127.0.0.1 -p "$pg_port" -U "$BENCH_USER" bench >"$WORK/init.log" 2>&1 ||
    die "pgbench -i failed: $(tail -5 "$WORK/init.log")"
start_pgbouncer tx "$pg_port" bench "$POOL" transaction
pgb_port=$REPLY_PORT pgb_pid=$REPLY_PID

sw_port=$(free_port)
mkdir -p "$WORK/sw"
shardwire_global "$sw_port" >"$WORK/sw/global.yaml"
{ printf 'databaseName: bench\ndataSources:\n'; pg_data_source ds "$pg_port" bench "$POOL"; } \
    >"$WORK/sw/database-bench.yaml"
# The idle clients' database: two data sources and a rule, so it is not a
# passthrough database (whose every session holds a backend session).
{
    printf 'databaseName: sharded\ndataSources:\n'
    pg_data_source ds_0 "$pg_port" bench "$POOL"
    pg_data_source ds_1 "$pg_port" bench_1 "$POOL"
    printf 'rules:\n- !SHARDING\n  tables:\n    t_idle:\n      actualDataNodes: ds_${0..1}.t_idle\n      databaseStrategy:\n        standard:\n          shardingColumn: id\n          shardingAlgorithmName: by_id\n'
    printf '  shardingAlgorithms:\n    by_id:\n      type: INLINE\n      props:\n        algorithm-expression: ds_${id %% 2}\n'
} >"$WORK/sw/database-sharded.yaml"
start_shardwire main "$WORK/sw" "$sw_port"
sw_pid=$REPLY_PID
pids="$pg_pid $pgb_pid $sw_pid"

# --- idle clients -----------------------------------------------------------
# pgbench logs every client in, then each runs a script that only sleeps: no
# statement reaches the server.
echo '\sleep 1000 ms' >"$WORK/idle.sql"
established() { ss -Htn state established "( sport = :$1 )" | wc -l; }
idle_run() { # contender port pid db n
    local contender=$1 port=$2 pid=$3 db=$4 n=$5 before after pgbench_pid i
    before=$(measure rss "$pid")
    local cmd=("$PGBIN/pgbench" -n -c "$n" -j 2 -T 900 -f "$WORK/idle.sql" -h 127.0.0.1 -p "$port" -U "$BENCH_USER" "$db")
    "${cmd[@]}" >"$WORK/idle-$contender-$n.log" 2>&1 &
    pgbench_pid=$!
    # SCRAM logins on a loaded 2-core machine: allow 20 per second at worst.
    for ((i = 0; i < n / 20 + 60; i++)); do
        [ "$(established "$port")" -ge "$n" ] && break
        kill -0 "$pgbench_pid" 2>/dev/null || break
        sleep 1
    done
    local got
    got=$(established "$port")
    sleep 3 # let allocations settle
    after=$(measure rss "$pid")
    kill -TERM "$pgbench_pid" 2>/dev/null || true
    wait "$pgbench_pid" 2>/dev/null || true
    if [ "$got" -lt "$n" ]; then
        note "**$contender, $n idle clients: only $got connected** ($(grep -m1 -i error "$WORK/idle-$contender-$n.log" | cut -c1-200))"
        return
    fi
    local workload="$n idle clients"
    measure metric --rows "$ROWS" --suite "$SUITE" --workload "$workload" --contender "$contender" \
        --name "RSS before, MiB" --unit MiB --value "$(echo "$before / 1024" | bc -l)" --cmd "${cmd[*]}"
    measure metric --rows "$ROWS" --suite "$SUITE" --workload "$workload" --contender "$contender" \
        --name "RSS with clients, MiB" --unit MiB --value "$(echo "$after / 1024" | bc -l)"
    measure metric --rows "$ROWS" --suite "$SUITE" --workload "$workload" --contender "$contender" \
        --name "bytes per idle client" --unit bytes --value "$(echo "($after - $before) * 1024 / $n" | bc -l)"
    # Give the servers time to see the clients go before the next count.
    for ((i = 0; i < 60; i++)); do [ "$(established "$port")" -eq 0 ] && break; sleep 1; done
}
need_cmd bc bc
for n in $IDLE_COUNTS; do
    log "$n idle clients"
    idle_run shardwire-sharded "$sw_port" "$sw_pid" sharded "$n"
    idle_run pgbouncer "$pgb_port" "$pgb_pid" bench "$n"
done

# --- a connection per transaction -----------------------------------------
contenders=(direct pgbouncer shardwire-passthrough)
declare -A port=([direct]=$pg_port [pgbouncer]=$pgb_port [shardwire-passthrough]=$sw_port)
run_pgbench() { # workload contender round [--warmup]
    local secs=$SECS
    [ "${4:-}" = --warmup ] && secs=$WARMUP
    measure pgbench --rows "$ROWS" --suite "$SUITE" --workload "$1" --contender "$2" --round "$3" \
        --pids "$pids" ${4:-} -- "$PGBIN/pgbench" -n -S -C -c 8 -j 2 -T "$secs" \
        -h 127.0.0.1 -p "${port[$2]}" -U "$BENCH_USER" bench
}
workload="pgbench -S -C (connect per transaction), 8 clients"
log "$workload: warm-up"
for c in "${contenders[@]}"; do run_pgbench "$workload" "$c" 0 --warmup; done
for ((round = 1; round <= ROUNDS; round++)); do
    for c in "${contenders[@]}"; do run_pgbench "$workload" "$c" "$round"; done
done

note "Idle clients: pgbench with N clients whose script is one sleep command, so after login nothing is sent; RSS (VmRSS) is read once all N are established (ss) and 3 s later; bytes per idle client = (RSS with - RSS before) / N; one measurement per count. Shardwire serves the idle clients from a sharded logical database (2 data sources, a rule), which takes backend sessions only per statement; PgBouncer in transaction mode."
note "Every login is SCRAM-SHA-256: PostgreSQL and PgBouncer hold the SCRAM verifier (PgBouncer's auth_file has pg_authid's), Shardwire the password from global.yaml. pgbench -C: $ROUNDS rounds of $SECS s, contenders alternated; Shardwire's passthrough database and PgBouncer keep $POOL pooled server connections, direct pays a PostgreSQL backend start per transaction."
note "PgBouncer $(pgbouncer --version | head -1 | awk '{print $2}'), $("$PGBIN/postgres" --version). CPU-s / 1k tx (system) is /proc/stat busy time of all cores; (own processes) is user+system time of PostgreSQL, PgBouncer, Shardwire and pgbench."
report --rows "$ROWS" --out "$RESULTS_DIR/$SUITE.md" --repo "$REPO_DIR" \
    --title "connections: idle clients' memory and a connection per transaction" \
    --intro "Target: at most 4 KB (4096 bytes) per idle client."
log "report written: $RESULTS_DIR/$SUITE.md"
