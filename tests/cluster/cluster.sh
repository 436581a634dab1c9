#!/usr/bin/env bash
# Scale-out end to end: three Berth nodes on one PostgreSQL (metadata) and one Ceph RADOS Gateway (blobs, S3),
# behind nginx (round robin, request buffering off), every server started here on 127.0.0.1 and thrown away after.
#   1. the nodes start at once on the empty database (the migrations take an advisory lock);
#   2. cross-node checks straight at the nodes (probe.py): a tag moved through one node is served new by the
#      others within a second; a chunked upload whose requests alternate between nodes completes; two nodes
#      appending the same range of one upload at once are serialised (one taken, one refused);
#   3. the crash loop through nginx: pushes go on while a random node is killed with SIGKILL and restarted, again
#      and again; clients retry what a dead node dropped; afterwards every acknowledged push pulls back intact;
#   4. the real-client scripts (skopeo, buildah, podman, docker manifest, ctr) through nginx, open;
#   5. a user is added through the CLI on the shared database: authentication turns on for every node; the
#      real-client scripts run again in auth mode through nginx (a token one node issues, the others accept).
#   usage: BERTH_CMD=artifacts/berth bash tests/cluster/cluster.sh   (test.sh runs it)
#   CLUSTER_KILLS (default 6) kills in the crash loop; CLUSTER_KEEP=1 keeps the temporary directory.
set -euo pipefail
for arg in "$@"; do
	case "$arg" in
	-h | --help) sed -n '2,/^[^#]/{/^#/{s/^# \{0,1\}//;p}}' "$0"; exit 0 ;;
	*) echo "cluster.sh: unknown argument '$arg' (it takes none; see --help)" >&2; exit 2 ;;
	esac
done
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
start_time=$SECONDS
say() { echo "cluster: $*"; }
fail() { echo "cluster: FAIL: $*" >&2; exit 1; }
kills_wanted=${CLUSTER_KILLS:-6}
pusher_pid=
cluster_cleanup_hook='[ -n "$pusher_pid" ] && kill -9 "$pusher_pid" 2>/dev/null'
# shellcheck source=lib.sh
source "$here/lib.sh"

# 1. Three nodes at once on the empty database, nginx in front.
cluster_up 3
say "three nodes up at once on an empty database ($nodes)"
say "nginx on $lb in front of the three nodes"

# 2. Straight at the nodes.
python3 "$here/probe.py" tag-move --nodes "$nodes" || fail "tag move across nodes (above)"
python3 "$here/probe.py" chunked --nodes "$nodes" || fail "chunked upload across nodes (above)"

# 3. The crash loop through nginx.
journal="$tmp/journal.jsonl"
python3 "$root/tests/crash/pusher.py" push --balancer --url "http://$lb" --journal "$journal" --stop "$tmp/stop" --workers 3 &
pusher_pid=$!
kills=0
while [ "$kills" -lt "$kills_wanted" ]; do
	sleep "$((RANDOM % 2)).$((RANDOM % 10))"
	kill -0 "$pusher_pid" 2>/dev/null || break
	victim=$((RANDOM % 3))
	kill_node "$victim"
	kills=$((kills + 1))
	sleep "0.$((RANDOM % 10))"
	start_node "$victim"
	wait_node "$victim"
done
sleep 2
touch "$tmp/stop"
pusher_rc=0
wait "$pusher_pid" || pusher_rc=$?
pusher_pid=
[ "$pusher_rc" = 0 ] || fail "pushes through nginx saw unexpected answers while nodes were killed (above)"
python3 "$root/tests/crash/pusher.py" verify --balancer --url "http://$lb" --journal "$journal" ||
	fail "verification through nginx after $kills node kills failed (above)"
say "crash loop: $(grep -c . "$journal") pushes acknowledged through nginx and verified, $kills nodes killed with SIGKILL and restarted"

# 4. and 5. The real clients through nginx, open, then with authentication on.
clients=(skopeo buildah podman docker-manifest ctr)
for script in "${clients[@]}"; do
	env -u BERTH_CLIENT_AUTH -u BERTH_ADMIN_PASSWORD BERTH_CLIENT_REGISTRY="$lb" bash "$root/tests/clients/$script.sh" ||
		fail "$script through nginx (above)"
done
admin_password="cluster-$RANDOM$RANDOM"
echo "$admin_password" | berth_verb user add admin --admin --password-stdin >/dev/null || fail "berth user add admin on the shared database"
deadline=$((SECONDS + 2))
for port in "${node_ports[@]}"; do
	until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/" || true)" = 401 ]; do
		[ "$SECONDS" -lt "$deadline" ] || fail "node on $port still open 2 s after the first user was added through the CLI"
		sleep 0.05
	done
done
say "a user added through the CLI turned authentication on for every node"
for script in "${clients[@]}"; do
	BERTH_CLIENT_AUTH=1 BERTH_ADMIN_PASSWORD="$admin_password" BERTH_CLIENT_REGISTRY="$lb" bash "$root/tests/clients/$script.sh" ||
		fail "$script (auth mode) through nginx (above)"
done
say "ok: all passed in $((SECONDS - start_time)) s"
