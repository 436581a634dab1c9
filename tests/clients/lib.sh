#!/usr/bin/env bash
# Shared by the real-client scripts (source it first thing; it is not run by itself). Gives each script:
#   - -h/--help (the script's header comment and the environment below, exit 0); any argument else: exit 2;
#   - a private mount namespace with a tmpfs over /var/lib/containers/cache, so the
#     containers/image blob-info cache of one run cannot let a later push skip an upload;
#   - a temporary work directory ($work), removed on exit (kept, with the registry log, on failure);
#   - a private HOME ($work/home) and XDG_RUNTIME_DIR ($work/run), DOCKER_CONFIG, REGISTRY_AUTH_FILE and
#     XDG_CONFIG_HOME unset: no client reads or writes the credentials of the machine's user (or of another
#     run), and $HOME/.docker/config.json is the run's own; DOCKER_HOST is a socket that does not exist,
#     so the docker CLI never reaches a daemon;
#   - need CMD PACKAGE (installs a missing Debian package, fails if it stays missing);
#   - start_registry: Berth from $BERTH_CMD, or distribution (docker-registry) when BERTH_CMD is unset,
#     which is how the scripts were checked against the reference registry; on a free port picked at run
#     time ($BERTH_CLIENT_PORT when set), so that runs on one machine do not collide; sets $registry;
#     with BERTH_ADMIN_PASSWORD set, Berth starts with authentication on (user "admin");
#   - auth mode (BERTH_CLIENT_AUTH=1, which run-all.sh sets for its second pass): Berth starts with
#     authentication on, and start_registry first checks that it is (anonymous GET /v2/ is 401, and every
#     client the script needs is refused without a login), then signs each of them in as admin (call need
#     before start_registry), so that the scripts run unchanged: skopeo, podman and buildah each log in
#     (skopeo/podman/buildah login) into an exported REGISTRY_AUTH_FILE, the docker CLI (docker login) into
#     an exported DOCKER_CONFIG, ctr through "${ctr_creds[@]}" (--user admin:PASSWORD; empty without auth mode);
#   - refused WHAT CMD...: CMD must fail, and because of authorization;
#   - start_containerd NAMESPACE: a throwaway containerd daemon; sets the array c (ctr with its socket);
#   - make_image DIR [ARCH] [LAYERS]: a small random OCI image layout, built locally without network.
set -euo pipefail

clients_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
lib_env_help='Environment:
  BERTH_CMD          the Berth server command (test.sh: the published executable); unset: distribution
                     (docker-registry), the reference registry (open mode only)
  BERTH_CLIENT_AUTH  1: auth mode, authentication on and the clients signed in (run-all.sh, second pass)
  BERTH_CLIENT_PORT  the registry port on 127.0.0.1 (default: a free one, picked at run time)
  BERTH_CLIENT_REGISTRY  HOST:PORT of a registry already running (tests/cluster/cluster.sh: three nodes
                     behind nginx); the scripts use it instead of starting one (with auth mode, its admin
                     password is BERTH_ADMIN_PASSWORD)
Needs root (a mount namespace, container storage); installs missing Debian packages.'

if [ "${BASH_SOURCE[0]}" = "$0" ]; then # run instead of sourced
	case "${1:-}" in
	-h | --help)
		sed -n '2,/^[^#]/{/^#/{s/^# \{0,1\}//;p}}' "$0"
		printf '\n%s\n' "$lib_env_help"
		exit 0
		;;
	esac
	echo "lib.sh: sourced by the scripts in tests/clients, not run (see --help)" >&2
	exit 2
fi

script_name=$(basename "$0" .sh)

say() { echo "$script_name: $*"; }
fail() {
	echo "$script_name: FAIL: $*" >&2
	exit 1
}

# The client scripts take no arguments but -h/--help.
for arg in "$@"; do
	case "$arg" in
	-h | --help)
		echo "usage: bash $0"
		sed -n '2,/^[^#]/{/^#/{s/^# \{0,1\}//;p}}' "$0"
		printf '\n%s\n' "$lib_env_help"
		exit 0
		;;
	*)
		echo "$script_name: unknown argument '$arg' (it takes none; see --help)" >&2
		exit 2
		;;
	esac
