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
# The conf also has a MySQL listener; this part does not use it, but it
# must not collide with a server on 3307.
sed -i -e "s/127.0.0.1:6432/127.0.0.1:$proxy_port/" -e "s/127.0.0.1:3307/127.0.0.1:$(free_port)/" "$conf/global.yaml"

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
"$bin"/shardwire check --config "$conf" >"$work/check.json"
head -40 "$work/check.json"
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

# ---- MySQL: the same demo through the mysql listener, with the mariadb CLI.
# A throwaway MariaDB holds the two shard databases; a second Shardwire
# serves a copy of the conf whose ports point at it (the first one's MySQL
# data sources point at nothing and are never used).
my_port=$(free_port)
my_proxy_port=$(free_port)
my_pg_listener=$(free_port)
mydir="$work/mariadb"
myconf="$work/conf-mysql"

cleanup_mysql() {
    if [ "${KEEP:-0}" = 1 ]; then
        echo "left running: MariaDB on $my_port ($mydir), Shardwire (MySQL) on $my_proxy_port (pid ${my_proxy_pid:-?})"
        return
    fi
    [ -n "${my_proxy_pid:-}" ] && kill "$my_proxy_pid" 2>/dev/null || true
    [ -n "${mariadb_pid:-}" ] && kill "$mariadb_pid" 2>/dev/null && wait "$mariadb_pid" 2>/dev/null || true
}
trap 'cleanup_mysql; cleanup' EXIT

echo
echo "== MySQL: starting MariaDB on port $my_port with databases shard_0 and shard_1"
mkdir -p "$mydir"
mariadb-install-db --no-defaults --datadir="$mydir/data" --auth-root-authentication-method=normal \
    >"$work/mariadb-install.log" 2>&1
mariadbd --no-defaults --datadir="$mydir/data" --port="$my_port" --bind-address=127.0.0.1 \
    --socket="$mydir/sock" --user=root --log-error="$work/mariadb.log" &
mariadb_pid=$!
for _ in $(seq 100); do
    mariadb-admin --no-defaults -S "$mydir/sock" -uroot ping >/dev/null 2>&1 && break
    sleep 0.1
done
mariadb --no-defaults -S "$mydir/sock" -uroot -e "
    CREATE DATABASE shard_0; CREATE DATABASE shard_1;
    CREATE USER 'shardwire'@'localhost' IDENTIFIED BY 'shardwire';
    CREATE USER 'shardwire'@'127.0.0.1' IDENTIFIED BY 'shardwire';
    GRANT ALL ON *.* TO 'shardwire'@'localhost';
    GRANT ALL ON *.* TO 'shardwire'@'127.0.0.1';"

cp -r examples/quickstart/conf "$myconf"
sed -i "s/127.0.0.1:53306/127.0.0.1:$my_port/" "$myconf/database-mysql.yaml"
sed -i "s/127.0.0.1:55432/127.0.0.1:$pg_port/" "$myconf/database-sharding.yaml"
sed -i -e "s/127.0.0.1:3307/127.0.0.1:$my_proxy_port/" -e "s/127.0.0.1:6432/127.0.0.1:$my_pg_listener/" \
    "$myconf/global.yaml"

echo "== starting Shardwire with a MySQL listener on 127.0.0.1:$my_proxy_port"
"$bin"/shardwire serve --config "$myconf" 2>"$work/shardwire-mysql.log" &
my_proxy_pid=$!
for _ in $(seq 100); do
    (echo >"/dev/tcp/127.0.0.1/$my_proxy_port") 2>/dev/null && break
    sleep 0.1
done

myrun() {
    echo
    echo "sharding_mysql> $1"
    mariadb --no-defaults --protocol=TCP -h 127.0.0.1 -P "$my_proxy_port" -u demo -pdemo \
        -D sharding_mysql --table -e "$1"
}
myrun "CREATE TABLE t_order (order_id BIGINT PRIMARY KEY, user_id INT NOT NULL, status VARCHAR(16), amount DECIMAL(10,2))"
myrun "CREATE TABLE t_order_item (item_id BIGINT PRIMARY KEY, order_id BIGINT NOT NULL, user_id INT NOT NULL, sku VARCHAR(32))"
myrun "CREATE TABLE t_address (id INT PRIMARY KEY, city VARCHAR(32))"
myrun "SHOW TABLES"
myrun "INSERT INTO t_order (user_id, status, amount) VALUES (1, 'paid', 10.50); SELECT LAST_INSERT_ID() AS generated_order_id"
myrun "INSERT INTO t_order (user_id, status, amount) VALUES (2, 'paid', 99.00), (3, 'new', 5.25), (4, 'new', 42.00), (5, 'paid', 7.00), (6, 'shipped', 64.10)"
myrun "INSERT INTO t_address (id, city) VALUES (1, 'Lisbon'), (2, 'Osaka')"
myrun "SELECT status, count(*), sum(amount), avg(amount) FROM t_order GROUP BY status ORDER BY status"
myrun "SELECT user_id, amount FROM t_order ORDER BY amount DESC LIMIT 3"
myrun "SELECT user_id, status FROM t_order WHERE user_id = 3"
myrun "BEGIN; UPDATE t_order SET status = 'shipped' WHERE user_id IN (1, 2); ROLLBACK; SELECT user_id, status FROM t_order WHERE user_id IN (1, 2) ORDER BY user_id"
myrun "SELECT city FROM t_address ORDER BY id"
echo
echo "== where the rows landed (the MariaDB shards, read directly)"
for db in shard_0 shard_1; do
    for t in t_order_0 t_order_1; do
        n=$(mariadb --no-defaults -S "$mydir/sock" -uroot -N -e "SELECT count(*) FROM $db.$t")
        echo "$db.$t: $n rows"
    done
done
