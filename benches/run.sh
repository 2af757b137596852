#!/usr/bin/env bash
# The one entry point of the macro benchmarks:
#   benches/run.sh <suite>     one suite, report in benches/results/<suite>.md
#   benches/run.sh all         every suite in turn
#   benches/run.sh micro [criterion args]   the criterion micro-benchmarks
# Suites start their own servers on free ports and stop them on exit; run as
# root. Knobs (ROUNDS, SECS, WARMUP, SCALE, SHARDWIRE_BIN, KEEP) are listed
# in benches/lib/common.sh.
set -euo pipefail
dir=$(cd "$(dirname "$0")" && pwd)
suites=(pg-passthrough pg-sharded scatter connections mysql-sharded copy opengauss-batch)
usage() { echo "usage: $0 {$(IFS='|'; echo "${suites[*]}")|all|micro}" >&2; exit 2; }
[ $# -ge 1 ] || usage
case "$1" in
all)
    status=0
    for s in "${suites[@]}"; do bash "$dir/suites/$s.sh" || status=1; done
    exit $status
    ;;
micro) shift; exec bash "$dir/suites/micro.sh" "$@" ;;
*)
    [ -f "$dir/suites/$1.sh" ] || usage
    exec bash "$dir/suites/$1.sh"
    ;;
esac
