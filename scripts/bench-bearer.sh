#!/usr/bin/env bash
# Manifest GET by tag with authentication on: a bearer token (what docker, podman and containerd send) against an
# anonymous pull of a public repository, same repository and manifest, wrk runs interleaved, for each executable given.
#   scripts/bench-bearer.sh OLD_BINARY NEW_BINARY ...   (env: ROUNDS=3 SECONDS_EACH=8 CONNECTIONS=64 PORT=19100)
# Prints one line per run: binary, kind, requests/s, p99.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rounds="${ROUNDS:-3}" seconds="${SECONDS_EACH:-8}" conns="${CONNECTIONS:-64}" port="${PORT:-19100}"
work="$(mktemp -d -t berth-bearer-XXXXXX)"
pid=""
stop() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=""; fi; }
trap 'stop; rm -rf "$work"' EXIT
python3 "$root/scripts/gen-store.py" "$work/seed" --repositories 10 2>/dev/null
url="http://127.0.0.1:$port"
repo="gen/r0000001"
accept="Accept: application/vnd.oci.image.manifest.v1+json"

start() {
	rm -rf "$work/data" && cp -a "$work/seed" "$work/data"
	BERTH_ADMIN_PASSWORD=bench-password "$1" serve --listen "127.0.0.1:$port" --data "$work/data" >"$work/server.log" 2>&1 &
	pid=$!
	for _ in $(seq 1 100); do curl -s -o /dev/null "$url/v2/" && break; sleep 0.1; done
	curl -sf -u admin:bench-password -X PUT -H 'Content-Type: application/json' -d '{"visibility":"public"}' "$url/api/v1/repositories/$repo"
	token="$(curl -sf -u admin:bench-password "$url/token?service=berth&scope=repository:$repo:pull" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
	[ "$(curl -s -o /dev/null -w '%{http_code}' -H "$accept" "$url/v2/$repo/manifests/latest")" = 200 ]
	[ "$(curl -s -o /dev/null -w '%{http_code}' -H "$accept" -H "Authorization: Bearer $token" "$url/v2/$repo/manifests/latest")" = 200 ]
	wrk -t2 -c"$conns" -d2s -H "$accept" -H "Authorization: Bearer $token" "$url/v2/$repo/manifests/latest" >/dev/null
	wrk -t2 -c"$conns" -d2s -H "$accept" "$url/v2/$repo/manifests/latest" >/dev/null
}

measure() {
	local name="$1" kind="$2"; shift 2
	local out
	out="$(wrk -t2 -c"$conns" -d"${seconds}s" --latency -H "$accept" "$@" "$url/v2/$repo/manifests/latest")"
	if grep -q "Non-2xx" <<<"$out"; then echo "non-2xx answers in $name $kind" >&2; exit 1; fi
	printf '%s\t%s\t%s\t%s\n' "$name" "$kind" "$(awk '/Requests\/sec/ { printf "%d", $2 }' <<<"$out")" "$(awk '$1 == "99%" { print $2 }' <<<"$out")"
}

for r in $(seq 1 "$rounds"); do
	for bin in "$@"; do
		start "$bin"
		name="$(basename "$bin")"
		if [ $((r % 2)) -eq 1 ]; then
			measure "$name" bearer -H "Authorization: Bearer $token"
			measure "$name" anonymous
		else
			measure "$name" anonymous
			measure "$name" bearer -H "Authorization: Bearer $token"
		fi
		stop
	done
done
