#!/usr/bin/env bash
# mysql-sharded: sysbench oltp_point_select and oltp_read_only (8 threads)
# against one MariaDB database holding all rows (direct) and through
# Shardwire's MySQL frontend over two shard databases holding half of
# sbtest1 each, sharded by id (ds_${id % 2}; oltp_read_only's BETWEEN
# ranges go to both shards). All databases live in one
# MariaDB instance, so both contenders get the same server and caches.
# If this Shardwire cannot serve MySQL clients yet, the suite says so,
# writes that in its report and stops: no numbers are made up.
# SHARDWIRE_BIN_BEFORE=path adds a second Shardwire binary (e.g. one built
# from main before a change) as contender shardwire-before, alternated
# with the others, and writes results/mysql-sharded-before-after.md.
source "$(dirname "$0")/../lib/common.sh"
source "$BENCH_DIR/lib/servers.sh"
SUITE=mysql-sharded
POOL=8
TABLE_SIZE=${TABLE_SIZE:-1000000}

need_cmd sysbench sysbench
command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || die "no MariaDB server; run scripts/install-deps.sh"
MARIADBD=$(command -v mariadbd || echo /usr/sbin/mariadbd)
build_shardwire

log "starting MariaDB"
my_dir="$WORK/mariadb"
mkdir -p "$my_dir/data"
innodb=(--innodb-buffer-pool-size=512M --innodb-log-file-size=64M)
mariadb-install-db --no-defaults --datadir="$my_dir/data" --user=root --auth-root-authentication-method=normal \
    --skip-test-db --tmpdir="$my_dir" "${innodb[@]}" >"$WORK/mariadb-install.log" 2>&1 ||
    die "mariadb-install-db failed: $(tail -5 "$WORK/mariadb-install.log")"
cat >"$my_dir/init.sql" <<EOF
CREATE USER IF NOT EXISTS '$BENCH_USER'@'127.0.0.1' IDENTIFIED BY '$BENCH_PASSWORD';
GRANT ALL PRIVILEGES ON *.* TO '$BENCH_USER'@'127.0.0.1';
CREATE DATABASE IF NOT EXISTS sbtest;
CREATE DATABASE IF NOT EXISTS shard_0;
CREATE DATABASE IF NOT EXISTS shard_1;
EOF
my_port=$(free_port)
"$MARIADBD" --no-defaults --user=root --datadir="$my_dir/data" --port="$my_port" --bind-address=127.0.0.1 \
    --socket="$my_dir/mysqld.sock" --pid-file="$my_dir/mariadbd.pid" --tmpdir="$my_dir" \
    --init-file="$my_dir/init.sql" --max-connections=500 "${innodb[@]}" --skip-log-bin \
    --innodb-flush-log-at-trx-commit=2 --innodb-doublewrite=0 --character-set-server=utf8mb4 \
    --collation-server=utf8mb4_general_ci >"$WORK/mariadb.log" 2>&1 &
my_pid=$!
on_exit "kill $my_pid; sleep 1"
wait_port "$my_port" 600 || die "MariaDB did not start: $(tail -5 "$WORK/mariadb.log")"
my_sql() { # db sql
    mariadb --no-defaults --protocol=TCP -h 127.0.0.1 -P "$my_port" -u "$BENCH_USER" -p"$BENCH_PASSWORD" -N -B "$1" -e "$2"
}
for _ in $(seq 100); do my_sql sbtest "SELECT 1" >/dev/null 2>&1 && break; sleep 0.2; done

log "starting Shardwire with a MySQL listener"
sw_port=$(free_port)
mkdir -p "$WORK/sw"
shardwire_global "$sw_port" | sed 's/protocol: postgresql/protocol: mysql/' >"$WORK/sw/global.yaml"
my_data_source() { # name db
    printf '  %s:\n    url: jdbc:mysql://127.0.0.1:%s/%s\n    username: %s\n    password: %s\n    maxPoolSize: %s\n    connectionTimeoutMilliseconds: 10000\n' \
        "$1" "$my_port" "$2" "$BENCH_USER" "$BENCH_PASSWORD" "$POOL"
}
{
    printf 'databaseName: sbtest\ndataSources:\n'
    my_data_source ds_0 shard_0
    my_data_source ds_1 shard_1
    printf 'rules:\n- !SHARDING\n  tables:\n    sbtest1:\n      actualDataNodes: ds_${0..1}.sbtest1\n      databaseStrategy:\n        standard:\n          shardingColumn: id\n          shardingAlgorithmName: by_id\n'
    printf '  shardingAlgorithms:\n    by_id:\n      type: INLINE\n      props:\n        algorithm-expression: ds_${id %% 2}\n        allow-range-query-with-inline-sharding: true\n'
} >"$WORK/sw/database-sbtest.yaml"
start_shardwire sharded "$WORK/sw" "$sw_port"
sw_pid=$REPLY_PID
if [ -n "${SHARDWIRE_BIN_BEFORE:-}" ]; then
    [ -x "$SHARDWIRE_BIN_BEFORE" ] || die "SHARDWIRE_BIN_BEFORE=$SHARDWIRE_BIN_BEFORE is not executable"
    before_port=$(free_port)
    mkdir -p "$WORK/sw-before"
    shardwire_global "$before_port" | sed 's/protocol: postgresql/protocol: mysql/' >"$WORK/sw-before/global.yaml"
    cp "$WORK/sw/database-sbtest.yaml" "$WORK/sw-before/"
    SHARDWIRE_BIN=$SHARDWIRE_BIN_BEFORE start_shardwire before "$WORK/sw-before" "$before_port"
    before_pid=$REPLY_PID
