#!/usr/bin/env bash
# A throwaway single-node Ceph with radosgw (S3) on 127.0.0.1, for the S3 storage tests.
# One monitor, one OSD on memstore (RAM only, pool size 1), no cephx, messenger v1 only, radosgw (beast) on a
# free port, and one S3 user. Installs radosgw, ceph-mon, ceph-osd and ceph-common from apt when missing (root).
#   start: prints `export` lines to run with eval, or exports them itself when this file is sourced:
#            BERTH_TEST_S3_ENDPOINT, BERTH_TEST_S3_ACCESS_KEY, BERTH_TEST_S3_SECRET_KEY, BERTH_CEPH_DIR
#          eval "$(bash tests/servers/ceph.sh start)"      or      source tests/servers/ceph.sh start
#   stop [DIR]: kills the daemons started for DIR (default $BERTH_CEPH_DIR) and removes DIR.
# Ports: BERTH_CEPH_MON_PORT and BERTH_CEPH_RGW_PORT, else free ones from tests/free-port.py.
# The OSD keeps everything in RAM: BERTH_CEPH_MEMSTORE_GIB (default 8) bounds it. A full OSD blocks writes (clients
# wait, they are not refused): the bench harness's 1 GiB uploads need more, or a fresh cluster per run.
# Logs are in DIR/log while it runs; a start that fails prints their tails and cleans up.

ceph_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

ceph_log() { printf 'ceph.sh: %s\n' "$*" >&2; }

