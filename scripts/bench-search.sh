#!/usr/bin/env bash
# Search over a store of 1,000,000 repositories (scripts/gen-store.py: descriptions, labels, pull counts, every tenth
# public), on SQLite or PostgreSQL. Starts the server with authentication on (user admin) and, for each term, sends
# REQUESTS sequential GET /v1/search?q=TERM&n=25 on one keep-alive connection (so each latency is the query's, not a
# queue's) as two callers: anonymous (sees the public tenth) and admin (sees everything). Prints a Markdown table: the
# term, what it matches in the index (before access), the p50/p99/max latency per caller in ms, and num_results.
#
#   scripts/bench-search.sh [options] [BINARY]     (default BINARY: artifacts/berth, built by scripts/publish.sh if missing)
#     --store DIR          the data directory (default artifacts/search-store; generated when it has no berth.db)
#     --repositories N     repositories in a generated store (default 1000000)
#     --postgres CONN      metadata in this PostgreSQL database (an Npgsql connection string) instead of STORE/berth.db;
#                          the store is then STORE-postgres (generated into the database when it has no berth.yml)
#     --requests N         requests per term and caller (default 300); --port N (default 25100)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
store="$root/artifacts/search-store" repos=1000000 postgres="" requests=300 port=25100 binary=""
while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help) sed -n '2,/^[^#]/{/^#/{s/^# \{0,1\}//;p}}' "$0"; exit 0 ;;
	--store) store="$2"; shift 2 ;;
	--repositories) repos="$2"; shift 2 ;;
	--postgres) postgres="$2"; shift 2 ;;
	--requests) requests="$2"; shift 2 ;;
	--port) port="$2"; shift 2 ;;
	-*) echo "bench-search.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	*) [ -z "$binary" ] || { echo "bench-search.sh: one binary at most" >&2; exit 2; }; binary="$(realpath "$1")"; shift ;;
	esac
done
if [ -z "$binary" ]; then
	[ -x "$root/artifacts/berth" ] || "$root/scripts/publish.sh" >/dev/null
	binary="$root/artifacts/berth"
fi
for tool in curl python3; do command -v "$tool" >/dev/null || { echo "bench-search.sh: needs $tool" >&2; exit 1; }; done

server_args=()
if [ -z "$postgres" ]; then
	if [ ! -f "$store/berth.db" ]; then
		echo "generating $repos repositories in $store (several minutes)" >&2
		python3 "$root/scripts/gen-store.py" "$store" --repositories "$repos" --tags 0 --no-images
	fi
else
	store="$store-postgres"
	command -v psql >/dev/null || { echo "bench-search.sh: needs psql (postgresql-client)" >&2; exit 1; }
	if [ ! -f "$store/berth.yml" ]; then
		echo "generating $repos repositories into PostgreSQL, blobs in $store (several minutes)" >&2
		python3 "$root/scripts/gen-store.py" "$store" --repositories "$repos" --tags 0 --no-images --postgres "$postgres"
		printf 'metadata:\n  type: postgres\n  postgres:\n    connectionString: "%s"\nstorage:\n  filesystem:\n    path: %s\n' "$postgres" "$store" >"$store/berth.yml"
	fi
	server_args+=(--config "$store/berth.yml")
fi

url="http://127.0.0.1:$port"
log="$(mktemp -t berth-search-XXXXXX.log)"
password="bench-admin-$RANDOM-password"
BERTH_ADMIN_PASSWORD="$password" "$binary" serve --listen "127.0.0.1:$port" --data "$store" "${server_args[@]}" >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/v2/" || true)" = 401 ] && break
	kill -0 "$pid" 2>/dev/null || { echo "the server stopped:" >&2; cat "$log" >&2; exit 1; }
	sleep 0.1
done

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
python3 - "$port" "$requests" "$password" <<'PY'
import base64, http.client, json, statistics, sys, time, urllib.parse
port, requests, password = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
# none; few (10 repositories: its project number); 1,000 (a vendor label); ~3% (kafka); ~75% (linux); two words;
# a one-letter prefix; an exact name.
terms = ["zqxjv", "project04217", "vendor123", "kafka", "linux", "redis proxy", "p", "gen/r0500000"]
callers = {"anonymous": {}, "admin": {"Authorization": "Basic " + base64.b64encode(f"admin:{password}".encode()).decode()}}
print("| term | p50 anonymous | p99 anonymous | max anonymous | results anonymous | p50 admin | p99 admin | max admin | results admin |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for term in terms:
    row = [f"`{term}`"]
    for name, headers in callers.items():
        c = http.client.HTTPConnection("127.0.0.1", port)
        path = "/v1/search?" + urllib.parse.urlencode({"q": term, "n": 25})
        times, total = [], None
        for i in range(requests + 20):
            t0 = time.perf_counter()
            c.request("GET", path, headers=headers)
            r = c.getresponse()
            body = r.read()
            elapsed = (time.perf_counter() - t0) * 1000
            if r.status != 200:
                sys.exit(f"{term} as {name}: {r.status} {body[:200]!r}")
            if i >= 20:  # the first 20 warm the caches and the JIT
                times.append(elapsed)
            total = json.loads(body)["num_results"]
        c.close()
        times.sort()
        row += [f"{statistics.median(times):.1f}", f"{times[int(len(times) * 0.99) - 1]:.1f}", f"{times[-1]:.1f}", str(total)]
    print("| " + " | ".join(row) + " |", flush=True)
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
