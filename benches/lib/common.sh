# Shared by every suite (sourced, not run): settings, the work directory,
# cleanup of everything a suite starts, free ports, the Shardwire build.
#
# Knobs (environment):
#   ROUNDS=3     rounds per contender (A B A B ...)
#   SECS=10      seconds per measured run
#   WARMUP=3     seconds of warm-up per contender before the rounds
#   SCALE=10     pgbench scale (100k accounts each)
#   SHARDWIRE_BIN=path   use this binary instead of building one
#   KEEP=1       leave the work directory (logs, confs) behind
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
RESULTS_DIR="$BENCH_DIR/results"
ROUNDS=${ROUNDS:-3}
SECS=${SECS:-10}
WARMUP=${WARMUP:-3}
SCALE=${SCALE:-10}
# One user and password for every contender, so login costs are alike.
BENCH_USER=bench
BENCH_PASSWORD=bench-secret
export PGPASSWORD=$BENCH_PASSWORD
# Thousands of idle clients need as many descriptors in client and proxy.
ulimit -n "$(ulimit -Hn)"

die() { echo "error: $*" >&2; exit 1; }
log() { echo "== $(date -u +%H:%M:%S) $*" >&2; }

[ "$(id -u)" -eq 0 ] || die "run as root: PostgreSQL and MariaDB are started as their own users"

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$PGBIN" ] || die "no PostgreSQL server found; run scripts/install-deps.sh"

WORK=$(mktemp -d /tmp/shardwire-bench-XXXXXX)
chmod 755 "$WORK"
# PostgreSQL (run as postgres) writes its logs and socket here.
chown postgres "$WORK"
# Results of every run as JSON lines, and the report's metadata.
ROWS="$WORK/rows.jsonl"
: >"$ROWS"

# Cleanup actions, run last-in first-out on exit.
CLEANUPS=()
on_exit() { CLEANUPS+=("$1"); }
run_cleanups() {
    local i
    for ((i = ${#CLEANUPS[@]} - 1; i >= 0; i--)); do
        eval "${CLEANUPS[$i]}" >/dev/null 2>&1 || true
    done
    if [ "${KEEP:-0}" = 1 ]; then
        echo "work directory kept: $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}
trap run_cleanups EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() { # port [tries of 0.1 s]
    local i
    for ((i = 0; i < ${2:-300}; i++)); do
        (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

need_cmd() { # command package
    command -v "$1" >/dev/null 2>&1 && return 0
    log "installing $2"
    DEBIAN_FRONTEND=noninteractive apt-get install -y "$2" >/dev/null ||
        { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y "$2" >/dev/null; } ||
        die "could not install $2"
}

# The release proxy, built from this checkout unless SHARDWIRE_BIN is set.
build_shardwire() {
    if [ -n "${SHARDWIRE_BIN:-}" ]; then
        [ -x "$SHARDWIRE_BIN" ] || die "SHARDWIRE_BIN=$SHARDWIRE_BIN is not executable"
        return
    fi
    command -v cargo >/dev/null || die "cargo not found; install Rust first"
    log "building the release proxy"
    (cd "$REPO_DIR" && cargo build --release --locked --bin shardwire) >&2
    SHARDWIRE_BIN="${CARGO_TARGET_DIR:-$REPO_DIR/target}/release/shardwire"
}

# Python helpers: measurement and report.
measure() { python3 "$BENCH_DIR/lib/measure.py" "$@"; }
report() { python3 "$BENCH_DIR/lib/report.py" --binary "${SHARDWIRE_BIN:-}" "$@"; }

# Records a free-form note for the report (one line of Markdown).
note() { measure note --rows "$ROWS" "$*"; }
