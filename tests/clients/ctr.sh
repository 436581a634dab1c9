#!/usr/bin/env bash
# containerd's ctr, as a Kubernetes node pulls: by tag, by digest, one platform of an index; and a push.
# A throwaway containerd daemon runs with its own root, state and socket in the work directory.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need containerd containerd
need ctr containerd
need skopeo skopeo
start_registry

start_containerd berth-test
pull=("${c[@]}" images pull --plain-http --snapshotter native "${ctr_creds[@]}") # ctr_creds: --user in auth mode (lib.sh)

single=$(make_image "$work/single" amd64 2)
skopeo copy -q --dest-tls-verify=false "oci:$work/single:latest" "docker://$registry/team/app:1.0" || fail "push the single-platform image"
mapfile -t index < <(python3 "$clients_dir/make-image.py" --index "$work/multi" amd64 arm64)
skopeo copy -q --all --dest-tls-verify=false "oci:$work/multi:latest" "docker://$registry/team/multi:1.0" || fail "push the index"

if [ "${#ctr_creds[@]}" -gt 0 ]; then # auth mode: without --user, ctr is refused
	refused "auth mode: ctr pull without --user" "${c[@]}" images pull --plain-http --snapshotter native "$registry/team/app:1.0"
fi
"${pull[@]}" "$registry/team/app:1.0" >"$work/pull1.log" 2>&1 || fail "ctr pull by tag: $(tail -n 3 "$work/pull1.log")"
expect_equal "pull by tag" "$("${c[@]}" images ls -q | grep -c "^$registry/team/app:1.0$")" "1"
expect_equal "pulled digest" "$("${c[@]}" images ls | awk -v r="$registry/team/app:1.0" '$1 == r {print $3}')" "$single"

"${c[@]}" images rm "$registry/team/app:1.0" >/dev/null
"${pull[@]}" "$registry/team/app@$single" >"$work/pull2.log" 2>&1 || fail "ctr pull by digest: $(tail -n 3 "$work/pull2.log")"
say "ok: pull by digest"

"${pull[@]}" --platform linux/arm64 "$registry/team/multi:1.0" >"$work/pull3.log" 2>&1 || fail "ctr pull --platform linux/arm64: $(tail -n 3 "$work/pull3.log")"
arm64=$(printf '%s\n' "${index[@]}" | awk '$1 == "arm64" {print $2}')
amd64=$(printf '%s\n' "${index[@]}" | awk '$1 == "amd64" {print $2}')
[ -n "$arm64" ] && [ -n "$amd64" ] || fail "make-image.py --index did not report both platforms"
content=$("${c[@]}" content ls -q)
grep -qx "$arm64" <<<"$content" || fail "the arm64 manifest was not fetched"
if grep -qx "$amd64" <<<"$content"; then fail "the amd64 manifest was fetched although only linux/arm64 was asked for"; fi
say "ok: one platform of an index"

"${c[@]}" images tag "$registry/team/app@$single" "$registry/team/pushed:ctr" >/dev/null || fail "ctr images tag"
"${c[@]}" images push --plain-http "${ctr_creds[@]}" "$registry/team/pushed:ctr" >"$work/push.log" 2>&1 || fail "ctr push: $(tail -n 3 "$work/push.log")"
expect_equal "ctr push: registry serves the same manifest" "$(manifest_digest "$registry/team/pushed:ctr")" "$single"
say "passed"