done

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
need ss iproute2

if [ "${BERTH_CLIENT_AUTH:-}" = 1 ] && [ -z "${BERTH_CMD:-}" ]; then
	fail "auth mode (BERTH_CLIENT_AUTH=1) needs Berth: set BERTH_CMD"
fi

if [ "${BERTH_CLIENT_ISOLATED:-}" != 1 ]; then
	[ "$(id -u)" -eq 0 ] || fail "must run as root (mount namespace, container storage)"
	exec env BERTH_CLIENT_ISOLATED=1 unshare --mount --propagation private \
		bash -c 'mkdir -p /var/lib/containers/cache && mount -t tmpfs tmpfs /var/lib/containers/cache && exec bash "$0" "$@"' "$0" "$@"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/berth-$script_name.XXXXXX")
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

# The run's own home: no client sees the credentials of the machine's user, nor writes there.
export HOME="$work/home" XDG_RUNTIME_DIR="$work/run" DOCKER_HOST="unix://$work/no-docker-daemon.sock"
unset DOCKER_CONFIG REGISTRY_AUTH_FILE XDG_CONFIG_HOME
mkdir -p -m 700 "$HOME" "$XDG_RUNTIME_DIR"

ctr_creds=()
if [ "${BERTH_CLIENT_AUTH:-}" = 1 ]; then
	# A registry already running (BERTH_CLIENT_REGISTRY) comes with its admin's password; one started here gets a new one.
	if [ -z "${BERTH_CLIENT_REGISTRY:-}" ] || [ -z "${BERTH_ADMIN_PASSWORD:-}" ]; then export BERTH_ADMIN_PASSWORD="admin-$RANDOM$RANDOM-password"; fi
	ctr_creds=(--user "admin:$BERTH_ADMIN_PASSWORD")
	say "auth mode: authentication on, clients signed in as admin"
fi

# free_port: a free port (tests/free-port.py), or $BERTH_CLIENT_PORT when set.
free_port() {
	if [ -n "${BERTH_CLIENT_PORT:-}" ]; then echo "$BERTH_CLIENT_PORT"; return; fi
	python3 "$(dirname "${BASH_SOURCE[0]}")/../free-port.py"
}

