#!/usr/bin/env bash
# Berth at scale: a store of 1,000,000 repositories (one tag each) and one repository with 100,000 tags, made by
# scripts/gen-store.py when missing. For each executable given (interleaved, ROUNDS times), starts the server on the
# store and measures:
#   first answer   time from starting the process to the first 200 of a manifest GET (the store is already open
#                  and in the page cache: a restart), polled with curl (~5 ms resolution); median of the starts
#   hot            manifest GET by tag of one repository (wrk -t2 -c64), requests/s and p99
#   spread         manifest GET by tag of a random repository of the million per request (scripts/random-repo.lua)
#   catalog page   GET /v2/_catalog?n=100&last=<random repository> (scripts/page.lua, wrk -t1 -c1: one client,
#                  so the p99 is the page's latency, not a queue behind other pages), p99
#   tags page      GET /v2/gen/tags/tags/list?n=100&last=<random tag> (same), p99
#   peak RSS       VmHWM of the server after all of the above
# and prints one line per run, then a Markdown table of medians per executable.
#
#   scripts/bench-scale.sh [options] [BINARY ...]     (default BINARY: artifacts/berth, built by scripts/publish.sh if missing)
#     --store DIR          the data directory (default artifacts/scale-store; generated when it has no berth.db)
#     --repositories N     repositories in a generated store (default 1000000); --tags N: tags of gen/tags (100000)
#     --postgres CONN      metadata in this PostgreSQL database (an Npgsql connection string) instead of STORE/berth.db
#     --rounds N           rounds (default 3); --seconds N: each measured wrk run (default 10)
#     --connections N      wrk connections for the manifest GETs (default 64); --port N (default 15731)
#     --restarts N         extra stop/start cycles per run for the first-answer time (default 2)
#
# With --postgres the store is STORE-postgres: its blob files, and the same metadata written into the database by
# gen-store.py --postgres (through COPY) when the database holds no repository yet; the server gets a berth.yml there.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
store="$root/artifacts/scale-store" repos=1000000 tags=100000 postgres=""
rounds=3 seconds=10 conns=64 port=15731 restarts=2
binaries=()
while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help) sed -n '2,/^[^#]/{/^#/{s/^# \{0,1\}//;p}}' "$0"; exit 0 ;;
	--store) store="$2"; shift 2 ;;
	--repositories) repos="$2"; shift 2 ;;
	--tags) tags="$2"; shift 2 ;;
	--postgres) postgres="$2"; shift 2 ;;
	--rounds) rounds="$2"; shift 2 ;;
	--seconds) seconds="$2"; shift 2 ;;
	--connections) conns="$2"; shift 2 ;;
	--port) port="$2"; shift 2 ;;
	--restarts) restarts="$2"; shift 2 ;;
	-*) echo "bench-scale.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	*) binaries+=("$(realpath "$1")"); shift ;;
	esac
done
if [ ${#binaries[@]} -eq 0 ]; then
	[ -x "$root/artifacts/berth" ] || "$root/scripts/publish.sh" >/dev/null
	binaries=("$root/artifacts/berth")
fi
for tool in wrk curl python3; do command -v "$tool" >/dev/null || { echo "bench-scale.sh: needs $tool" >&2; exit 1; }; done

# Arguments the server gets for the chosen metadata database.
server_args=()
if [ -z "$postgres" ]; then
	if [ ! -f "$store/berth.db" ]; then
		echo "generating $repos repositories and $tags tags in $store (several minutes)" >&2
		python3 "$root/scripts/gen-store.py" "$store" --repositories "$repos" --tags "$tags"
	fi
else
	store="$store-postgres"
	command -v psql >/dev/null || { echo "bench-scale.sh: needs psql (postgresql-client)" >&2; exit 1; }
	if [ ! -f "$store/berth.yml" ]; then
		echo "generating $repos repositories and $tags tags into PostgreSQL, blobs in $store (several minutes)" >&2
		python3 "$root/scripts/gen-store.py" "$store" --repositories "$repos" --tags "$tags" --postgres "$postgres"
		cat >"$store/berth.yml" <<-YAML
			metadata:
			  type: postgres
			  postgres:
			    connectionString: "$postgres"
			storage:
			  filesystem:
			    path: $store
		YAML
	fi
	server_args+=(--config "$store/berth.yml")
fi

url="http://127.0.0.1:$port"
accept="Accept: application/vnd.oci.image.manifest.v1+json"
hot_repo="gen/r0000001"
probe_repo="$(printf 'gen/r%07d' $((repos - 1)))"
log="$(mktemp -t berth-scale-XXXXXX.log)"
pid=""
stop() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=""; fi; }
trap 'stop' EXIT

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# Starts BINARY (its PID in $pid) and sets $first to the milliseconds until a manifest GET answers 200.
start() {
	local t0 code
	t0="$(now_ms)"
	"$1" serve --listen "127.0.0.1:$port" --data "$store" "${server_args[@]}" >"$log" 2>&1 &
	pid=$!
	for _ in $(seq 1 3000); do
		code="$(curl -s -o /dev/null -w '%{http_code}' -H "$accept" "$url/v2/$probe_repo/manifests/latest" || true)"
		[ "$code" = 200 ] && { first=$(($(now_ms) - t0)); return; }
		kill -0 "$pid" 2>/dev/null || { echo "the server stopped:" >&2; cat "$log" >&2; exit 1; }
	done
	echo "no answer after 3000 tries" >&2; exit 1
}

# wrk ARGS... -> "requests/s p99-in-ms"; refuses runs with answers other than 200.
run_wrk() {
	local out
	out="$(wrk --latency "$@")"
	if grep -q "Non-2xx\|non-200: [1-9]\|Socket errors" <<<"$out"; then echo "errors in wrk $*:" >&2; echo "$out" >&2; exit 1; fi
	printf '%s %s' "$(awk '/Requests\/sec/ { printf "%d", $2 }' <<<"$out")" \
		"$(awk '$1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
			printf "%.2f", (u == "us" ? v / 1000 : u == "s" ? v * 1000 : u == "m" ? v * 60000 : v) }' <<<"$out")"
}

