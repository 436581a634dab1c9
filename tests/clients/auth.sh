#!/usr/bin/env bash
# Authentication with real clients: docker login/logout (client side), podman login/logout, skopeo --creds,
# buildah push --creds, ctr --user, anonymous pull of a public image, access tokens and robots as passwords.
unset BERTH_CLIENT_AUTH # this script signs its own users in; lib.sh's auth mode would sign in admin everywhere
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need skopeo skopeo
need podman podman
need buildah buildah
need docker docker.io
need ctr containerd
[ -n "${BERTH_CMD:-}" ] || fail "authentication is Berth's: set BERTH_CMD (test.sh does)"
export BERTH_ADMIN_PASSWORD="admin-$RANDOM-password"
start_registry
data="$work/registry-data"
berth() { $BERTH_CMD "$@" --data "$data"; } # shellcheck disable=SC2086
echo "alice-password" | berth user add alice --password-stdin >/dev/null || fail "berth user add alice"
echo "bob-password-1" | berth user add bob --password-stdin >/dev/null || fail "berth user add bob"
sleep 0.2
tls=(--src-tls-verify=false --dest-tls-verify=false)
export REGISTRY_AUTH_FILE="$work/auth.json"

# docker login / logout: the CLI's client-side login against the token endpoint. The docker CLI (28.x) asks
# the daemon to log in first and, when no daemon answers, logs in by itself (its "client side" login); DOCKER_HOST
# points at a socket that does not exist so that a daemon on the machine can never do it instead.
export DOCKER_CONFIG="$work/docker"
export DOCKER_HOST="unix://$work/no-docker-daemon.sock"
echo "alice-password" | docker login "$registry" -u alice --password-stdin >"$work/docker-login.log" 2>&1 || fail "docker login: $(cat "$work/docker-login.log")"
stored=$(jq -r --arg r "$registry" '.auths[$r].auth // empty' "$DOCKER_CONFIG/config.json" | base64 -d) || true
expect_equal "docker login stored alice's user:password in config.json" "$stored" "alice:alice-password"
jq -e '[.. | objects | has("identitytoken")] | any | not' "$DOCKER_CONFIG/config.json" >/dev/null \
	|| fail "docker login stored an identitytoken (a refresh token from GET /token?offline_token=true): $(cat "$DOCKER_CONFIG/config.json")"
say "ok: no identitytoken in config.json"
if echo "wrong-password" | docker login "$registry" -u alice --password-stdin >/dev/null 2>&1; then fail "docker login with a wrong password succeeded"; fi
say "ok: docker login with a wrong password refused"
docker logout "$registry" >/dev/null 2>&1 || fail "docker logout"
if jq -e --arg r "$registry" '.auths[$r]' "$DOCKER_CONFIG/config.json" >/dev/null 2>&1; then fail "docker logout left credentials behind"; fi
say "ok: docker logout"

# skopeo: push with credentials; without, or as someone else, refused.
pushed=$(make_image "$work/img" amd64 2)
refused "anonymous push" skopeo copy -q "${tls[@]}" "oci:$work/img:latest" "docker://$registry/alice/app:1"
skopeo copy -q "${tls[@]}" --dest-creds alice:alice-password "oci:$work/img:latest" "docker://$registry/alice/app:1" || fail "skopeo copy --dest-creds"
expect_equal "pushed with credentials" "$(skopeo inspect --tls-verify=false --creds alice:alice-password --format '{{.Digest}}' "docker://$registry/alice/app:1")" "$pushed"
refused "bob pushing into alice/" skopeo copy -q "${tls[@]}" --dest-creds bob:bob-password-1 "oci:$work/img:latest" "docker://$registry/alice/app:2"

# A private repository answers an outsider as a missing one does: skopeo's errors, without the repository
# name and skopeo's timestamp, are the same, and they are about authorization.
# inspect_error REPO [SKOPEO OPTIONS]: skopeo inspect of REPO:1 must fail; prints its error with REPO as NAME.
inspect_error() {
	local repo=$1 out
	shift
	if out=$(skopeo inspect --tls-verify=false "$@" "docker://$registry/$repo:1" 2>&1); then fail "skopeo inspect of $repo:1 succeeded"; fi
	sed -e "s#$repo#NAME#g" -e 's/^time="[^"]*" //' <<<"$out"
}
private_err=$(inspect_error alice/app)
missing_err=$(inspect_error alice/nothing)
grep -qiE 'unauthorized|denied|authentication required' <<<"$private_err" || fail "anonymous inspect of a private image failed for another reason: $private_err"
expect_equal "private and missing look alike to anonymous skopeo" "$private_err" "$missing_err"
private_err=$(inspect_error alice/app --creds bob:bob-password-1)
missing_err=$(inspect_error alice/nothing --creds bob:bob-password-1)
grep -qiE 'unauthorized|denied|authentication required' <<<"$private_err" || fail "bob's inspect of alice's private image failed for another reason: $private_err"
expect_equal "private and missing look alike to bob" "$private_err" "$missing_err"
say "ok: bob reading alice's private image refused"

