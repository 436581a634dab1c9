#!/usr/bin/env bash
# The manifest GET hot path of two Berth executables, interleaved: each serves one small image; wrk GETs the
# manifest by tag (2 threads, 64 connections) on one, then the other, ROUNDS times, and the load averages are
# printed beside each round; then the pulls the after binary's statistics recorded against the GETs wrk completed
# (wrk counts completed responses; a request cut off at the end may be served and counted too). Used to measure
# what pull statistics cost (docs/benchmarks.md); needs wrk, skopeo, python3, sqlite3.
#   scripts/bench-manifest-get.sh BEFORE_BINARY AFTER_BINARY [ROUNDS] [SECONDS]
set -euo pipefail
case "${1:-}" in
-h | --help | "") sed -n '2,/^[^#]/{/^#/{s/^# \{0,1\}//;p}}' "$0"; [ -n "${1:-}" ]; exit ;;
esac
[ $# -ge 2 ] && [ $# -le 4 ] || { echo "bench-manifest-get.sh: BEFORE AFTER [ROUNDS] [SECONDS] (see --help)" >&2; exit 2; }
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
before=$1 after=$2 rounds=${3:-3} seconds=${4:-10}
for tool in wrk skopeo python3 sqlite3; do command -v "$tool" >/dev/null || { echo "bench-manifest-get.sh: $tool is missing" >&2; exit 1; }; done
work=$(mktemp -d "${TMPDIR:-/tmp}/berth-bench-get.XXXXXX")
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
python3 "$root/tests/clients/make-image.py" "$work/image" amd64 3 >/dev/null
declare -A url pid
for name in before after; do
	port=$(python3 "$root/tests/free-port.py")
	bin=$before; [ "$name" = after ] && bin=$after
	"$bin" serve --listen "127.0.0.1:$port" --data "$work/$name" >"$work/$name.log" 2>&1 &
	pids+=($!)
	pid[$name]=$!
	for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.2; done
	skopeo copy -q --dest-tls-verify=false "oci:$work/image:latest" "docker://127.0.0.1:$port/bench/app:1" >/dev/null
	url[$name]="http://127.0.0.1:$port/v2/bench/app/manifests/1"
done
lua="$work/get.lua"
cat >"$lua" <<'LUA'
wrk.headers["Accept"] = "application/vnd.oci.image.manifest.v1+json"
function done(summary, latency, requests)
  io.write(string.format("RESULT %d %.0f %.2f\n", summary.requests, summary.requests / (summary.duration / 1e6), latency:percentile(99) / 1000))
end
LUA
sleep 6 # the pushes' own reads are flushed before counting starts
count() { sqlite3 "$work/after/berth.db" "SELECT pull_count FROM tags WHERE repository = 'bench/app'"; }
base=$(count)
sent=0
# CPU seconds (user + system) the server has used: what a request costs, far less disturbed by a busy machine than
# requests/s.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f", ($14 + $15) / hz }' "/proc/$1/stat"; }
echo "| round | binary | requests/s | p99 ms | server CPU µs per request | load (1, 5, 15 min) |"
echo "|---|---|---|---|---|---|"
for round in $(seq "$rounds"); do
	for name in before after; do
		read -r _ warm _ _ < <(wrk -t2 -c64 -d1s -s "$lua" "${url[$name]}" | grep '^RESULT') # warm-up
		start=$(cpu "${pid[$name]}")
		read -r _ total rate p99 < <(wrk -t2 -c64 -d"${seconds}s" -s "$lua" "${url[$name]}" | grep '^RESULT')
		used=$(awk -v a="$start" -v b="$(cpu "${pid[$name]}")" -v n="$total" 'BEGIN { printf "%.1f", (b - a) * 1e6 / n }')
		[ "$name" = after ] && sent=$((sent + warm + total))
		load=$(cut -d' ' -f1-3 /proc/loadavg)
		echo "| $round | $name | $rate | $p99 | $used | $load |"
	done
done
sleep 6 # one flush of the pull statistics
echo "GETs wrk completed on the after binary: $sent; pulls its statistics recorded: $(($(count) - base))"