results="$(mktemp -t berth-scale-XXXXXX.tsv)"
printf 'binary\tround\tfirst answer (ms)\thot req/s\thot p99 (ms)\tspread req/s\tspread p99 (ms)\tcatalog p99 (ms)\ttags p99 (ms)\tpeak RSS (MiB)\n' >&2
for r in $(seq 1 "$rounds"); do
	for bin in "${binaries[@]}"; do
		for _ in $(seq 1 "$restarts"); do
			start "$bin"; stop
			printf '%s\tfirst\t%s\n' "$bin" "$first" >>"$results"
		done
		start "$bin"
		printf '%s\tfirst\t%s\n' "$bin" "$first" >>"$results"
		run_wrk -t2 -c"$conns" -d3s -H "$accept" "$url/v2/$hot_repo/manifests/latest" >/dev/null
		read -r hot_rps hot_p99 <<<"$(run_wrk -t2 -c"$conns" -d"${seconds}s" -H "$accept" "$url/v2/$hot_repo/manifests/latest")"
		REPOS="$repos" run_wrk -t2 -c"$conns" -d5s -s "$root/scripts/random-repo.lua" "$url" >/dev/null
		read -r spread_rps spread_p99 <<<"$(REPOS="$repos" run_wrk -t2 -c"$conns" -d"${seconds}s" -s "$root/scripts/random-repo.lua" "$url")"
		read -r _ catalog_p99 <<<"$(PAGE=catalog REPOS="$repos" run_wrk -t1 -c1 -d"${seconds}s" -s "$root/scripts/page.lua" "$url")"
		read -r _ tags_p99 <<<"$(PAGE=tags TAGS="$tags" run_wrk -t1 -c1 -d"${seconds}s" -s "$root/scripts/page.lua" "$url")"
		hwm="$(awk '/^VmHWM:/ { printf "%d", $2 / 1024 }' "/proc/$pid/status")"
		stop
		printf '%s\trun\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$bin" "$hot_rps" "$hot_p99" "$spread_rps" "$spread_p99" "$catalog_p99" "$tags_p99" "$hwm" >>"$results"
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$bin" "$r" "$first" "$hot_rps" "$hot_p99" "$spread_rps" "$spread_p99" "$catalog_p99" "$tags_p99" "$hwm" >&2
	done
done

python3 - "$results" "$rounds" "$seconds" "$conns" "${binaries[@]}" <<'EOF'
import statistics, sys
path, rounds, seconds, conns, binaries = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
first, runs = {b: [] for b in binaries}, {b: [] for b in binaries}
for line in open(path):
    b, kind, *v = line.rstrip("\n").split("\t")
    (first if kind == "first" else runs)[b].append(v if kind == "run" else int(v[0]))
cols = ["hot req/s", "hot p99 (ms)", "spread req/s", "spread p99 (ms)", "catalog page p99 (ms)", "tags page p99 (ms)", "peak RSS, VmHWM (MiB)"]
print(f"\nMedians of {rounds} rounds ({seconds} s wrk runs, {conns} connections for manifest GETs, 1 for pages):\n")
print("| binary | first answer after start (s) | " + " | ".join(cols) + " |")
print("|---|" + "---:|" * (len(cols) + 1))
for b in binaries:
    med = [statistics.median(float(r[i]) for r in runs[b]) for i in range(len(cols))]
    cells = [f"{statistics.median(first[b]) / 1000:.3f}"] + [f"{m:,.0f}" if "req/s" in c or "RSS" in c else f"{m:.2f}" for c, m in zip(cols, med)]
    print(f"| {b} | " + " | ".join(cells) + " |")
EOF
