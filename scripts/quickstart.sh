#!/usr/bin/env bash
# The quickstart: installs what it needs, builds Shardwire, shows what it
# makes of the example sharding rules (examples/quickstart/conf), and how it
# would route a few statements over them.
# Serving queries through the proxy arrives with the PostgreSQL and MySQL
# end-to-end work; this script will then also start two shards, load the
# sample schema through Shardwire and run cross-shard queries.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

cargo build --release --locked --bin shardwire --bin shardctl
conf=examples/quickstart/conf
echo "== shardwire check --config $conf"
./target/release/shardwire check --config "$conf"
echo
echo "Every logical table above is expanded into its data nodes with its strategies."

preview() {
    echo
    echo "== shardctl preview: $1"
    ./target/release/shardctl preview --config "$conf" --database sharding_db --dialect postgresql "$1"
}
preview "SELECT * FROM t_order WHERE user_id = 7 AND order_id = 1001"
preview "SELECT * FROM t_order WHERE user_id = 1 OR order_id = 3"
preview "INSERT INTO t_order (order_id, user_id, status) VALUES (1, 1, 'new'), (2, 2, 'new')"
preview "SELECT o.order_id, i.item_id FROM t_order o JOIN t_order_item i ON o.order_id = i.order_id WHERE o.user_id = 3"
