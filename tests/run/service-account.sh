#!/usr/bin/env bash
# The published binary run as a service account: user nobody, no HOME, an empty environment (what a systemd unit with
# DynamicUser= or User=nobody gets). It must start without extracting anything, serve GET /v2/, and keep its data
# private: another user can neither list the data directory nor read berth.db or a blob.
# Usage: tests/run/service-account.sh (as root); BERTH_CMD names the published berth, else scripts/publish.sh runs.
set -euo pipefail
for arg in "$@"; do
	case "$arg" in
	-h | --help) sed -n '2,/^[^#]/{/^#/{s/^# \{0,1\}//;p}}' "$0"; exit 0 ;;
	*) echo "service-account.sh: unknown argument '$arg' (it takes none; see --help)" >&2; exit 2 ;;
	esac
done
script_name=service-account
root_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

say() { echo "$script_name: $*"; }
fail() {
	echo "$script_name: FAIL: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || fail "must run as root (it runs Berth as user nobody)"
for tool in setpriv curl python3 sha256sum stat; do
	command -v "$tool" >/dev/null 2>&1 || fail "$tool is missing (setpriv: util-linux, curl, python3, coreutils)"
done
id nobody >/dev/null 2>&1 || fail "there is no user nobody"
nogroup=$(id -gn nobody)

berth=${BERTH_CMD:-}
if [ -z "$berth" ]; then
	say "BERTH_CMD is not set: publishing"
	berth=$("$root_dir/scripts/publish.sh" | tail -n 1)
fi
[ -x "$berth" ] || fail "$berth is not an executable"
[ -f "$(dirname "$berth")/libe_sqlite3.so" ] || fail "libe_sqlite3.so is not beside $berth (scripts/publish.sh puts it there)"

work=$(mktemp -d /tmp/berth-service-account.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
	local rc=$? pid
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
	if [ "$rc" -ne 0 ]; then
		echo "$script_name: work directory kept: $work" >&2
		for log in "$work"/*.log; do [ -f "$log" ] && { echo "--- $log:" >&2; tail -n 20 "$log" >&2; }; done
	else
		rm -rf "$work"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The deliverable as an operator installs it: the executable and the SQLite engine beside it, owned by root.
mkdir -m 755 "$work/bin"
install -m 755 "$berth" "$work/bin/berth"
install -m 644 "$(dirname "$berth")/libe_sqlite3.so" "$work/bin/libe_sqlite3.so"
say "binary: $(stat -c %s "$work/bin/berth") bytes, libe_sqlite3.so: $(stat -c %s "$work/bin/libe_sqlite3.so") bytes"

# setpriv and env exec what they run, so a background start's $! is the server itself (a shell function in the
# background would be a subshell, and killing it would leave the server running).
nobody_cmd=(setpriv --reuid=nobody --regid="$nogroup" --clear-groups env -i)
as_nobody() { "${nobody_cmd[@]}" "$@"; }
free_port() { python3 "$root_dir/tests/free-port.py"; }

# start NAME PORT COMMAND...: starts a server in the background, waits for GET /v2/ to answer 200.
start() {
	local name=$1 port=$2
	shift 2
	"$@" >"$work/$name.log" 2>&1 &
	pids+=($!)
	local pid=$! deadline=$((SECONDS + 60))
	until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/" || true)" = 200 ]; do
		kill -0 "$pid" 2>/dev/null || fail "$name exited at start: $(tr '\n' ' ' <"$work/$name.log")"
		[ "$SECONDS" -lt "$deadline" ] || fail "$name did not answer GET /v2/ within 60 s"
		sleep 0.1
	done
}

# push_blob PORT: a monolithic blob upload; prints the blob's hex digest.
push_blob() {
	local port=$1 file="$work/blob.bin" digest code
	head -c 4096 /dev/urandom >"$file"
	digest=$(sha256sum "$file" | cut -d' ' -f1)
	code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/octet-stream' --data-binary "@$file" \
		"http://127.0.0.1:$port/v2/team/app/blobs/uploads/?digest=sha256:$digest")
	[ "$code" = 201 ] || fail "blob upload answered $code"
	echo "$digest"
}

expect_mode() { # expect_mode PATH MODE
	local mode
	mode=$(stat -c %a "$1")
	[ "$mode" = "$2" ] || fail "$1 has mode $mode, expected $2"
}

# 1. As nobody, HOME unset, data in a directory nobody owns.
mkdir -m 755 "$work/service"
chown nobody:"$nogroup" "$work/service"
port=$(free_port)
start nobody "$port" "${nobody_cmd[@]}" "$work/bin/berth" serve --listen "127.0.0.1:$port" --data "$work/service/data"
say "ok: started as nobody with no HOME and an empty environment, GET /v2/ answers 200"
grep -q DOTNET_BUNDLE_EXTRACT "$work/nobody.log" && fail "the binary asked for an extraction directory"
digest=$(push_blob "$port")
data="$work/service/data"
expect_mode "$data" 700
for f in berth.db berth.db-wal berth.db-shm token-key.pem "blobs/sha256/${digest:0:2}/$digest"; do
	[ -e "$data/$f" ] || fail "$data/$f does not exist"
	expect_mode "$data/$f" 600
done
expect_mode "$data/blobs" 700
expect_mode "$data/blobs/sha256/${digest:0:2}" 700
expect_mode "$data/uploads" 700
say "ok: the data directory is 0700 and berth.db, its -wal and -shm, the token key and blobs are 0600"

# 2. Data written by root's server, in a directory that was open to everyone: nobody can read any of it.
mkdir -m 755 "$work/private"
port=$(free_port)
start root "$port" env -i "$work/bin/berth" serve --listen "127.0.0.1:$port" --data "$work/private"
digest=$(push_blob "$port")
expect_mode "$work/private" 700
grep -q "was open to other users (0755); made it 0700" "$work/root.log" || fail "the start-up log does not say the data directory was made private"
as_nobody ls "$work/private" >/dev/null 2>&1 && fail "nobody can list root's data directory"
as_nobody cat "$work/private/berth.db" >/dev/null 2>&1 && fail "nobody can read root's berth.db"
as_nobody cat "$work/private/blobs/sha256/${digest:0:2}/$digest" >/dev/null 2>&1 && fail "nobody can read root's blobs"
say "ok: nobody can neither list root's data directory nor read berth.db or a blob"

# 3. What nobody is told when it points a verb or the server at that directory: the path and the cause, one line.
set +e
message=$(as_nobody "$work/bin/berth" user list --data "$work/private" 2>&1)
code=$?
set -e
[ "$code" = 1 ] || fail "berth user list on an unreadable data directory exited $code: $message"
[ "$message" = "berth user list: cannot open $work/private: permission denied" ] || fail "berth user list said: $message"
set +e
message=$(as_nobody "$work/bin/berth" serve --listen "127.0.0.1:$(free_port)" --data "$work/private" 2>&1)
code=$?
set -e
[ "$code" = 1 ] || fail "berth serve on an unreadable data directory exited $code: $message"
[ "$message" = "berth serve: cannot create $work/private/berth.db: permission denied" ] || fail "berth serve said: $message"
say "ok: a data directory nobody may not open is named with the cause, exit 1"

say "all passed"
