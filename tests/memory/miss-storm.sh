#!/usr/bin/env bash
# Memory under a storm of requests for repositories and tags that do not exist: anyone can send them (anyone at all
# in open mode; with authentication on, an anonymous caller still makes the server look up each name's visibility).
# Starts the published executable on a free loopback port, records VmRSS after a warm-up, runs wrk with
# miss-storm.lua in rounds (open mode, then with a user), and fails if RSS rises more than BOUND_MIB over the baseline.
#
# The bound, 128 MiB over the baseline: every cache is bounded by its real cost, 100 MiB together (manifests 64,
# visibility and roles 8 + 8, Basic sign-ins 4, bearer tokens 16), and a miss reaches only the visibility cache (8 MiB,
# auth on); the rest is the GC heap settling under 64 connections (up to ~50 MiB measured on 2 cores, then flat).
# Before the caches were bounded every missing name stayed (~650 bytes each): +27 MiB per 8 s round at 10k requests/s
# on a busy machine, ~170 MiB per 10 s round on a quiet one, without end; that fails here by the third or fourth round.
#   tests/memory/miss-storm.sh     # builds nothing: runs $BERTH_CMD (as test.sh sets it), else artifacts/berth; ~60 s
set -euo pipefail
for arg in "$@"; do
	case "$arg" in
	-h | --help) sed -n '2,/^[^#]/{/^#/{s/^# \{0,1\}//;p}}' "$0"; exit 0 ;;
	*) echo "miss-storm.sh: unknown argument '$arg' (it takes none; see --help)" >&2; exit 2 ;;
	esac
done
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${BERTH_CMD:-${BERTH_BIN:-$root/artifacts/berth}}"
seconds="${ROUND_SECONDS:-8}"
bound_mib="${BOUND_MIB:-128}"
[ -x "$bin" ] || { echo "no executable at $bin: run scripts/publish.sh or set BERTH_BIN" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is not installed (Debian package wrk; test.sh installs it)" >&2; exit 1; }

work="$(mktemp -d -t berth-storm-XXXXXX)"
pid=""
stop() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=""; fi; }
trap 'stop; rm -rf "$work"' EXIT

free_port() { python3 "$here/../free-port.py"; }

rss_mib() { awk '/^VmRSS:/ { printf "%d", $2 / 1024 }' "/proc/$pid/status"; }

# run MODE ROUNDS [env...]: one server, warm-up, then the rounds; prints each round's RSS and fails past the bound.
run() {
	local mode="$1" rounds="$2"; shift 2
	local port data
	port="$(free_port)"
	data="$work/$mode"
	mkdir -p "$data"
	env "$@" "$bin" serve --listen "127.0.0.1:$port" --data "$data" >"$work/$mode.log" 2>&1 &
	pid=$!
	for _ in $(seq 1 100); do
		curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && break
		sleep 0.1
	done
	local url="http://127.0.0.1:$port"
	# Warm-up: JIT, Kestrel's buffers and the thread pool, with 64 connections as in the storm.
	wrk -t2 -c64 -d2s "$url/v2/" >/dev/null
	wrk -t2 -c64 -d2s -s "$here/miss-storm.lua" "$url" >/dev/null
	local base
	base="$(rss_mib)"
	echo "$mode: baseline VmRSS $base MiB (bound: +$bound_mib MiB)"
	for r in $(seq 1 "$rounds"); do
		local out
		out="$(wrk -t2 -c64 -d"${seconds}s" -s "$here/miss-storm.lua" "$url")"
		local rps bad now
		rps="$(awk '/Requests\/sec/ { printf "%d", $2 }' <<<"$out")"
		bad="$(awk '/unexpected statuses/ { print $3 }' <<<"$out")"
		now="$(rss_mib)"
		echo "$mode: round $r: $rps requests/s, VmRSS $now MiB (+$((now - base)))"
		[ "$bad" = "0" ] || { echo "FAIL: $bad responses were neither 404 nor 401" >&2; cat "$work/$mode.log" >&2; exit 1; }
		if [ $((now - base)) -gt "$bound_mib" ]; then
			echo "FAIL: $mode: VmRSS grew $((now - base)) MiB under a storm of misses, more than $bound_mib MiB" >&2
			exit 1
		fi
	done
	stop
}

for m in ${MODES:-open auth}; do
	case $m in
	open) run open "${ROUNDS_OPEN:-4}" ;;
	auth) run auth "${ROUNDS_AUTH:-2}" BERTH_ADMIN_PASSWORD=storm-test-password ;;
	esac
done
echo "miss storm: OK"
