#!/usr/bin/env bash
# Garbage collection at scale: a store of BLOBS blob files (scripts/gen-gc-store.py; 10% garbage) on SQLite, a server
# on it, and a loop of small pushes (a unique config blob and a manifest over one shared layer) timed for
# PUSH_SECONDS before, then during `berth gc --grace 1h --delete-untagged` (the garbage is two days old; the pushes' own fresh
# uploads are spared, as in production) on the same data directory. Prints the
# report, the collection's duration and the push latencies (p50, p95, p99, max, count) before and during, with load.
#   scripts/bench-storage-gc.sh [-h|--help]   (env: BERTH="dotnet src/Berth/bin/Release/net10.0/berth.dll",
#                                               BLOBS=1000000, PUSH_SECONDS=20, KEEP=1 keeps the temporary directory)
set -euo pipefail
if [ $# -gt 0 ]; then
	case "$1" in
	-h | --help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench-storage-gc.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
fi
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
read -r -a berth <<<"${BERTH:-dotnet $root/src/Berth/bin/Release/net10.0/berth.dll}"
blobs="${BLOBS:-1000000}" seconds="${PUSH_SECONDS:-20}"
work="$(mktemp -d /tmp/berth-bench-gc.XXXXXX)"
pid=""
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	if [ -z "${KEEP:-}" ]; then rm -rf "$work"; else echo "kept $work" >&2; fi
}
trap cleanup EXIT
echo "== generating $blobs blobs ($(uptime | sed 's/.*load/load/'))" >&2
python3 "$root/scripts/gen-gc-store.py" "$work/data" --blobs "$blobs"
port="$(python3 "$root/tests/free-port.py")"
BERTH_GC_SCHEDULE=off "${berth[@]}" serve --listen "127.0.0.1:$port" --data "$work/data" >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.2; done

# pusher.py SECONDS_OR_PIDFILE OUT: pushes until the time is up (a number) or the file is gone; one latency per line (ms).
cat >"$work/pusher.py" <<'PY'
import hashlib, http.client, json, os, sys, time, uuid
port, until, out = int(sys.argv[1]), sys.argv[2], open(sys.argv[3], "w")
layer = b"bench-storage-gc shared layer\n" * 100
ld = "sha256:" + hashlib.sha256(layer).hexdigest()
c = http.client.HTTPConnection("127.0.0.1", port)
def post(path, body, ctype):
    c.request("POST" if "uploads" in path else "PUT", path, body, {"Content-Type": ctype})
    r = c.getresponse(); r.read()
    if r.status != 201: sys.exit(f"{path}: {r.status}")
post(f"/v2/bench/push/blobs/uploads/?digest={ld}", layer, "application/octet-stream")
end = time.time() + float(until) if until.replace(".", "").isdigit() else None
while (time.time() < end) if end else os.path.exists(until):
    config = json.dumps({"architecture": "amd64", "os": "linux", "id": str(uuid.uuid4())}).encode()
    cd = "sha256:" + hashlib.sha256(config).hexdigest()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": ld, "size": len(layer)}]}).encode()
    t = time.perf_counter()
    post(f"/v2/bench/push/blobs/uploads/?digest={cd}", config, "application/octet-stream")
    post(f"/v2/bench/push/manifests/{uuid.uuid4().hex[:12]}", manifest, "application/vnd.oci.image.manifest.v1+json")
    out.write(f"{(time.perf_counter() - t) * 1000:.2f}\n")
PY
stats() {
	sort -n "$1" | awk '{ v[NR] = $1 } END { printf "p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms, %d pushes", v[int(NR*0.5)+1], v[int(NR*0.95)+1], v[int(NR*0.99)+1], v[NR], NR }'
}
echo "== pushes before ($(uptime | sed 's/.*load/load/'))" >&2
python3 "$work/pusher.py" "$port" "$seconds" "$work/before.txt"
touch "$work/running"
python3 "$work/pusher.py" "$port" "$work/running" "$work/during.txt" &
pusher=$!
load_start="$(uptime | sed 's/.*load average: //')"
start=$(date +%s.%N)
/usr/bin/time -f '%U %S' -o "$work/cpu.txt" "${berth[@]}" gc --data "$work/data" --grace 1h --delete-untagged >"$work/report.json"
end=$(date +%s.%N)
load_end="$(uptime | sed 's/.*load average: //')"
rm "$work/running"
wait "$pusher"
files_left=$(find "$work/data/blobs" -type f | wc -l)
python3 -c "import json,sys; r=json.load(open(sys.argv[1])); [r.pop(k) for k in ('blobs','manifests')]; print(json.dumps(r))" "$work/report.json"
read -r cpu_user cpu_sys <"$work/cpu.txt"
printf 'blobs %s, gc wall %.1f s, CPU %s s user + %s s system (files left %s), load at start %s, at end %s\n' "$blobs" "$(echo "$end - $start" | bc)" \
	"$cpu_user" "$cpu_sys" "$files_left" "$load_start" "$load_end"
printf 'pushes before: %s\n' "$(stats "$work/before.txt")"
printf 'pushes during: %s\n' "$(stats "$work/during.txt")"
