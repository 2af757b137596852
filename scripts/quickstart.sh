#!/usr/bin/env bash
# The quickstart: installs what it needs, builds Shardwire, and shows what it
# makes of the example sharding rules (examples/quickstart/conf).
# Serving queries through the proxy arrives with the PostgreSQL and MySQL
# end-to-end work; this script will then also start two shards, load the
# sample schema through Shardwire and run cross-shard queries.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

cargo build --release --locked --bin shardwire
conf=examples/quickstart/conf
echo "== shardwire check --config $conf"
./target/release/shardwire check --config "$conf"
echo
echo "Every logical table above is expanded into its data nodes with its strategies."
