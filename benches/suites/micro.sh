#!/usr/bin/env bash
# The criterion micro-benchmarks, all of them: PostgreSQL codec decode of
# pipelined batches (protocol), parse cold and cached, statement context,
# route, rewrite and the order-by merge (kernel). Inputs are fixed or seeded.
# Extra arguments go to criterion, e.g.
# `benches/run.sh micro --quick` or a filter such as `route`.
# Criterion keeps its reports under $CARGO_TARGET_DIR/criterion.
set -euo pipefail
cd "$(dirname "$0")/../.."
benches=(
    "shardwire-protocol codec"
    "shardwire-kernel kernel"
)
for b in "${benches[@]}"; do
    read -r crate bench <<<"$b"
    echo "== cargo bench -p $crate --bench $bench" >&2
    cargo bench --locked -p "$crate" --bench "$bench" -- "$@"
done