# podman login writes REGISTRY_AUTH_FILE; podman, skopeo and buildah then use it.
if echo "wrong-password" | podman login --tls-verify=false -u alice --password-stdin "$registry" >/dev/null 2>&1; then fail "podman login with a wrong password succeeded"; fi
say "ok: podman login with a wrong password refused"
echo "alice-password" | podman login --tls-verify=false -u alice --password-stdin "$registry" >/dev/null || fail "podman login"
stored=$(jq -r --arg r "$registry" '.auths[$r].auth // empty' "$REGISTRY_AUTH_FILE" | base64 -d | cut -d: -f1) || true
expect_equal "podman login stored alice's credentials in REGISTRY_AUTH_FILE" "$stored" "alice"
skopeo copy -q "${tls[@]}" "oci:$work/img:latest" "docker://$registry/alice/app:from-auth-file" || fail "skopeo with podman login's auth file"
expect_equal "skopeo pushed with the auth file" "$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$registry/alice/app:from-auth-file")" "$pushed"
p=(podman --root "$work/podman-root" --runroot "$work/podman-run" --storage-driver vfs)
"${p[@]}" pull -q --tls-verify=false "$registry/alice/app:1" >/dev/null || fail "podman pull after login"
"${p[@]}" push -q --tls-verify=false "$registry/alice/app:1" "docker://$registry/alice/app:from-podman" || fail "podman push after login"
say "ok: podman pull and push with the auth file"
b=(buildah --root "$work/buildah-root" --runroot "$work/buildah-run" --storage-driver vfs)
"${b[@]}" pull -q --tls-verify=false "$registry/alice/app:from-podman" >/dev/null || fail "buildah pull with the auth file"
"${b[@]}" push -q --tls-verify=false "$registry/alice/app:from-podman" "docker://$registry/alice/app:from-buildah" || fail "buildah push with the auth file"
say "ok: buildah pull and push with the auth file"
podman logout "$registry" >/dev/null || fail "podman logout"
if jq -e --arg r "$registry" '.auths[$r]' "$REGISTRY_AUTH_FILE" >/dev/null 2>&1; then fail "podman logout left credentials behind"; fi
say "ok: podman logout"
refused "podman pull after logout" "${p[@]}" pull -q --tls-verify=false "$registry/alice/app:from-auth-file"
refused "buildah push after logout" "${b[@]}" push -q --tls-verify=false "$registry/alice/app:from-podman" "docker://$registry/alice/app:after-logout"

# buildah push --creds.
echo "auth test $RANDOM$RANDOM" >"$work/hello.txt"
container=$("${b[@]}" from scratch) || fail "buildah from scratch"
"${b[@]}" copy "$container" "$work/hello.txt" /hello.txt >/dev/null || fail "buildah copy"
"${b[@]}" commit -q "$container" localhost/auth-test:1 >/dev/null || fail "buildah commit"
refused "buildah push without credentials" "${b[@]}" push -q --tls-verify=false localhost/auth-test:1 "docker://$registry/alice/built:1"
"${b[@]}" push -q --tls-verify=false --creds alice:alice-password --digestfile "$work/built.digest" localhost/auth-test:1 "docker://$registry/alice/built:1" || fail "buildah push --creds"
expect_equal "buildah pushed with credentials" "$(skopeo inspect --tls-verify=false --creds alice:alice-password --format '{{.Digest}}' "docker://$registry/alice/built:1")" "$(cat "$work/built.digest")"

