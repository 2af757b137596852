#!/usr/bin/env bash
# The quickstart: installs what it needs, builds Shardwire, starts a
# throwaway PostgreSQL holding two shard databases (shard_0, shard_1) on a
# free port, serves examples/quickstart/conf through Shardwire, then with
# psql creates the sample schema through the proxy (DDL fan-out), inserts
# rows (generated keys) and runs cross-shard queries.
# Everything it starts is stopped on exit; KEEP=1 leaves it running.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cargo build --release --locked --bin shardwire --bin shardctl
bin="${CARGO_TARGET_DIR:-target}/release"

pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pg_port=$(free_port)
proxy_port=$(free_port)
work=$(mktemp -d /tmp/shardwire-quickstart-XXXXXX)
chmod 755 "$work"
conf="$work/conf"
cp -r examples/quickstart/conf "$conf"
sed -i "s/127.0.0.1:55432/127.0.0.1:$pg_port/" "$conf/database-sharding.yaml"
sed -i "s/127.0.0.1:6432/127.0.0.1:$proxy_port/" "$conf/global.yaml"

cleanup() {
    if [ "${KEEP:-0}" = 1 ]; then
        echo "left running: PostgreSQL on $pg_port ($work), Shardwire on $proxy_port (pid ${proxy_pid:-?})"
        return
    fi
    [ -n "${proxy_pid:-}" ] && kill "$proxy_pid" 2>/dev/null || true
    runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

echo "== starting PostgreSQL on port $pg_port with databases shard_0 and shard_1"
mkdir -p "$work/pg" && chown postgres "$work/pg" "$work"
echo shardwire > "$work/pw" && chown postgres "$work/pw"
runuser -u postgres -- "$pgbin/initdb" -D "$work/pg" -U shardwire --pwfile="$work/pw" \
    --auth-host=scram-sha-256 --auth-local=trust >"$work/initdb.log" 2>&1
runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg" -l "$work/pg.log" -w \
    -o "-p $pg_port -k $work -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
for db in shard_0 shard_1; do
    "$pgbin/psql" -h "$work" -p "$pg_port" -U shardwire -d postgres -qc "CREATE DATABASE $db"
done

echo "== shardwire check: the rules, expanded"
"$bin"/shardwire check --config "$conf" | head -40
echo "   ..."

echo "== starting Shardwire on 127.0.0.1:$proxy_port"
"$bin"/shardwire serve --config "$conf" 2>"$work/shardwire.log" &
proxy_pid=$!
for _ in $(seq 100); do
    (echo >"/dev/tcp/127.0.0.1/$proxy_port") 2>/dev/null && break
    sleep 0.1
done

run() {
    echo
    echo "sharding_db=> $1"
    PGPASSWORD=demo "$pgbin/psql" -X -h 127.0.0.1 -p "$proxy_port" -U demo -d sharding_db \
        -v ON_ERROR_STOP=1 -P pager=off -c "$1"
}
run "CREATE TABLE t_order (order_id BIGINT PRIMARY KEY, user_id INT NOT NULL, status VARCHAR(16), amount NUMERIC(10,2))"
run "CREATE TABLE t_order_item (item_id BIGINT PRIMARY KEY, order_id BIGINT NOT NULL, user_id INT NOT NULL, sku TEXT)"
run "CREATE TABLE t_address (id INT PRIMARY KEY, city TEXT)"
run "INSERT INTO t_order (user_id, status, amount) VALUES (1, 'paid', 10.50), (2, 'paid', 99.00), (3, 'new', 5.25), (4, 'new', 42.00), (5, 'paid', 7.00), (6, 'shipped', 64.10) RETURNING order_id, user_id"
run "INSERT INTO t_address (id, city) VALUES (1, 'Lisbon'), (2, 'Osaka')"
run "SELECT status, count(*), sum(amount), avg(amount) FROM t_order GROUP BY status ORDER BY status"
run "SELECT user_id, amount FROM t_order ORDER BY amount DESC LIMIT 3"
run "SELECT user_id, status FROM t_order WHERE user_id = 3"
run "SELECT city FROM t_address ORDER BY id"
echo
echo "== where the rows landed (the shards, read directly)"
for db in shard_0 shard_1; do
    for t in t_order_0 t_order_1; do
        n=$("$pgbin/psql" -h "$work" -p "$pg_port" -U shardwire -d "$db" -Atc "SELECT count(*) FROM $t")
        echo "$db.$t: $n rows"
    done
done
echo
echo "== shardctl preview: how a statement is routed, without running it"
"$bin"/shardctl preview --config "$conf" --database sharding_db --dialect postgresql \
    "SELECT * FROM t_order WHERE user_id = 1 OR order_id = 3"
