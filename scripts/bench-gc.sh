#!/usr/bin/env bash
# GC settings by measurement: for each configuration (runtime environment variables on one executable), manifest GET
# by tag of one hot repository (the shared benchmark's row) and over random repositories of a large store made by
# scripts/gen-store.py, with wrk; prints requests/s, p99 and memory. Configurations run interleaved, ROUNDS times.
#   scripts/bench-gc.sh BINARY STORE_DIR REPOSITORIES   (env: ROUNDS=2 SECONDS_EACH=15 CONNECTIONS=64 PORT=19200 CONFIGS=...)
# The store is used read-only (the server opens it; reads change nothing).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$1" store="$2" repos="$3"
rounds="${ROUNDS:-2}" seconds="${SECONDS_EACH:-15}" conns="${CONNECTIONS:-64}" port="${PORT:-19200}"
url="http://127.0.0.1:$port"
accept="Accept: application/vnd.oci.image.manifest.v1+json"
# name=environment (space-separated assignments); the executable's own settings are the baseline.
configs=(
	"wks-nonconc=DOTNET_gcServer=0 DOTNET_gcConcurrent=0"
	"wks-conc=DOTNET_gcServer=0 DOTNET_gcConcurrent=1"
	"svr2-conc=DOTNET_gcServer=1 DOTNET_gcConcurrent=1 DOTNET_GCHeapCount=2 DOTNET_GCNoAffinitize=1"
	"svr2-nonconc=DOTNET_gcServer=1 DOTNET_gcConcurrent=0 DOTNET_GCHeapCount=2 DOTNET_GCNoAffinitize=1"
	"svr2-conc-conserve5=DOTNET_gcServer=1 DOTNET_gcConcurrent=1 DOTNET_GCHeapCount=2 DOTNET_GCNoAffinitize=1 DOTNET_GCConserveMemory=5"
	"wks-conc-conserve5=DOTNET_gcServer=0 DOTNET_gcConcurrent=1 DOTNET_GCConserveMemory=5"
	"wks-conc-tc0=DOTNET_gcServer=0 DOTNET_gcConcurrent=1 DOTNET_TieredCompilation=0"
)
[ -n "${CONFIGS:-}" ] && read -r -a wanted <<<"$CONFIGS"
pid=""
stop() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=""; fi; }
trap stop EXIT
mem() { awk '/^VmRSS:|^VmHWM:/ { printf "%s %d ", $1, $2 / 1024 }' "/proc/$pid/status"; }

run_wrk() {
	local out
	out="$(wrk -t2 -c"$conns" -d"$1" --latency "${@:2}")"
	if grep -q "Non-2xx\|non-200: [1-9]" <<<"$out"; then echo "non-200 answers" >&2; exit 1; fi
	printf '%s %s' "$(awk '/Requests\/sec/ { printf "%d", $2 }' <<<"$out")" "$(awk '$1 == "99%" { print $2 }' <<<"$out")"
}

printf 'config\tround\thot rps\thot p99\trandom rps\trandom p99\tRSS after (MiB)\tpeak RSS (MiB)\tGC threads\tgen2 GCs\tGC pause total (ms)\n'
for r in $(seq 1 "$rounds"); do
	for c in "${configs[@]}"; do
		name="${c%%=*}" envs="${c#*=}"
		if [ -n "${wanted:-}" ] && [[ " ${wanted[*]} " != *" $name "* ]]; then continue; fi
		# shellcheck disable=SC2086
		env $envs "$bin" serve --listen "127.0.0.1:$port" --data "$store" >/tmp/bench-gc-server.log 2>&1 &
		pid=$!
		for _ in $(seq 1 200); do curl -s -o /dev/null "$url/v2/" && break; sleep 0.1; done
		run_wrk 3s -H "$accept" "$url/v2/gen/r0000001/manifests/latest" >/dev/null
		hot="$(run_wrk "${seconds}s" -H "$accept" "$url/v2/gen/r0000001/manifests/latest")"
		REPOS="$repos" run_wrk 5s -s "$root/scripts/random-repo.lua" "$url" >/dev/null
		random="$(REPOS="$repos" run_wrk "${seconds}s" -s "$root/scripts/random-repo.lua" "$url")"
		m="$(mem)"
		gcthreads="$(cat /proc/"$pid"/task/*/comm 2>/dev/null | grep -ci "gc" || true)"
		stop
		# The server logs its GC totals when it stops (whole run: warm-ups, hot and random).
		gc="$(sed -n 's/.*GC collections [0-9]*\/[0-9]*\/\([0-9]*\) (gen0\/1\/2), \([0-9]*\) ms paused.*/\1\t\2/p' /tmp/bench-gc-server.log)"
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$r" "${hot// /$'\t'}" "${random// /$'\t'}" \
			"$(awk '{ print $4 }' <<<"$m")" "$(awk '{ print $2 }' <<<"$m")" "$gcthreads" "${gc:-?}"
	done
done
