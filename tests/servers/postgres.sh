#!/usr/bin/env bash
# A throwaway PostgreSQL for tests: a fresh cluster in a temporary directory, on 127.0.0.1 only, on a free port, with
# trust authentication and a role and database "berth" (the role may create databases, so each test makes its own).
#
#   tests/servers/postgres.sh start        starts one and prints shell lines to eval: BERTH_TEST_POSTGRES (the Npgsql
#                                          connection string) and BERTH_TEST_POSTGRES_DIR (what stop removes)
#   tests/servers/postgres.sh stop [DIR]   stops the cluster in DIR (default $BERTH_TEST_POSTGRES_DIR) and removes DIR
#
# Sourced (". tests/servers/postgres.sh"), it defines postgres_start (which exports both variables) and postgres_stop.
# Installs Debian's postgresql when initdb is missing (needs root). PGPORT fixes the port.

postgres_bin() {
	local d
	if command -v initdb >/dev/null 2>&1; then dirname "$(readlink -f "$(command -v initdb)")"; return 0; fi
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] && { echo "$d"; return 0; }
	done
	if [ "$(id -u)" -ne 0 ]; then echo "postgres.sh: initdb is missing and installing postgresql needs root" >&2; return 1; fi
	apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null || return 1
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] && { echo "$d"; return 0; }
	done
	echo "postgres.sh: no initdb after installing postgresql" >&2
	return 1
}

# Runs a command as the postgres user (initdb and postgres refuse root), or as ourselves when we are not root.
postgres_as() {
	if [ "$(id -u)" -eq 0 ]; then setpriv --reuid=postgres --regid=postgres --init-groups --reset-env -- "$@"; else "$@"; fi
}

postgres_start() {
	local bin dir port here
	here=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
	bin=$(postgres_bin) || return 1
	dir=$(mktemp -d /tmp/berth-postgres.XXXXXX) || return 1
	chmod 0755 "$dir"
	mkdir "$dir/data" "$dir/run"
	if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$dir/data" "$dir/run"; fi
	port=${PGPORT:-$(python3 "$here/../free-port.py")} || { rm -rf "$dir"; return 1; }
	if ! postgres_as "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1; then
		cat "$dir/initdb.log" >&2; rm -rf "$dir"; return 1
	fi
	cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir/run'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 128MB
CONF
	# Trust, and only over 127.0.0.1 (and the private socket directory).
	printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' >"$dir/data/pg_hba.conf"
	if ! postgres_as "$bin/pg_ctl" -D "$dir/data" -l "$dir/run/postgres.log" -w -t 30 start >/dev/null; then
		cat "$dir/run/postgres.log" >&2; postgres_stop "$dir"; return 1
	fi
	if ! postgres_as "$bin/psql" -h "$dir/run" -p "$port" -U postgres -d postgres -q -v ON_ERROR_STOP=1 \
		-c "CREATE ROLE berth LOGIN CREATEDB" -c "CREATE DATABASE berth OWNER berth" >/dev/null; then
		postgres_stop "$dir"; return 1
	fi
	export BERTH_TEST_POSTGRES="Host=127.0.0.1;Port=$port;Username=berth;Database=berth"
	export BERTH_TEST_POSTGRES_DIR="$dir"
}

postgres_stop() {
	local dir=${1:-${BERTH_TEST_POSTGRES_DIR:-}} bin
	[ -n "$dir" ] || { echo "postgres.sh stop: no directory given and BERTH_TEST_POSTGRES_DIR unset" >&2; return 1; }
	case "$dir" in /tmp/berth-postgres.*) ;; *) echo "postgres.sh stop: $dir is not a directory postgres.sh made" >&2; return 1 ;; esac
	if [ -f "$dir/data/postmaster.pid" ]; then
		bin=$(postgres_bin) || return 1
		postgres_as "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
	fi
	rm -rf "$dir"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	case "${1:-}" in
	start)
		postgres_start
		printf "export BERTH_TEST_POSTGRES='%s'\nexport BERTH_TEST_POSTGRES_DIR='%s'\n" "$BERTH_TEST_POSTGRES" "$BERTH_TEST_POSTGRES_DIR"
		;;
	stop) postgres_stop "${2:-}" ;;
	-h | --help) sed -n '2,/^[^#]/{/^#/{s/^# \{0,1\}//;p}}' "$0" ;;
	*) echo "usage: tests/servers/postgres.sh start|stop [DIR] (see --help)" >&2; exit 2 ;;
	esac
fi