ceph_install() {
	local missing=()
	command -v ceph-mon >/dev/null 2>&1 || missing+=(ceph-mon)
	command -v ceph-osd >/dev/null 2>&1 || missing+=(ceph-osd)
	command -v radosgw >/dev/null 2>&1 || missing+=(radosgw)
	command -v ceph >/dev/null 2>&1 || missing+=(ceph-common)
	[ "${#missing[@]}" -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		ceph_log "missing ${missing[*]} and installing them needs root"
		return 1
	fi
	ceph_log "installing ${missing[*]}"
	apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null || return 1
	# The packages enable systemd units; nothing here uses them, and on a machine with systemd they would not start
	# without a configuration in /etc/ceph anyway.
}

# ceph_wait SECONDS DESCRIPTION COMMAND...: retries COMMAND every 0.2 s until it succeeds.
ceph_wait() {
	local deadline=$((SECONDS + $1)) what=$2
	shift 2
	until "$@" >/dev/null 2>&1; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			ceph_log "timed out waiting for $what"
			return 1
		fi
		sleep 0.2
	done
}

ceph_fail() { # prints the logs' tails, stops what started
	local dir=$1
	for f in "$dir"/log/*.log; do
		[ -s "$f" ] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }
	done
	ceph_stop "$dir"
	return 1
}

# Starts a cluster, up to three times: a cluster started beside another one on this machine has been seen to reach the
# other's monitor ("wrong fsid") and never bring its OSD up; a fresh start with new ports gets past it.
ceph_start() {
	local attempt
	for attempt in 1 2 3; do
		ceph_start_once && return 0
		[ "$attempt" -lt 3 ] && ceph_log "start $attempt failed; starting again on other ports"
	done
	return 1
}

ceph_start_once() {
	ceph_install || return 1
	local dir mon_port rgw_port fsid access secret started=$SECONDS
	dir=$(mktemp -d /tmp/berth-ceph.XXXXXX) || return 1
	mkdir -p "$dir"/{run,log,mon/ceph-a,osd/ceph-0,rgw}
	mon_port=${BERTH_CEPH_MON_PORT:-$(python3 "$ceph_here/../free-port.py")}
	rgw_port=${BERTH_CEPH_RGW_PORT:-$(python3 "$ceph_here/../free-port.py")}
	if ss -Htln "( sport = :$mon_port or sport = :$rgw_port )" | grep -q .; then
		ceph_log "port $mon_port or $rgw_port is taken"
		rm -rf "$dir"
		return 1
	fi
	fsid=$(cat /proc/sys/kernel/random/uuid)
	cat >"$dir/ceph.conf" <<EOF
[global]
fsid = $fsid
mon_host = v1:127.0.0.1:$mon_port
mon_initial_members = a
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_msgr2 = false
ms_bind_ipv6 = false
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
run_dir = $dir/run
admin_socket = $dir/run/\$name.asok
pid_file = $dir/run/\$name.pid
log_file = $dir/log/\$name.log
log_to_stderr = false
err_to_stderr = false
mon_cluster_log_file = $dir/log/cluster.log
crash_dir = $dir/crash
mon_data = $dir/mon/ceph-\$id
osd_data = $dir/osd/ceph-\$id
osd_objectstore = memstore
memstore_device_bytes = $((${BERTH_CEPH_MEMSTORE_GIB:-8} << 30))
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_allow_pool_delete = true
mon_warn_on_pool_no_redundancy = false
mon_data_avail_warn = 1
mon_warn_on_insecure_global_id_reclaim_allowed = false
mon_max_pg_per_osd = 1000
osd_memory_target = 939524096
mgr_initial_modules =
[client.rgw.a]
rgw_frontends = beast endpoint=127.0.0.1:$rgw_port tcp_nodelay=1
rgw_data = $dir/rgw
rgw_dns_name = 127.0.0.1
EOF
	local conf=(-c "$dir/ceph.conf")
	# Commands and daemons below run as root (no --setuser); that is fine for a throwaway cluster.
	monmaptool --create --addv a "[v1:127.0.0.1:$mon_port]" --fsid "$fsid" "$dir/monmap" >/dev/null || { ceph_fail "$dir"; return 1; }
	ceph-mon "${conf[@]}" --mkfs -i a --monmap "$dir/monmap" >/dev/null 2>&1 || { ceph_fail "$dir"; return 1; }
	ceph-mon "${conf[@]}" -f -i a >/dev/null 2>&1 &
	echo $! >>"$dir/pids"
	# The fsid proves the monitor that answers is this one, not another cluster's on a port that was taken.
	ceph_wait 30 "the monitor" bash -c "ceph ${conf[*]} --connect-timeout 2 fsid | grep -qx $fsid" || { ceph_fail "$dir"; return 1; }
	local osd_uuid
	osd_uuid=$(cat /proc/sys/kernel/random/uuid)
	ceph "${conf[@]}" osd new "$osd_uuid" 0 >/dev/null || { ceph_fail "$dir"; return 1; }
	ceph-osd "${conf[@]}" -i 0 --mkfs --osd-uuid "$osd_uuid" >/dev/null 2>&1 || { ceph_fail "$dir"; return 1; }
	ceph-osd "${conf[@]}" -f -i 0 >/dev/null 2>&1 &
	echo $! >>"$dir/pids"
	ceph_wait 30 "the OSD" bash -c "ceph ${conf[*]} osd dump | grep -q '^osd.0 up'" || { ceph_fail "$dir"; return 1; }
	radosgw "${conf[@]}" -f -n client.rgw.a >/dev/null 2>&1 &
	echo $! >>"$dir/pids"
	ceph_wait 60 "radosgw on 127.0.0.1:$rgw_port" curl -fsS -o /dev/null "http://127.0.0.1:$rgw_port/" || { ceph_fail "$dir"; return 1; }
	access=$(tr -dc 'A-Z0-9' </dev/urandom | head -c 20)
	secret=$(tr -dc 'A-Za-z0-9' </dev/urandom | head -c 40)
	radosgw-admin "${conf[@]}" -n client.rgw.a user create --uid berth-test --display-name "Berth tests" \
		--access-key "$access" --secret "$secret" >/dev/null 2>&1 || { ceph_fail "$dir"; return 1; }
	export BERTH_CEPH_DIR=$dir
	export BERTH_TEST_S3_ENDPOINT=http://127.0.0.1:$rgw_port
	export BERTH_TEST_S3_ACCESS_KEY=$access
	export BERTH_TEST_S3_SECRET_KEY=$secret
	{
		echo "export BERTH_CEPH_DIR=$dir"
		echo "export BERTH_TEST_S3_ENDPOINT=$BERTH_TEST_S3_ENDPOINT"
		echo "export BERTH_TEST_S3_ACCESS_KEY=$access"
		echo "export BERTH_TEST_S3_SECRET_KEY=$secret"
	} >"$dir/env"
	ceph_log "radosgw at $BERTH_TEST_S3_ENDPOINT, cluster in $dir ($((SECONDS - started)) s)"
}

ceph_stop() {
	local dir=${1:-${BERTH_CEPH_DIR:-}}
	if [ -z "$dir" ]; then
		ceph_log "stop: no directory (give one, or set BERTH_CEPH_DIR)"
		return 1
	fi
	case "$dir" in
	/tmp/berth-ceph.*) ;;
	*) ceph_log "stop: $dir is not a directory this script made"; return 1 ;;
	esac
	if [ -f "$dir/pids" ]; then
		local pids=() pid
		while read -r pid; do kill -0 "$pid" 2>/dev/null && pids+=("$pid"); done <"$dir/pids"
		[ "${#pids[@]}" -gt 0 ] && kill -TERM "${pids[@]}" 2>/dev/null
		for _ in $(seq 50); do
			local alive=0
			for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
			[ "$alive" = 0 ] && break
			sleep 0.1
		done
		for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null; done
	fi
	rm -rf "$dir"
	if [ "${BERTH_CEPH_DIR:-}" = "$dir" ]; then
		unset BERTH_CEPH_DIR BERTH_TEST_S3_ENDPOINT BERTH_TEST_S3_ACCESS_KEY BERTH_TEST_S3_SECRET_KEY
	fi
}

ceph_main() {
	case "${1:-}" in
	start)
		if [ "${ceph_sourced:-0}" = 1 ]; then ceph_start; else ceph_start && cat "$BERTH_CEPH_DIR/env"; fi ;;
	stop) ceph_stop "${2:-}" ;;
	-h | --help) sed -n '2,/^[^#]/{/^#/{s/^# \{0,1\}//;p}}' "${BASH_SOURCE[0]}" ;;
	*) echo "ceph.sh: start or stop [DIR] (see --help)" >&2; return 2 ;;
	esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -uo pipefail
	ceph_sourced=0
	ceph_main "$@"
	exit $?
elif [ $# -gt 0 ]; then
	ceph_sourced=1
	ceph_main "$@"
fi