fi

sw_sql() {
    mariadb --no-defaults --protocol=TCP -h 127.0.0.1 -P "$sw_port" -u "$BENCH_USER" -p"$BENCH_PASSWORD" \
        --connect-timeout=10 -N -B sbtest -e "$1"
}
if ! probe=$(sw_sql "SELECT 1" 2>&1) || [ "$probe" != 1 ]; then
    reason="\`shardwire serve\` does not serve MySQL clients yet: a mariadb client's \`SELECT 1\` through its MySQL listener got: $(echo "$probe" | head -2 | tr '\n' ' ' | cut -c1-200) (proxy log: $(grep -i mysql "$WORK/shardwire-sharded.log" | tail -1 | cut -c1-200))"
    mkdir -p "$RESULTS_DIR"
    {
        echo "# mysql-sharded: not run"
        echo
        echo "Checked $(date -u '+%Y-%m-%d %H:%M UTC') at commit $(git -C "$REPO_DIR" rev-parse --short HEAD): $reason"
        echo
        echo "No numbers: the suite stops before loading data. Rerun \`benches/run.sh mysql-sharded\` once the MySQL frontend serves."
    } >"$RESULTS_DIR/$SUITE.md"
    die "$reason"
fi

log "loading sysbench tables: $TABLE_SIZE rows whole, halves on two shards"
sb_common() { # port db
    echo --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$1" --mysql-user="$BENCH_USER" \
        --mysql-password="$BENCH_PASSWORD" --mysql-db="$2" --tables=1 --table-size="$TABLE_SIZE"
}
for db in sbtest shard_0 shard_1; do
    # shellcheck disable=SC2046
    sysbench oltp_read_only $(sb_common "$my_port" "$db") prepare >>"$WORK/prepare.log" 2>&1 ||
        die "sysbench prepare $db failed: $(tail -5 "$WORK/prepare.log")"
done
for k in 0 1; do
    my_sql "shard_$k" "DELETE FROM sbtest1 WHERE id % 2 <> $k; ANALYZE TABLE sbtest1" >/dev/null
done
for id in 2 3; do
    got=$(sw_sql "SELECT id FROM sbtest1 WHERE id = $id") || die "point select through Shardwire failed"
    [ "$got" = "$id" ] || die "id $id through Shardwire returned '$got'"
done

contenders=(direct shardwire-sharded)
declare -A port=([direct]=$my_port [shardwire-sharded]=$sw_port)
pids="$my_pid $sw_pid"
if [ -n "${SHARDWIRE_BIN_BEFORE:-}" ]; then
    contenders+=(shardwire-before)
    port[shardwire-before]=$before_port
    pids="$pids $before_pid"
fi
run_sysbench() { # test contender round [--warmup]
    local secs=$SECS
    [ "${4:-}" = --warmup ] && secs=$WARMUP
    # shellcheck disable=SC2046
    measure sysbench --rows "$ROWS" --suite "$SUITE" --workload "sysbench $1, 8 threads" --contender "$2" \
        --round "$3" --pids "$pids" ${4:-} -- sysbench "$1" $(sb_common "${port[$2]}" sbtest) \
        --threads=8 --time="$secs" --histogram=on --percentile=99 run
}
for test in oltp_point_select oltp_read_only; do
    log "$test: warm-up"
    for c in "${contenders[@]}"; do run_sysbench "$test" "$c" 0 --warmup; done
    for ((round = 1; round <= ROUNDS; round++)); do
        for c in "${contenders[@]}"; do run_sysbench "$test" "$c" "$round"; done
    done
done

note "sysbench $(sysbench --version | awk '{print $2}'), $TABLE_SIZE rows in sbtest.sbtest1 (direct); Shardwire's logical database sbtest spreads them over shard_0 (even id) and shard_1 (odd id) of the same MariaDB ($("$MARIADBD" --version | awk '{print $3}')), maxPoolSize $POOL per shard. TPS is sysbench's transactions per second (oltp_read_only: 14 queries per transaction, its ranges go to both shards)."
note "$ROUNDS rounds of $SECS s per contender, alternated, $WARMUP s warm-up each. p50/p99 come from sysbench's latency histogram. CPU-s / 1k tx (system) is /proc/stat busy time of all cores; (own processes) is user+system time of MariaDB, Shardwire and sysbench."
[ -n "${SHARDWIRE_BIN_BEFORE:-}" ] &&
    note "shardwire-before is \`$SHARDWIRE_BIN_BEFORE\` (built $(date -u -r "$SHARDWIRE_BIN_BEFORE" '+%Y-%m-%d %H:%M UTC')), same configuration on its own port, alternated with the others in every round."
out="$RESULTS_DIR/$SUITE.md" secondary=none
if [ -n "${SHARDWIRE_BIN_BEFORE:-}" ]; then
    out="$RESULTS_DIR/$SUITE-before-after.md" secondary=shardwire-before
fi
report --rows "$ROWS" --out "$out" --repo "$REPO_DIR" --secondary "$secondary" \
    --title "mysql-sharded: sysbench on one MariaDB database vs Shardwire over two shards"
log "report written: $out"
