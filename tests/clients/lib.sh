#!/usr/bin/env bash
# Shared by the real-client scripts (source it first thing). Gives each script:
#   - a private mount namespace with a tmpfs over /var/lib/containers/cache, so the
#     containers/image blob-info cache of one run cannot let a later push skip an upload;
#   - a temporary work directory ($work), removed on exit;
#   - need CMD PACKAGE (installs a missing Debian package, fails if it stays missing);
#   - start_registry PORT: Berth from $BERTH_CMD, or distribution (docker-registry) when
#     BERTH_CMD is unset, which is how the scripts were checked against the reference registry;
#     with BERTH_ADMIN_PASSWORD set, Berth starts with authentication on (user "admin");
#   - make_image DIR [ARCH]: a small random OCI image layout, built locally without network.
set -euo pipefail

clients_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
script_name=$(basename "$0" .sh)

say() { echo "$script_name: $*"; }
fail() {
	echo "$script_name: FAIL: $*" >&2
	exit 1
}

apt_updated=0
need() { # need COMMAND PACKAGE
	command -v "$1" >/dev/null 2>&1 && return 0
	[ "$(id -u)" -eq 0 ] || fail "$1 is missing; installing $2 needs root"
	if [ "$apt_updated" = 0 ]; then apt-get update -qq >/dev/null; apt_updated=1; fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null || fail "apt-get install $2 failed"
	command -v "$1" >/dev/null 2>&1 || fail "$1 still missing after installing $2"
}

need curl curl
need jq jq
need python3 python3
need unshare util-linux

if [ "${BERTH_CLIENT_ISOLATED:-}" != 1 ]; then
	[ "$(id -u)" -eq 0 ] || fail "must run as root (mount namespace, container storage)"
	exec env BERTH_CLIENT_ISOLATED=1 unshare --mount --propagation private \
		bash -c 'mkdir -p /var/lib/containers/cache && mount -t tmpfs tmpfs /var/lib/containers/cache && exec bash "$0" "$@"' "$0" "$@"
fi

work=$(mktemp -d "/tmp/berth-$script_name.XXXXXX")
registry_pid=
cleanup_hooks=()
cleanup() {
	local rc=$? hook
	for hook in "${cleanup_hooks[@]}"; do eval "$hook" || true; done
	if [ -n "$registry_pid" ]; then kill "$registry_pid" 2>/dev/null || true; wait "$registry_pid" 2>/dev/null || true; fi
	if [ "$rc" -ne 0 ]; then
		echo "$script_name: work directory kept: $work" >&2
		[ -f "$work/registry.log" ] && { echo "--- last lines of the registry log:" >&2; tail -n 30 "$work/registry.log" >&2; }
	else
		rm -rf "$work"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_registry PORT: sets $registry (host:port) and waits until GET /v2/ answers (200, or 401 with authentication on).
start_registry() {
	local port=$1 data="$work/registry-data"
	registry="127.0.0.1:$port"
	if [ -n "${BERTH_CMD:-}" ]; then
		say "registry under test: Berth ($BERTH_CMD) on $registry"
		# shellcheck disable=SC2086  # BERTH_CMD is a command line
		$BERTH_CMD serve --listen "$registry" --data "$data" >"$work/registry.log" 2>&1 &
	else
		need docker-registry docker-registry
		say "registry under test: distribution (docker-registry) on $registry"
		cat >"$work/registry.yml" <<-YAML
			version: 0.1
			log: {level: warn, accesslog: {disabled: true}}
			storage: {filesystem: {rootdirectory: $data}, delete: {enabled: true}}
			http: {addr: $registry}
		YAML
		docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
	fi
	registry_pid=$!
	local deadline=$((SECONDS + 60))
	until [[ "$(curl -s -o /dev/null -w '%{http_code}' "http://$registry/v2/" || true)" =~ ^(200|401)$ ]]; do
		kill -0 "$registry_pid" 2>/dev/null || fail "the registry exited at start"
		[ "$SECONDS" -lt "$deadline" ] || fail "the registry did not answer GET /v2/ within 60 s"
		sleep 0.1
	done
}

# make_image DIR [ARCH] [LAYERS]: writes an OCI layout with tag "latest"; prints the manifest digest.
make_image() {
	python3 "$clients_dir/make-image.py" "$@"
}

# manifest_digest REF: the digest the registry serves for a tag, through skopeo.
manifest_digest() {
	skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$1"
}

# expect_equal WHAT ACTUAL EXPECTED
expect_equal() {
	[ "$2" = "$3" ] || fail "$1: got '$2', expected '$3'"
	say "ok: $1"
}
