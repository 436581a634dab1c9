#!/usr/bin/env bash
# Benchmarks Berth against distribution 2.8.2 with ../shared/bench/run.sh (one run, side by side).
# Measures the published single executable (scripts/publish.sh), what users run, not a JIT build.
#   scripts/bench.sh                       # everything (5-7 minutes)
#   WORKLOADS=load,small scripts/bench.sh  # some workloads; see ../shared/bench/README.md
#   TARGET_AUTH=admin:PASSWORD scripts/bench.sh   # authentication on: Berth starts with BERTH_ADMIN_PASSWORD, the
#                                                 # harness signs in through the token flow (bearer tokens)
set -euo pipefail
for arg in "$@"; do
	case "$arg" in
	-h | --help) sed -n '2,/^[^#]/{/^#/{s/^# \{0,1\}//;p}}' "$0"; exit 0 ;;
	*) echo "bench.sh: unknown argument '$arg' (it takes none; see --help)" >&2; exit 2 ;;
	esac
done
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bench="${BENCH_RUN:-$root/../shared/bench/run.sh}"
[ -x "$bench" ] || [ -f "$bench" ] || { echo "bench harness not found at $bench (set BENCH_RUN)" >&2; exit 1; }
berth=$("$root/scripts/publish.sh" | tail -n 1)
export TARGET_URL="${TARGET_URL:-http://127.0.0.1:15101}"
port="${TARGET_URL##*:}"
export TARGET_START="exec $berth serve --listen 127.0.0.1:$port --data \$BENCH_TARGET_DATA"
if [ -n "${TARGET_AUTH:-}" ]; then
	[ "${TARGET_AUTH%%:*}" = admin ] || { echo "bench.sh: TARGET_AUTH must be admin:PASSWORD (Berth creates user admin with it)" >&2; exit 2; }
	export BERTH_ADMIN_PASSWORD="${TARGET_AUTH#*:}"
fi
export RESULTS="${RESULTS:-$root/artifacts/bench-results.md}"
exec bash "$bench"
