#!/usr/bin/env bash
# Crash safety: Berth is killed with SIGKILL again and again while images are pushed, and restarted
# on the same data directory each time. Afterwards every push the server acknowledged must pull back
# intact, and every file under data/blobs must hash to its name. Also: a chunked upload resumes
# after kill -9 from exactly the acknowledged Range.
#
#   BERTH_CMD    server command (e.g. "dotnet /path/berth.dll"); default: the Release build of this
#                repository, built when missing
#   CRASH_PORT   port on 127.0.0.1 (default: a free one, picked at random at run time)
#   CRASH_KILLS  number of kills in the push loop (default 12)
#   CRASH_SEED   random seed (default: random; printed, so a failing run can be repeated)
#   CRASH_KEEP=1 keep the temporary directory (data, journal, server logs) even on success
set -euo pipefail
for arg in "$@"; do
	case "$arg" in
	-h | --help) sed -n '2,/^[^#]/{/^#/{s/^# \{0,1\}//;p}}' "$0"; exit 0 ;;
	*) echo "kill9.sh: unknown argument '$arg' (it takes none; see --help)" >&2; exit 2 ;;
	esac
done

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
kills_wanted=${CRASH_KILLS:-12}
seed=${CRASH_SEED:-$RANDOM$RANDOM}
RANDOM=$((seed % 32768))
start_time=$SECONDS

fail() { echo "kill9: FAIL: $*" >&2; exit 1; }
command -v ss >/dev/null 2>&1 || fail "ss is missing (Debian package iproute2)"

if [ -z "${BERTH_CMD:-}" ]; then
	dll="$root/src/Berth/bin/Release/net10.0/berth.dll"
	if [ ! -f "$dll" ]; then
		echo "kill9: building $dll"
		dotnet build "$root/src/Berth" -c Release -nologo -v quiet >/dev/null || fail "build of src/Berth failed"
	fi
	BERTH_CMD="dotnet $dll"
fi
read -r -a berth <<<"$BERTH_CMD"

port=${CRASH_PORT:-$(python3 "$here/../free-port.py")}
[ -n "$port" ] || fail "no free port found"
url="http://127.0.0.1:$port"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/berth-kill9.XXXXXX")
data="$tmp/data"
journal="$tmp/journal.jsonl"
server_pid=
pusher_pid=
resume_pid=
starts=0
kills=0

cleanup() {
	local rc=$?
	for pid in $pusher_pid $resume_pid $server_pid; do kill -9 "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ "$rc" -ne 0 ] || [ "${CRASH_KEEP:-0}" = 1 ]; then
		echo "kill9: data, journal and server logs kept in $tmp (seed $seed)" >&2
		if [ "$rc" -ne 0 ] && [ -n "$(ls "$tmp"/server-*.log 2>/dev/null)" ]; then
			last=$(ls -t "$tmp"/server-*.log | head -1)
			echo "kill9: last lines of $last:" >&2
			tail -n 20 "$last" >&2 || true
		fi
	else
		rm -rf "$tmp"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Starts the server in the background (server_pid); its log goes to server-N.log.
spawn() {
	starts=$((starts + 1))
	"${berth[@]}" serve --listen "127.0.0.1:$port" --data "$data" >"$tmp/server-$starts.log" 2>&1 &
	server_pid=$!
}

# Waits until the server answers GET /v2/ with 200; fails when it exits or takes more than 30 s.
wait_ready() {
	local deadline=$((SECONDS + 30))
	while :; do
		# Our server must be the one listening: whatever else holds the port proves nothing.
		if ss -Hltnp "sport = :$port" | grep -q "pid=$server_pid," &&
			[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url/v2/" || true)" = 200 ]; then return 0; fi
		if ! kill -0 "$server_pid" 2>/dev/null; then
			grep -qi 'address already in use' "$tmp/server-$starts.log" &&
				fail "server start $starts: another process took port $port (not a crash-safety failure; run again, or set CRASH_PORT)"
			fail "server start $starts exited instead of serving (after $kills kills); its log: $(tail -n 20 "$tmp/server-$starts.log")"
		fi
		[ "$SECONDS" -lt "$deadline" ] || fail "server start $starts did not answer GET /v2/ within 30 s (after $kills kills)"
		sleep 0.1
	done
}

kill9() {
	kill -9 "$server_pid" 2>/dev/null || fail "server (pid $server_pid) had already exited before kill $((kills + 1)); log: $(tail -n 20 "$tmp/server-$starts.log")"
	wait "$server_pid" 2>/dev/null || true
	kills=$((kills + 1))
}

# A random sleep of 0.5 .. 2.0 s.
random_pause() { sleep "$(printf '%d.%03d' $((RANDOM % 2 == 0 ? 0 : 1)) $((RANDOM % 1000)))"; [ $((RANDOM % 2)) = 0 ] && sleep 0.5 || true; }

echo "kill9: seed $seed, server on $url, data in $data"
echo "kill9: server command: $BERTH_CMD"

# 1. The resume test: an acknowledged chunk survives kill -9; a half-sent chunk does not count.
spawn
wait_ready
python3 "$here/pusher.py" resume --url "$url" --dir "$tmp" --seed "$seed" &
resume_pid=$!
deadline=$((SECONDS + 60))
until [ -f "$tmp/ready" ]; do
	kill -0 "$resume_pid" 2>/dev/null || { wait "$resume_pid" || true; fail "resume client exited before the kill"; }
	[ "$SECONDS" -lt "$deadline" ] || fail "resume client did not get ready within 60 s"
	sleep 0.05
done
kill9
spawn
wait_ready
touch "$tmp/restarted"
wait "$resume_pid" || fail "chunked upload did not resume correctly after kill -9 (above)"
resume_pid=

# 2. The push loop, with kills at random moments.
python3 "$here/pusher.py" push --url "$url" --journal "$journal" --stop "$tmp/stop" --workers 2 --seed "$seed" &
pusher_pid=$!
loop_start=$SECONDS
while [ "$kills" -le "$kills_wanted" ]; do
	random_pause
	kill -0 "$pusher_pid" 2>/dev/null || break
	kill9
	spawn
	# Now and then the next kill lands while the server is still starting up.
	if [ $((RANDOM % 5)) = 0 ] && [ "$kills" -le "$kills_wanted" ]; then
		sleep "0.$((RANDOM % 4))"
		kill9
		spawn
	fi
	wait_ready
done
# Let the pushers finish what they have in flight against a server that stays up.
sleep 2
touch "$tmp/stop"
pusher_rc=0
wait "$pusher_pid" || pusher_rc=$?
pusher_pid=
loop_time=$((SECONDS - loop_start))
[ "$pusher_rc" = 0 ] || fail "the pushing client saw unexpected answers from the server (above)"
acknowledged=$(grep -c . "$journal" || true)

# 3. A last kill -9 and restart, then everything acknowledged must be there.
kill9
spawn
wait_ready
python3 "$here/pusher.py" verify --url "$url" --journal "$journal" --data "$data" || fail "verification after $kills kills failed (above)"
kill -9 "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=

echo "kill9: ok: $acknowledged pushes acknowledged and verified, $kills kills (loop ${loop_time}s), total $((SECONDS - start_time))s"