# start_registry: starts the registry on a free port, sets $registry (127.0.0.1:PORT), and waits until
# the registry process itself listens there and GET /v2/ answers (200, or 401 with authentication on).
# Should another process take the port between the pick and the bind, it starts again on another one.
start_registry() {
	local attempt port
	if [ -n "${BERTH_CLIENT_REGISTRY:-}" ]; then
		# A registry someone else runs (tests/cluster: nodes behind nginx): used as it is, never started or stopped here.
		registry=$BERTH_CLIENT_REGISTRY
		say "registry under test: $registry (already running)${BERTH_CLIENT_AUTH:+, authentication on}"
		[[ "$(curl -s -o /dev/null -w '%{http_code}' "http://$registry/v2/" || true)" =~ ^(200|401)$ ]] ||
			fail "$registry does not answer GET /v2/"
		if [ "${BERTH_CLIENT_AUTH:-}" = 1 ]; then sign_in_clients; fi
		return 0
	fi
	if [ -n "${BERTH_ADMIN_PASSWORD:-}" ] && [ -z "${BERTH_CMD:-}" ]; then
		fail "BERTH_ADMIN_PASSWORD is set: authentication needs Berth, set BERTH_CMD (distribution has no users)"
	fi
	for attempt in 1 2 3 4 5; do
		port=$(free_port)
		[ -n "$port" ] || fail "no free port found"
		if launch_registry "$port"; then break; fi
		if [ -z "${BERTH_CLIENT_PORT:-}" ] && [ "$attempt" -lt 5 ] && grep -qi 'address already in use' "$work/registry.log"; then
			say "port $port was taken meanwhile; trying another"
			continue
		fi
		fail "the registry exited at start"
	done
	if [ "${BERTH_CLIENT_AUTH:-}" = 1 ]; then sign_in_clients; fi
}

# launch_registry PORT: 0 once the registry serves on PORT; 1 when it exited at start.
launch_registry() {
	local port=$1 data="$work/registry-data"
	registry="127.0.0.1:$port"
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
	# The listener must be our process: an answer from whatever else holds the port proves nothing.
	until ss -Hltnp "sport = :$port" | grep -q "pid=$registry_pid," &&
		[[ "$(curl -s -o /dev/null -w '%{http_code}' "http://$registry/v2/" || true)" =~ ^(200|401)$ ]]; do
		if ! kill -0 "$registry_pid" 2>/dev/null; then
			wait "$registry_pid" 2>/dev/null || true
			registry_pid=
			say "the registry exited at start: $(tail -n 3 "$work/registry.log")"
			return 1
		fi
		[ "$SECONDS" -lt "$deadline" ] || fail "the registry did not answer GET /v2/ within 60 s"
		sleep 0.1
	done
}

# refused WHAT CMD...: CMD must fail, and say it was about authorization.
refused() {
	local what=$1 out
	shift
	if out=$("$@" 2>&1); then fail "$what: succeeded, should have been refused"; fi
	grep -qiE 'unauthorized|denied|authentication required|401|403' <<<"$out" || fail "$what: failed for another reason: $out"
	say "ok: $what refused"
}

# sign_in_clients (auth mode): checks that authentication is really on and that each client the script
# needs is refused without credentials, then signs each in as admin with its own login command and checks
# what it stored: skopeo, podman and buildah into REGISTRY_AUTH_FILE, docker into DOCKER_CONFIG; ctr gets
# --user (ctr.sh checks its refusal itself, its daemon starts later).
sign_in_clients() {
	local code login_log="$work/client-login.log" tool check="$work/login-check" ref stored
	local creds="admin:$BERTH_ADMIN_PASSWORD"
	code=$(curl -s -o /dev/null -w '%{http_code}' "http://$registry/v2/" || true)
	[ "$code" = 401 ] || fail "auth mode: anonymous GET /v2/ answered $code, expected 401 (is authentication on?)"
	code=$(curl -s -o /dev/null -w '%{http_code}' -u "admin:wrong-password" "http://$registry/v2/" || true)
	[ "$code" = 401 ] || fail "auth mode: GET /v2/ with a wrong password answered $code, expected 401"
	code=$(curl -s -o /dev/null -w '%{http_code}' -u "$creds" "http://$registry/v2/" || true)
	[ "$code" = 200 ] || fail "auth mode: GET /v2/ as admin answered $code, expected 200"

	# An image (pushed as admin, outside the clients' credential files) the clients must not read without a login.
	ref="$registry/login-check/image:1"
	make_image "$check/layout" amd64 1 >/dev/null
	skopeo copy -q --dest-tls-verify=false --dest-creds "$creds" "oci:$check/layout:latest" "docker://$ref" >"$login_log" 2>&1 \
		|| fail "auth mode: push of the login-check image as admin: $(cat "$login_log")"
	export REGISTRY_AUTH_FILE="$work/auth.json" DOCKER_CONFIG="$work/docker-config"
	mkdir -p "$DOCKER_CONFIG"
	echo '{"auths": {}}' >"$REGISTRY_AUTH_FILE" # podman and buildah want an auth file that exists
	local pm=(podman --root "$check/podman-root" --runroot "$check/podman-run" --storage-driver vfs)
	local bh=(buildah --root "$check/buildah-root" --runroot "$check/buildah-run" --storage-driver vfs)
	for tool in skopeo podman buildah docker; do
		[[ "$needed" == *" $tool "* ]] || continue
		case $tool in
		skopeo)
			refused "auth mode: skopeo inspect without a login" skopeo inspect --tls-verify=false "docker://$ref"
			refused "auth mode: skopeo push without a login" skopeo copy -q --dest-tls-verify=false "oci:$check/layout:latest" "docker://$registry/login-check/skopeo:1"
			;;
		podman) refused "auth mode: podman pull without a login" "${pm[@]}" pull -q --tls-verify=false "$ref" ;;
		buildah) refused "auth mode: buildah pull without a login" "${bh[@]}" pull -q --tls-verify=false "$ref" ;;
		docker) refused "auth mode: docker manifest inspect without a login" docker manifest inspect --insecure "$ref" ;;
		esac
	done
	for tool in skopeo podman buildah docker; do
		[[ "$needed" == *" $tool "* ]] || continue
		if [ "$tool" = docker ]; then
			printf '%s\n' "$BERTH_ADMIN_PASSWORD" | docker login -u admin --password-stdin "$registry" >"$login_log" 2>&1 \
				|| fail "auth mode: docker login: $(cat "$login_log")"
			stored=$(jq -r --arg r "$registry" '.auths[$r].auth // empty' "$DOCKER_CONFIG/config.json" | base64 -d) || true
			[ "$stored" = "$creds" ] || fail "auth mode: docker login stored no admin:PASSWORD in $DOCKER_CONFIG/config.json"
			docker manifest inspect --insecure "$ref" >"$login_log" 2>&1 || fail "auth mode: docker manifest inspect after docker login: $(cat "$login_log")"
		else
			echo '{"auths": {}}' >"$REGISTRY_AUTH_FILE" # so that what it holds is this tool's login
			printf '%s\n' "$BERTH_ADMIN_PASSWORD" | "$tool" login --tls-verify=false -u admin --password-stdin "$registry" >"$login_log" 2>&1 \
				|| fail "auth mode: $tool login: $(cat "$login_log")"
			stored=$(jq -r --arg r "$registry" '.auths[$r].auth // empty' "$REGISTRY_AUTH_FILE" | base64 -d) || true
			[ "$stored" = "$creds" ] || fail "auth mode: $tool login stored no admin:PASSWORD in $REGISTRY_AUTH_FILE"
			case $tool in
			skopeo) skopeo inspect --tls-verify=false "docker://$ref" >"$login_log" 2>&1 ;;
			podman) "${pm[@]}" pull -q --tls-verify=false "$ref" >"$login_log" 2>&1 ;;
			buildah) "${bh[@]}" pull -q --tls-verify=false "$ref" >"$login_log" 2>&1 ;;
			esac || fail "auth mode: $tool read the login-check image after its login: $(cat "$login_log")"
		fi
		say "auth mode: $tool login as admin works"
	done
}