# Public: anonymous pull with no credentials at all (and an empty auth file).
berth repo visibility alice/app public || fail "berth repo visibility"
sleep 6 # the running server's access cache lives 5 s
rm -f "$REGISTRY_AUTH_FILE" # no credentials at all
expect_equal "anonymous inspect of a public image" "$(skopeo inspect --tls-verify=false --no-creds --format '{{.Digest}}' "docker://$registry/alice/app:1")" "$pushed"
skopeo copy -q "${tls[@]}" "docker://$registry/alice/app:1" "oci:$work/public:x" || fail "anonymous pull of a public image (no auth file)"
for blob in "$work"/img/blobs/sha256/*; do
	cmp -s "$blob" "$work/public/blobs/sha256/$(basename "$blob")" || fail "blob $(basename "$blob") differs after an anonymous pull"
done
say "ok: anonymous pull of a public image without an auth file"
echo '{}' >"$REGISTRY_AUTH_FILE"
skopeo copy -q "${tls[@]}" "docker://$registry/alice/app:1" "oci:$work/public2:x" || fail "anonymous pull of a public image (empty auth file)"
"${p[@]}" rmi -f "$registry/alice/app:1" >/dev/null || fail "podman rmi"
"${p[@]}" pull -q --tls-verify=false "$registry/alice/app:1" >/dev/null || fail "anonymous podman pull of a public image"
say "ok: anonymous pull of a public image with an empty auth file (skopeo, podman)"
refused "anonymous pull of a private image next to it" skopeo inspect --tls-verify=false "docker://$registry/alice/built:1"
refused "anonymous push to a public repository" skopeo copy -q "${tls[@]}" "oci:$work/img:latest" "docker://$registry/alice/app:anon"

# An access token as the password: pull-only scope pulls, cannot push; revoked, it is refused.
token=$(berth token create alice --name ci --scope 'alice/*:pull') || fail "berth token create"
skopeo inspect --tls-verify=false --creds "alice:$token" "docker://$registry/alice/built:1" >/dev/null || fail "pull with a pull-only token"
say "ok: pull with a pull-only token"
refused "push with a pull-only token" skopeo copy -q "${tls[@]}" --dest-creds "alice:$token" "oci:$work/img:latest" "docker://$registry/alice/built:2"
id=$(berth token list alice | awk -F'\t' '$2 == "ci" { print $1 }')
[ -n "$id" ] || fail "berth token list shows no token named ci"
berth token revoke "$id" || fail "berth token revoke"
sleep 6
refused "pull with a revoked token" skopeo inspect --tls-verify=false --creds "alice:$token" "docker://$registry/alice/built:1"

# The same through the management API: alice makes a token for herself and revokes it.
created=$(curl -sf -u alice:alice-password -X POST -H 'Content-Type: application/json' -d '{"name":"api-ci","scopes":["alice/*:pull"]}' \
	"http://$registry/api/v1/accounts/alice/tokens") || fail "POST /api/v1/accounts/alice/tokens"
api_token=$(jq -r .token <<<"$created")
api_id=$(jq -r .id <<<"$created")
skopeo inspect --tls-verify=false --creds "alice:$api_token" "docker://$registry/alice/built:1" >/dev/null || fail "pull with a token made through the API"
say "ok: pull with a token made through the API"
refused "push with the API's pull-only token" skopeo copy -q "${tls[@]}" --dest-creds "alice:$api_token" "oci:$work/img:latest" "docker://$registry/alice/built:4"
code=$(curl -s -o /dev/null -w '%{http_code}' -u alice:alice-password -X DELETE "http://$registry/api/v1/tokens/$api_id")
expect_equal "DELETE /api/v1/tokens/ID" "$code" "204"
sleep 6
refused "pull with a token revoked through the API" skopeo inspect --tls-verify=false --creds "alice:$api_token" "docker://$registry/alice/built:1"

# A robot: NAMESPACE+NAME with a pull-only token, as a Kubernetes pull secret; ctr pulls with it.
berth robot add alice puller >/dev/null || fail "berth robot add"
robot_token=$(berth token create alice+puller --name k8s --scope 'alice/*:pull') || fail "token for the robot"
skopeo inspect --tls-verify=false --creds "alice+puller:$robot_token" "docker://$registry/alice/built:1" >/dev/null || fail "robot pull"
say "ok: robot pulls with its token"
refused "robot push" skopeo copy -q "${tls[@]}" --dest-creds "alice+puller:$robot_token" "oci:$work/img:latest" "docker://$registry/alice/built:3"

start_containerd berth-auth
refused "ctr pull of a private image without credentials" "${c[@]}" images pull --plain-http --snapshotter native "$registry/alice/built:1"
"${c[@]}" images pull --plain-http --snapshotter native --user "alice+puller:$robot_token" "$registry/alice/built:1" >/dev/null || fail "ctr pull --user with the robot's token"
say "ok: ctr pulls a private image with the robot's token"
berth repo visibility alice/app private || fail "berth repo visibility alice/app private"
sleep 6
refused "ctr pull of a private image with a wrong password" "${c[@]}" images pull --plain-http --snapshotter native --user "alice:wrong-password" "$registry/alice/app:from-buildah"
"${c[@]}" images pull --plain-http --snapshotter native --user "alice:alice-password" "$registry/alice/app:from-buildah" >/dev/null || fail "ctr pull --user alice:PASSWORD"
say "ok: ctr pulls a private image with alice's password"

# What happened is in the audit log, and no secret is.
audit=$(berth audit --limit 500)
grep -qP '\talice\t.*\tlogin\talice\tok' <<<"$audit" || fail "no successful sign-in of alice in the audit log"
grep -qP '\tlogin\talice\tFAILED' <<<"$audit" || fail "no failed sign-in in the audit log"
grep -qP '\tpush\talice/app:1\tok' <<<"$audit" || fail "no push in the audit log"
grep -qF "$token" <<<"$audit" && fail "a token secret reached the audit log"
grep -qF "alice-password" "$work/registry.log" && fail "a password reached the server log"
say "passed"
