#!/usr/bin/env bash
# Upload and download throughput of one large blob, blobs on the filesystem against blobs on S3 (radosgw on a
# memstore OSD, from tests/servers/ceph.sh): one PATCH of the whole blob, the same size in 10 MiB chunks (each
# upload its own random content, so no commit is a dedupe), and GETs of the blob through Berth (S3: streamed
# through Berth; then with redirect on, the pre-signed URL followed by curl). A quick measurement, not a test.
# Runs the published executable (scripts/publish.sh, or BERTH_CMD). Uses the S3 server in BERTH_TEST_S3_* when
# set, else starts Ceph itself and stops it at the end.
#   scripts/bench-s3.sh                 SIZE_MIB=256 (default) CHUNK_MIB=10 GETS=3
#   BERTH_PORT=15510 scripts/bench-s3.sh    (a fixed port instead of a free one)
set -euo pipefail
for arg in "$@"; do
	case "$arg" in
	-h | --help) sed -n '2,/^[^#]/{/^#/{s/^# \{0,1\}//;p}}' "$0"; exit 0 ;;
	*) echo "bench-s3.sh: unknown argument '$arg' (it takes none; see --help)" >&2; exit 2 ;;
	esac
done
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
size_mib=${SIZE_MIB:-256}
chunk_mib=${CHUNK_MIB:-10}
gets=${GETS:-3}
berth=${BERTH_CMD:-$("$root/scripts/publish.sh" | tail -n 1)}
work=$(mktemp -d /tmp/berth-bench-s3.XXXXXX)
server=
cleanup() {
	[ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
	[ -n "${started_ceph:-}" ] && bash "$root/tests/servers/ceph.sh" stop "$BERTH_CEPH_DIR"
	rm -rf "$work"
}
trap cleanup EXIT
if [ -z "${BERTH_TEST_S3_ENDPOINT:-}" ]; then
	eval "$(bash "$root/tests/servers/ceph.sh" start)"
	started_ceph=1
fi
bucket=berth-bench-$RANDOM$RANDOM
curl -fsS -X PUT -H "x-amz-content-sha256: $(printf "" | sha256sum | cut -d" " -f1)" --aws-sigv4 "aws:amz:us-east-1:s3" --user "$BERTH_TEST_S3_ACCESS_KEY:$BERTH_TEST_S3_SECRET_KEY" "$BERTH_TEST_S3_ENDPOINT/$bucket" >/dev/null

rate() { # rate BYTES NANOSECONDS -> MB/s
	python3 -c "import sys; b, ns = int(sys.argv[1]), int(sys.argv[2]); print(f'{b / (ns / 1e9) / 1e6:.0f} MB/s ({ns / 1e9:.2f} s)')" "$1" "$2"
}

start_berth() { # start_berth KIND [ENV...]: KIND names the data directory
	local kind=$1 port
	shift
	port=${BERTH_PORT:-$(python3 "$root/tests/free-port.py")}
	mkdir -p "$work/$kind"
	env "$@" "$berth" serve --listen "127.0.0.1:$port" --data "$work/$kind" >>"$work/$kind.log" 2>&1 &
	server=$!
	url=http://127.0.0.1:$port
	for _ in $(seq 100); do curl -fsS -o /dev/null "$url/v2/" 2>/dev/null && return 0; sleep 0.1; done
	echo "bench-s3.sh: Berth did not start:" >&2
	cat "$work/$kind.log" >&2
	exit 1
}

stop_berth() {
	kill "$server"
	wait "$server" 2>/dev/null || true
	server=
}

# upload FILE CHUNK_BYTES (0: one PATCH) -> prints nanoseconds from the POST to the 201
upload() {
	local file=$1 chunk=$2 size digest location t0 offset=0 n
	size=$(stat -c %s "$file")
	digest=sha256:$(sha256sum "$file" | cut -d' ' -f1)
	t0=$(date +%s%N)
	location=$(curl -fsS -o /dev/null -w '%header{location}' -X POST "$url/v2/bench/blobs/uploads/")
	if [ "$chunk" = 0 ]; then
		location=$(curl -fsS -o /dev/null -w '%header{location}' -X PATCH -H 'Content-Type: application/octet-stream' --data-binary "@$file" "$url$location")
	else
		while [ "$offset" -lt "$size" ]; do
			n=$((size - offset < chunk ? size - offset : chunk))
			location=$(tail -c +$((offset + 1)) "$file" | head -c "$n" | curl -fsS -o /dev/null -w '%header{location}' -X PATCH \
				-H 'Content-Type: application/octet-stream' -H "Content-Range: $offset-$((offset + n - 1))" --data-binary @- "$url$location")
			offset=$((offset + n))
		done
	fi
	case "$location" in *\?*) sep='&' ;; *) sep='?' ;; esac
	curl -fsS -o /dev/null -X PUT "$url$location${sep}digest=$digest"
	echo $(($(date +%s%N) - t0))
}

download() { # download DIGEST [-L] -> nanoseconds of the best of $gets GETs
	local best=0 t0 t
	for _ in $(seq "$gets"); do
		t0=$(date +%s%N)
		curl -fsS -o /dev/null "${@:2}" "$url/v2/bench/blobs/$1"
		t=$(($(date +%s%N) - t0))
		if [ "$best" = 0 ] || [ "$t" -lt "$best" ]; then best=$t; fi
	done
	echo "$best"
}

bytes=$((size_mib << 20))
for name in one chunked; do head -c "$bytes" /dev/urandom >"$work/$name-fs"; head -c "$bytes" /dev/urandom >"$work/$name-s3"; done
s3_env=(BERTH_STORAGE_TYPE=s3 BERTH_S3_ENDPOINT="$BERTH_TEST_S3_ENDPOINT" BERTH_S3_BUCKET="$bucket"
	BERTH_S3_ACCESS_KEY="$BERTH_TEST_S3_ACCESS_KEY" BERTH_S3_SECRET_KEY="$BERTH_TEST_S3_SECRET_KEY")

echo "| $size_mib MiB blob | filesystem | S3 (radosgw, memstore) |"
echo "|---|---|---|"
start_berth fs
fs_one=$(upload "$work/one-fs" 0)
fs_chunked=$(upload "$work/chunked-fs" $((chunk_mib << 20)))
fs_get=$(download "sha256:$(sha256sum "$work/one-fs" | cut -d' ' -f1)")
stop_berth
start_berth s3 "${s3_env[@]}"
s3_one=$(upload "$work/one-s3" 0)
s3_chunked=$(upload "$work/chunked-s3" $((chunk_mib << 20)))
digest=sha256:$(sha256sum "$work/one-s3" | cut -d' ' -f1)
s3_get=$(download "$digest")
stop_berth
start_berth s3 "${s3_env[@]}" BERTH_S3_REDIRECT=true
s3_redirect=$(download "$digest" -L)
stop_berth
echo "| upload, one PATCH | $(rate "$bytes" "$fs_one") | $(rate "$bytes" "$s3_one") |"
echo "| upload, $chunk_mib MiB chunks | $(rate "$bytes" "$fs_chunked") | $(rate "$bytes" "$s3_chunked") |"
echo "| GET through Berth (best of $gets) | $(rate "$bytes" "$fs_get") | $(rate "$bytes" "$s3_get") |"
echo "| GET, 307 to a pre-signed URL (best of $gets) | | $(rate "$bytes" "$s3_redirect") |"
