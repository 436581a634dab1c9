#!/usr/bin/env bash
# A user's machine after docker login (issue 7): docker used to store {"auth": "<user>:", "identitytoken": ...}
# (a refresh token from GET /token?offline_token=true), and every other client on the machine then failed.
# Here the real clients run one after another and share the credential files the way they do on a workstation
# (lib.sh gives the run its own HOME and XDG_RUNTIME_DIR; no DOCKER_CONFIG, no REGISTRY_AUTH_FILE):
#   docker login writes $HOME/.docker/config.json: its auth field must decode to user:password, no identitytoken;
#   skopeo, podman and buildah, never logged in themselves, push and pull with it (their fallback to docker's file);
#   podman login and buildah login into a REGISTRY_AUTH_FILE, and into docker's config.json (REGISTRY_AUTH_FILE
#   pointed at it), which docker still reads afterwards;
#   ctr pulls with --user USER:PASSWORD decoded from config.json's auth field;
#   podman logout and docker logout: the registry is gone from the files, and the clients are refused again.
unset BERTH_CLIENT_AUTH # this script signs its own user in
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need skopeo skopeo
need podman podman
need buildah buildah
need docker docker.io
[ -n "${BERTH_CMD:-}" ] || fail "authentication is Berth's: set BERTH_CMD (test.sh does)"
export BERTH_ADMIN_PASSWORD="admin-$RANDOM$RANDOM-password"
start_registry
# shellcheck disable=SC2086  # BERTH_CMD is a command line
echo "alice-password" | $BERTH_CMD user add alice --password-stdin --data "$work/registry-data" >/dev/null || fail "berth user add alice"
sleep 0.2

docker_config="$HOME/.docker/config.json"     # where docker login writes without DOCKER_CONFIG
podman_default="$XDG_RUNTIME_DIR/containers/auth.json" # where podman/buildah/skopeo login write by default
tls=(--src-tls-verify=false --dest-tls-verify=false)
p=(podman --root "$work/podman-root" --runroot "$work/podman-run" --storage-driver vfs)
b=(buildah --root "$work/buildah-root" --runroot "$work/buildah-run" --storage-driver vfs)
pushed=$(make_image "$work/img" amd64 2)
# holds REGISTRY FILE: FILE has an entry for REGISTRY.
holds() { [ -f "$2" ] && jq -e --arg r "$1" '.auths[$r]' "$2" >/dev/null 2>&1; }
# stored FILE: what the auth field of FILE's entry for the registry decodes to.
stored() { jq -r --arg r "$registry" '.auths[$r].auth // empty' "$1" | base64 -d; }

# Nothing stored yet: refused.
refused "skopeo push before any login" skopeo copy -q "${tls[@]}" "oci:$work/img:latest" "docker://$registry/alice/app:1"

# 1. docker login (client side: no daemon, DOCKER_HOST points at a socket that does not exist).
echo "alice-password" | docker login -u alice --password-stdin "$registry" >"$work/docker-login.log" 2>&1 \
	|| fail "docker login: $(cat "$work/docker-login.log")"
[ -f "$docker_config" ] || fail "docker login wrote no $docker_config"
expect_equal "docker login: config.json's auth decodes to user:password" "$(stored "$docker_config")" "alice:alice-password"
jq -e '[.. | objects | has("identitytoken")] | any | not' "$docker_config" >/dev/null \
	|| fail "docker login stored an identitytoken: $(cat "$docker_config")"
say "ok: docker login: no identitytoken in config.json"
[ ! -e "$podman_default" ] || fail "$podman_default exists: the next steps would not show that docker's file is read"

