#!/usr/bin/env bash
# Sourced by tests/cluster/cluster.sh and scripts/bench-cluster.sh (not run by itself): a cluster of Berth nodes on
# PostgreSQL and Ceph behind nginx, on 127.0.0.1, thrown away at exit. The caller defines say and fail, sets root (the
# repository) and BERTH_CMD, then calls cluster_up N; afterwards: $tmp, $nodes (their URLs, comma-separated),
# $lb (HOST:PORT of nginx), start_node/wait_node/kill_node I, berth_verb (a CLI verb on the shared database).
# PostgreSQL and Ceph are those the environment names (BERTH_TEST_POSTGRES, BERTH_TEST_S3_*; test.sh starts both),
# else started here; the cluster gets a database and a bucket of its own on them. CLUSTER_KEEP=1 keeps $tmp.
command -v nginx >/dev/null 2>&1 || fail "nginx is missing (test.sh installs nginx-light)"
[ -n "${BERTH_CMD:-}" ] || fail "set BERTH_CMD to the Berth executable (test.sh: the published artifacts/berth)"
read -r -a berth <<<"$BERTH_CMD"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/berth-cluster.XXXXXX")
chmod 755 "$tmp"
node_pids=()
node_ports=()
nginx_pid=
own_postgres=
own_ceph=
servers_stop() {
	[ -n "$own_postgres" ] && bash "$root/tests/servers/postgres.sh" stop "$own_postgres" >/dev/null 2>&1
	[ -n "$own_ceph" ] && bash "$root/tests/servers/ceph.sh" stop "$own_ceph" >/dev/null 2>&1
	return 0
}
cleanup() {
	local rc=$?
	for pid in "${node_pids[@]}"; do [ "$pid" != 0 ] && kill -9 "$pid" 2>/dev/null; done
	[ -n "${cluster_cleanup_hook:-}" ] && { eval "$cluster_cleanup_hook" || true; }
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

free_port() { python3 "$root/tests/free-port.py"; }
berth_verb() { "${berth[@]}" "$@" --config "$tmp/berth.yml" --data "$tmp/cli-data"; }

starts=0
# start_node I: node I (0-based) on its port, in the background; its log is node-I-START.log.
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


# cluster_up N: the servers, N nodes started at once on the empty database, nginx in front of them.
cluster_up() {
	local n=$1 i deadline
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

	cat >"$tmp/berth.yml" <<-YAML
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
	for ((i = 0; i < n; i++)); do node_ports+=("$(free_port)"); node_pids+=(0); done
	for ((i = 0; i < n; i++)); do start_node "$i"; done
	for ((i = 0; i < n; i++)); do wait_node "$i"; done
	nodes=$(for port in "${node_ports[@]}"; do printf 'http://127.0.0.1:%s,' "$port"; done)
	nodes=${nodes%,}
	lb_port=$(free_port)
	mkdir -p "$tmp/nginx"
	cat >"$tmp/nginx/nginx.conf" <<-NGINX
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
	$(for port in "${node_ports[@]}"; do echo "		server 127.0.0.1:$port max_fails=1 fail_timeout=2s;"; done)
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
}