# start_containerd NAMESPACE: a throwaway containerd daemon with its own root, state and socket in the work
# directory (stopped on exit); sets the array c to "ctr --address SOCKET --namespace NAMESPACE".
start_containerd() {
	need containerd containerd
	need ctr containerd
	cat >"$work/containerd.toml" <<-TOML
		version = 2
		root = "$work/containerd/root"
		state = "$work/containerd/state"
		disabled_plugins = ["io.containerd.grpc.v1.cri"]
		[grpc]
		  address = "$work/containerd/containerd.sock"
		[ttrpc]
		  address = "$work/containerd/containerd.sock.ttrpc"
		[debug]
		  address = ""
	TOML
	mkdir -p "$work/containerd"
	containerd --config "$work/containerd.toml" >"$work/containerd.log" 2>&1 &
	local pid=$! deadline=$((SECONDS + 30))
	cleanup_hooks+=("kill $pid; wait $pid")
	c=(ctr --address "$work/containerd/containerd.sock" --namespace "$1")
	until "${c[@]}" version >/dev/null 2>&1; do
		kill -0 "$pid" 2>/dev/null || fail "containerd exited: $(tail -n 5 "$work/containerd.log")"
		[ "$SECONDS" -lt "$deadline" ] || fail "containerd did not answer within 30 s"
		sleep 0.2
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
