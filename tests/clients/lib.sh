#!/usr/bin/env bash
# Shared by the real-client scripts (source it first thing). Gives each script:
#   - a private mount namespace with a tmpfs over /var/lib/containers/cache, so the
#     containers/image blob-info cache of one run cannot let a later push skip an upload;
#   - a temporary work directory ($work), removed on exit;
#   - need CMD PACKAGE (installs a missing Debian package, fails if it stays missing);
#   - start_registry PORT: Berth from $BERTH_CMD, or distribution (docker-registry) when
#     BERTH_CMD is unset, which is how the scripts were checked against the reference registry;
#     with BERTH_ADMIN_PASSWORD set, Berth starts with authentication on (user "admin");
#   - auth mode (BERTH_CLIENT_AUTH=1, which run-all.sh sets for its second pass): Berth starts with
#     authentication on, and start_registry signs in as admin once for every client the script
#     needs (call need before start_registry), so that the scripts run unchanged: skopeo/podman/buildah through an exported REGISTRY_AUTH_FILE, the docker
#     CLI through an exported DOCKER_CONFIG ($work/docker-config), ctr through "${ctr_creds[@]}"
#     (--user admin:PASSWORD; empty without auth mode);
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
needed=" " # the commands the script asked for, so auth mode logs in only the clients it uses
need() { # need COMMAND PACKAGE
	needed+="$1 "
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

ctr_creds=()
if [ "${BERTH_CLIENT_AUTH:-}" = 1 ]; then
	[ -n "${BERTH_CMD:-}" ] || fail "auth mode (BERTH_CLIENT_AUTH=1) needs Berth: set BERTH_CMD"
	export BERTH_ADMIN_PASSWORD="admin-$RANDOM$RANDOM-password"
	ctr_creds=(--user "admin:$BERTH_ADMIN_PASSWORD")
	say "auth mode: authentication on, clients signed in as admin"
fi

# start_registry PORT: sets $registry (host:port) and waits until GET /v2/ answers (200, or 401 with authentication on).
start_registry() {
	local port=$1 data="$work/registry-data"
	registry="127.0.0.1:$port"
	if [ -n "${BERTH_ADMIN_PASSWORD:-}" ] && [ -z "${BERTH_CMD:-}" ]; then
		fail "BERTH_ADMIN_PASSWORD is set: authentication needs Berth, set BERTH_CMD (distribution has no users)"
	fi
	if [ -n "${BERTH_CMD:-}" ]; then
		say "registry under test: Berth ($BERTH_CMD) on $registry${BERTH_ADMIN_PASSWORD:+, authentication on}"
		# shellcheck disable=SC2086  # BERTH_CMD is a command line
		if [ -n "${BERTH_ADMIN_PASSWORD:-}" ]; then
			BERTH_ADMIN_PASSWORD="$BERTH_ADMIN_PASSWORD" $BERTH_CMD serve --listen "$registry" --data "$data" >"$work/registry.log" 2>&1 &
		else
			env -u BERTH_ADMIN_PASSWORD $BERTH_CMD serve --listen "$registry" --data "$data" >"$work/registry.log" 2>&1 &
		fi
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
	if [ "${BERTH_CLIENT_AUTH:-}" = 1 ]; then sign_in_clients; fi
}

# sign_in_clients (auth mode): checks that authentication is really on, then signs the clients the script needs in
# as admin: one login of skopeo, podman or buildah (they share REGISTRY_AUTH_FILE), docker login, ctr's --user.
sign_in_clients() {
	local code login_log="$work/client-login.log" tool
	code=$(curl -s -o /dev/null -w '%{http_code}' "http://$registry/v2/" || true)
	[ "$code" = 401 ] || fail "auth mode: anonymous GET /v2/ answered $code, expected 401 (is authentication on?)"
	code=$(curl -s -o /dev/null -w '%{http_code}' -u "admin:$BERTH_ADMIN_PASSWORD" "http://$registry/v2/" || true)
	[ "$code" = 200 ] || fail "auth mode: GET /v2/ as admin answered $code, expected 200"
	export REGISTRY_AUTH_FILE="$work/auth.json"
	for tool in skopeo podman buildah; do
		[[ "$needed" == *" $tool "* ]] || continue
		printf '%s\n' "$BERTH_ADMIN_PASSWORD" | "$tool" login --tls-verify=false --authfile "$REGISTRY_AUTH_FILE" -u admin --password-stdin "$registry" >"$login_log" 2>&1 \
			|| fail "auth mode: $tool login: $(cat "$login_log")"
		jq -e --arg r "$registry" '.auths[$r].auth' "$REGISTRY_AUTH_FILE" >/dev/null || fail "auth mode: $tool login stored no credentials"
		say "auth mode: $tool login as admin into $REGISTRY_AUTH_FILE"
		break
	done
	if [[ "$needed" == *" docker "* ]]; then
		export DOCKER_CONFIG="$work/docker-config"
		mkdir -p "$DOCKER_CONFIG"
		# DOCKER_HOST at a socket that does not exist: the CLI logs in client side, never through a daemon.
		printf '%s\n' "$BERTH_ADMIN_PASSWORD" | DOCKER_HOST="unix://$work/no-docker-daemon.sock" docker login -u admin --password-stdin "$registry" >"$login_log" 2>&1 \
			|| fail "auth mode: docker login: $(cat "$login_log")"
		jq -e --arg r "$registry" '.auths[$r].auth' "$DOCKER_CONFIG/config.json" >/dev/null || fail "auth mode: docker login stored no credentials"
		say "auth mode: docker login as admin into $DOCKER_CONFIG"
	fi
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
