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
[ -n "${BERTH_CMD:-}" ] || fail "set BERTH_CMD to the Berth executable (test.sh: the published artifacts/berth)"
command -v nginx >/dev/null 2>&1 || fail "nginx is missing (test.sh installs nginx-light)"
read -r -a berth <<<"$BERTH_CMD"
kills_wanted=${CLUSTER_KILLS:-6}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/berth-cluster.XXXXXX")
chmod 755 "$tmp"
node_pids=(0 0 0)
node_ports=()
nginx_pid=
pusher_pid=
own_postgres=
own_ceph=
servers_stop() {
	[ -n "$own_postgres" ] && bash "$root/tests/servers/postgres.sh" stop "$own_postgres" >/dev/null 2>&1
	[ -n "$own_ceph" ] && bash "$root/tests/servers/ceph.sh" stop "$own_ceph" >/dev/null 2>&1
	return 0
}
cleanup() {
	local rc=$?
	[ -n "$pusher_pid" ] && kill -9 "$pusher_pid" 2>/dev/null
	for pid in "${node_pids[@]}"; do [ "$pid" != 0 ] && kill -9 "$pid" 2>/dev/null; done
	[ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null
	wait 2>/dev/null || true
	servers_stop
	if [ "$rc" -ne 0 ] || [ "${CLUSTER_KEEP:-0}" = 1 ]; then
		echo "cluster: logs and data kept in $tmp" >&2
		for log in "$tmp"/node-*.log; do [ -f "$log" ] && { echo "--- last lines of $log" >&2; tail -n 15 "$log" >&2; }; done
	else
		rm -rf "$tmp"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# PostgreSQL and Ceph: those test.sh started (BERTH_TEST_POSTGRES, BERTH_TEST_S3_*), else our own.
if [ -z "${BERTH_TEST_POSTGRES:-}" ]; then
	eval "$(bash "$root/tests/servers/postgres.sh" start)" || fail "PostgreSQL did not start"
	own_postgres=$BERTH_TEST_POSTGRES_DIR
fi
if [ -z "${BERTH_TEST_S3_ENDPOINT:-}" ]; then
	eval "$(bash "$root/tests/servers/ceph.sh" start)" || fail "Ceph did not start"
	own_ceph=$BERTH_CEPH_DIR
fi
# A database and a bucket of our own on those servers.
[[ "$BERTH_TEST_POSTGRES" =~ Port=([0-9]+) ]] || fail "no Port in BERTH_TEST_POSTGRES"
pg_port=${BASH_REMATCH[1]}
database="cluster_$$_$RANDOM"
psql -h 127.0.0.1 -p "$pg_port" -U berth -d berth -qc "CREATE DATABASE $database" >/dev/null || fail "CREATE DATABASE $database"
connection="${BERTH_TEST_POSTGRES/Database=berth/Database=$database}"
[[ "$connection" == *"Database=$database"* ]] || connection="$BERTH_TEST_POSTGRES;Database=$database"
bucket="cluster-$$-$RANDOM"
code=$(curl -s -o "$tmp/bucket.out" -w "%{http_code}" -X PUT --aws-sigv4 "aws:amz:us-east-1:s3" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
	--user "$BERTH_TEST_S3_ACCESS_KEY:$BERTH_TEST_S3_SECRET_KEY" "$BERTH_TEST_S3_ENDPOINT/$bucket") || true
[ "$code" = 200 ] || fail "creating bucket $bucket answered $code: $(cat "$tmp/bucket.out")"

free_port() { python3 "$root/tests/free-port.py"; }
cat >"$tmp/berth.yml" <<YAML
metadata:
  type: postgres
  postgres:
    connectionString: "$connection"
storage:
  type: s3
  s3:
    endpoint: $BERTH_TEST_S3_ENDPOINT
    bucket: $bucket
    region: us-east-1
    forcePathStyle: true
YAML
export BERTH_S3_ACCESS_KEY=$BERTH_TEST_S3_ACCESS_KEY BERTH_S3_SECRET_KEY=$BERTH_TEST_S3_SECRET_KEY
berth_verb() { "${berth[@]}" "$@" --config "$tmp/berth.yml" --data "$tmp/cli-data"; }

starts=0
# start_node I: node I (0..2) on its port, in the background; its log is node-I-START.log.
start_node() {
	local i=$1
	starts=$((starts + 1))
	"${berth[@]}" serve --config "$tmp/berth.yml" --listen "127.0.0.1:${node_ports[$i]}" --data "$tmp/node-$i" \
		>"$tmp/node-$i-$starts.log" 2>&1 &
	node_pids[i]=$!
}
# wait_node I: until node I itself listens and answers GET /v2/ (200 or 401).
wait_node() {
	local i=$1 deadline=$((SECONDS + 60)) port=${node_ports[$1]}
	until ss -Hltnp "sport = :$port" | grep -q "pid=${node_pids[$i]}," &&
		[[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/v2/" || true)" =~ ^(200|401)$ ]]; do
		kill -0 "${node_pids[$i]}" 2>/dev/null || fail "node $i exited at start: $(tail -n 20 "$tmp"/node-"$i"-*.log | tail -n 20)"
		[ "$SECONDS" -lt "$deadline" ] || fail "node $i did not answer within 60 s"
		sleep 0.1
	done
}
kill_node() {
	kill -9 "${node_pids[$1]}" 2>/dev/null || fail "node $1 (pid ${node_pids[$1]}) had exited before it was killed"
	wait "${node_pids[$1]}" 2>/dev/null || true
	node_pids[$1]=0
}

# 1. Three nodes at once on the empty database.
for i in 0 1 2; do node_ports+=("$(free_port)"); done
for i in 0 1 2; do start_node "$i"; done
for i in 0 1 2; do wait_node "$i"; done
nodes="http://127.0.0.1:${node_ports[0]},http://127.0.0.1:${node_ports[1]},http://127.0.0.1:${node_ports[2]}"
say "three nodes up at once on an empty database ($nodes)"

lb_port=$(free_port)
mkdir -p "$tmp/nginx"
cat >"$tmp/nginx/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
user root;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $tmp/nginx/body;
	proxy_temp_path $tmp/nginx/proxy;
	fastcgi_temp_path $tmp/nginx/fastcgi;
	uwsgi_temp_path $tmp/nginx/uwsgi;
	scgi_temp_path $tmp/nginx/scgi;
	upstream berth {
		server 127.0.0.1:${node_ports[0]} max_fails=1 fail_timeout=2s;
		server 127.0.0.1:${node_ports[1]} max_fails=1 fail_timeout=2s;
		server 127.0.0.1:${node_ports[2]} max_fails=1 fail_timeout=2s;
		keepalive 16;
	}
	server {
		listen 127.0.0.1:$lb_port;
		client_max_body_size 0;
		proxy_request_buffering off;
		proxy_buffering off;
		proxy_http_version 1.1;
		proxy_set_header Connection "";
		proxy_set_header Host \$http_host;
		proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
		proxy_read_timeout 120s;
		location / { proxy_pass http://berth; }
	}
}
NGINX
nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" &
nginx_pid=$!
lb="127.0.0.1:$lb_port"
deadline=$((SECONDS + 20))
until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$lb/v2/" || true)" = 200 ]; do
	kill -0 "$nginx_pid" 2>/dev/null || fail "nginx exited: $(cat "$tmp/nginx/error.log")"
	[ "$SECONDS" -lt "$deadline" ] || fail "nginx did not answer within 20 s"
	sleep 0.1
done
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