# 2. skopeo, with no login of its own, reads docker's config.json: push and pull without --creds.
skopeo copy -q "${tls[@]}" "oci:$work/img:latest" "docker://$registry/alice/app:1" || fail "skopeo push with docker's config.json"
skopeo copy -q "${tls[@]}" "docker://$registry/alice/app:1" "oci:$work/pulled:x" || fail "skopeo pull with docker's config.json"
for blob in "$work"/img/blobs/sha256/*; do
	cmp -s "$blob" "$work/pulled/blobs/sha256/$(basename "$blob")" || fail "blob $(basename "$blob") differs after skopeo's pull"
done
expect_equal "skopeo pushed and pulled with docker's config.json" "$(manifest_digest "$registry/alice/app:1")" "$pushed"

# 3. podman and buildah, with no login of their own, read docker's config.json too.
"${p[@]}" pull -q --tls-verify=false "$registry/alice/app:1" >/dev/null || fail "podman pull with docker's config.json"
"${p[@]}" push -q --tls-verify=false "$registry/alice/app:1" "docker://$registry/alice/app:podman" || fail "podman push with docker's config.json"
"${b[@]}" pull -q --tls-verify=false "$registry/alice/app:podman" >/dev/null || fail "buildah pull with docker's config.json"
"${b[@]}" push -q --tls-verify=false "$registry/alice/app:podman" "docker://$registry/alice/app:buildah" || fail "buildah push with docker's config.json"
say "ok: podman and buildah pull and push with docker's config.json"
[ ! -e "$podman_default" ] || fail "something wrote $podman_default"

# 4. podman login and buildah login into their own REGISTRY_AUTH_FILE; the clients use it.
export REGISTRY_AUTH_FILE="$work/containers-auth.json"
for tool in podman buildah; do
	rm -f "$REGISTRY_AUTH_FILE"
	echo "alice-password" | "$tool" login --tls-verify=false -u alice --password-stdin "$registry" >"$work/login.log" 2>&1 \
		|| fail "$tool login: $(cat "$work/login.log")"
	expect_equal "$tool login: REGISTRY_AUTH_FILE's auth decodes to user:password" "$(stored "$REGISTRY_AUTH_FILE")" "alice:alice-password"
done
"${b[@]}" push -q --tls-verify=false "$registry/alice/app:podman" "docker://$registry/alice/app:buildah-login" || fail "buildah push after buildah login"
"${p[@]}" pull -q --tls-verify=false "$registry/alice/app:buildah-login" >/dev/null || fail "podman pull with buildah login's REGISTRY_AUTH_FILE"
skopeo inspect --tls-verify=false "docker://$registry/alice/app:buildah-login" >/dev/null || fail "skopeo inspect with REGISTRY_AUTH_FILE"
say "ok: podman, buildah, skopeo with REGISTRY_AUTH_FILE"
holds "$registry" "$docker_config" || fail "podman or buildah login changed docker's config.json"

# 5. podman login and buildah login pointed at docker's config.json: they keep docker's entry readable.
cp "$docker_config" "$work/config.json.docker"
for tool in podman buildah; do
	echo "alice-password" | REGISTRY_AUTH_FILE="$docker_config" "$tool" login --tls-verify=false -u alice --password-stdin "$registry" >"$work/login.log" 2>&1 \
		|| fail "$tool login into docker's config.json: $(cat "$work/login.log")"
	expect_equal "$tool login into docker's config.json: auth decodes to user:password" "$(stored "$docker_config")" "alice:alice-password"
done
REGISTRY_AUTH_FILE="$docker_config" "${p[@]}" pull -q --tls-verify=false "$registry/alice/app:buildah" >/dev/null || fail "podman pull with REGISTRY_AUTH_FILE=docker's config.json"
REGISTRY_AUTH_FILE="$docker_config" "${b[@]}" push -q --tls-verify=false "$registry/alice/app:podman" "docker://$registry/alice/app:into-docker-config" \
	|| fail "buildah push with REGISTRY_AUTH_FILE=docker's config.json"
docker manifest inspect --insecure "$registry/alice/app:into-docker-config" >"$work/inspect.log" 2>&1 \
	|| fail "docker reading config.json after podman and buildah logged in there: $(cat "$work/inspect.log")"
say "ok: podman and buildah login into docker's config.json; docker still reads it"

# 6. ctr with the user and password decoded from config.json's auth field, as a script on the machine would.
start_containerd berth-logins
creds=$(stored "$docker_config")
refused "ctr pull without --user" "${c[@]}" images pull --plain-http --snapshotter native "$registry/alice/app:1"
"${c[@]}" images pull --plain-http --snapshotter native --user "$creds" "$registry/alice/app:1" >"$work/ctr.log" 2>&1 \
	|| fail "ctr pull --user (from config.json): $(tail -n 3 "$work/ctr.log")"
expect_equal "ctr pulled with config.json's user:password" "$("${c[@]}" images ls | awk -v r="$registry/alice/app:1" '$1 == r {print $3}')" "$pushed"

# 7. podman logout (its REGISTRY_AUTH_FILE), then docker logout: the registry is gone from both files.
podman logout "$registry" >"$work/logout.log" 2>&1 || fail "podman logout: $(cat "$work/logout.log")"
if holds "$registry" "$REGISTRY_AUTH_FILE"; then fail "podman logout left the registry in REGISTRY_AUTH_FILE"; fi
say "ok: podman logout"
# With its own file empty, podman still falls back to docker's config.json, which docker logout empties next.
"${p[@]}" pull -q --tls-verify=false "$registry/alice/app:into-docker-config" >/dev/null || fail "podman pull through docker's config.json after podman logout"
say "ok: after podman logout, podman still pulls through docker's config.json"
docker logout "$registry" >"$work/logout.log" 2>&1 || fail "docker logout: $(cat "$work/logout.log")"
if holds "$registry" "$docker_config"; then fail "docker logout left the registry in config.json: $(cat "$docker_config")"; fi
say "ok: docker logout: config.json no longer holds the registry"
refused "skopeo inspect after docker logout" skopeo inspect --tls-verify=false "docker://$registry/alice/app:1"
refused "podman pull after docker logout" "${p[@]}" pull -q --tls-verify=false "$registry/alice/app:into-docker-config"
refused "docker manifest inspect after docker logout" docker manifest inspect --insecure "$registry/alice/app:1"
unset REGISTRY_AUTH_FILE
refused "skopeo inspect with neither file" skopeo inspect --tls-verify=false "docker://$registry/alice/app:1"
say "passed"
