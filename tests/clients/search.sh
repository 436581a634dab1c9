#!/usr/bin/env bash
# podman search against Berth with authentication on: the rows it prints for a term (ranked: official, then
# stars; a private repository never shown to anonymous callers nor to another user), --limit, --filter
# is-official, and after podman login (podman sends no credentials to /v1/search: still public only); with credentials
# (as docker search sends them) the owner's private repository is found and another user's is not.
# Official marks through the CLI (berth official on) and the API; a star through the API.
unset BERTH_CLIENT_AUTH # this script signs its own users in
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need skopeo skopeo
need podman podman
[ -n "${BERTH_CMD:-}" ] || fail "search is Berth's: set BERTH_CMD (test.sh does)"
export BERTH_ADMIN_PASSWORD="admin-$RANDOM-password"
start_registry
data="$work/registry-data"
berth() { $BERTH_CMD "$@" --data "$data"; } # shellcheck disable=SC2086
echo "alice-password" | berth user add alice --password-stdin >/dev/null || fail "berth user add alice"
echo "bob-password-1" | berth user add bob --password-stdin >/dev/null || fail "berth user add bob"
sleep 0.2
export REGISTRY_AUTH_FILE="$work/auth.json"
echo "{}" >"$REGISTRY_AUTH_FILE"
tls=(--src-tls-verify=false --dest-tls-verify=false)
api() { # api USER:PASSWORD METHOD PATH [JSON]: the management API, failing unless 2xx
	local out body=()
	[ $# -lt 4 ] || body=(-H 'Content-Type: application/json' --data "$4")
	out=$(curl -sS -o /dev/stderr -w '%{http_code}' -u "$1" -X "$2" "${body[@]}" "http://$registry/api/v1/$3" 2>&1) || fail "$2 $3: curl failed"
	[[ "$out" =~ 2[0-9][0-9]$ ]] || fail "$2 $3: $out"
}

make_image "$work/img" amd64 1 >/dev/null
for repo in alice/webapp alice/webtools alice/secret-web; do
	skopeo copy -q "${tls[@]}" --dest-creds alice:alice-password "oci:$work/img:latest" "docker://$registry/$repo:1" || fail "push $repo"
done
skopeo copy -q "${tls[@]}" --dest-creds "admin:$BERTH_ADMIN_PASSWORD" "oci:$work/img:latest" "docker://$registry/library/web:1" || fail "push library/web"
api alice:alice-password PUT repositories/alice/webapp '{"visibility":"public","description":"The shop web frontend"}'
api alice:alice-password PUT repositories/alice/webtools '{"visibility":"public","description":"Tools for web work"}'
api alice:alice-password PUT repositories/alice/secret-web '{"description":"Private web thing"}'
api "admin:$BERTH_ADMIN_PASSWORD" PUT repositories/library/web '{"visibility":"public","description":"Official web server"}'
api bob:bob-password-1 PUT repositories/alice/webtools/star
berth official on alice/webapp >/dev/null || fail "berth official on alice/webapp"
berth official list | grep -qx $'repository\talice/webapp' || fail "berth official list: $(berth official list)"

p=(podman --root "$work/root" --runroot "$work/runroot" --storage-driver vfs --cgroup-manager cgroupfs --events-backend file)
search() { # search [OPTIONS] TERM: podman search's rows as NAME|STARS|OFFICIAL|DESCRIPTION
	local term=${*: -1} out
	out=$("${p[@]}" search --tls-verify=false --no-trunc --format '{{.Name}}|{{.Stars}}|{{.Official}}|{{.Description}}' "${@:1:$#-1}" "$registry/$term" 2>&1) ||
		fail "podman search $*: $out"
	printf '%s\n' "$out"
}
r=$registry
# Official first (alice/webapp by its mark, library/web by its namespace, by name), then by stars; not the private one.
expect_equal "podman search web (anonymous)" "$(search web)" "$r/alice/webapp|0|[OK]|The shop web frontend
$r/library/web|0|[OK]|Official web server
$r/alice/webtools|1||Tools for web work"
expect_equal "podman search --limit 2" "$(search --limit 2 web)" "$r/alice/webapp|0|[OK]|The shop web frontend
$r/library/web|0|[OK]|Official web server"
expect_equal "podman search --filter is-official=false" "$(search --filter is-official=false web)" "$r/alice/webtools|1||Tools for web work"
expect_equal "podman search by a description word" "$(search frontend)" "$r/alice/webapp|0|[OK]|The shop web frontend"
expect_equal "podman search for a private repository's words (anonymous)" "$(search private)" ""
# The default table podman prints: its header and the names.
table=$("${p[@]}" search --tls-verify=false --no-trunc "$registry/web") || fail "podman search (table)"
grep -q '^NAME  *DESCRIPTION' <<<"$table" || fail "podman search table header: $table"
grep -q "^$r/library/web  *Official web server" <<<"$table" || fail "podman search table row: $table"
say "ok: podman search's own table"

# podman sends no credentials to /v1/search (containers/image asks it with noAuth), also after podman login: a signed-in
# user's podman still finds public repositories only. The registry does honour credentials there (docker search sends
# its stored ones as Basic): alice finds her private repository, bob does not.
"${p[@]}" login --tls-verify=false -u alice -p alice-password "$registry" >/dev/null || fail "podman login alice"
expect_equal "podman search private (podman logged in as alice: sent anonymously)" "$(search private)" ""
expect_equal "podman search web (logged in)" "$(search web)" "$r/alice/webapp|0|[OK]|The shop web frontend
$r/library/web|0|[OK]|Official web server
$r/alice/webtools|1||Tools for web work"
"${p[@]}" logout "$registry" >/dev/null || fail "podman logout"
names() { curl -sS -u "$1" "http://$registry/v1/search?q=$2" | jq -r '[.num_results, (.results[].name)] | join(" ")'; }
expect_equal "/v1/search private with alice's credentials" "$(names alice:alice-password private)" "1 alice/secret-web"
expect_equal "/v1/search private with bob's credentials" "$(names bob:bob-password-1 private)" "0"

# An official mark taken away and a star taken back change the order.
berth official off alice/webapp >/dev/null || fail "berth official off"
api bob:bob-password-1 DELETE repositories/alice/webtools/star
expect_equal "podman search web (unmarked, unstarred)" "$(search web)" "$r/library/web|0|[OK]|Official web server
$r/alice/webapp|0||The shop web frontend
$r/alice/webtools|0||Tools for web work"
say "passed"
