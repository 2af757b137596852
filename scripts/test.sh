#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine: installs what it needs
# (apt packages, via install-deps.sh), then format, lint and every test tier.
# Tests start their own PostgreSQL / MariaDB instances on free ports.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
# The client drivers of tests/pg_drivers.rs (apt, PyPI, npm).
scripts/install-drivers.sh

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
# Every test binary runs even after one fails, so a failed run lists all
# its failures at once.
cargo test --workspace --locked --no-fail-fast
