#!/usr/bin/env bash
# skopeo: copy in and out (OCI and Docker schema 2), inspect, list-tags, tags as environments, sync, delete.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need skopeo skopeo
start_registry
tls=(--src-tls-verify=false --dest-tls-verify=false)

pushed=$(make_image "$work/src" amd64 3)
skopeo copy -q "${tls[@]}" "oci:$work/src:latest" "docker://$registry/team/app:1.0" || fail "copy oci -> registry"
expect_equal "pushed manifest keeps its digest" "$(manifest_digest "$registry/team/app:1.0")" "$pushed"

# Promote by copying between tags, as a release pipeline does (dev -> prod), then roll back.
skopeo copy -q "${tls[@]}" "docker://$registry/team/app:1.0" "docker://$registry/team/app:prod" || fail "copy tag -> tag"
expect_equal "prod points at 1.0" "$(manifest_digest "$registry/team/app:prod")" "$pushed"
second=$(make_image "$work/src2" amd64 1)
skopeo copy -q "${tls[@]}" "oci:$work/src2:latest" "docker://$registry/team/app:2.0" || fail "copy second image"
skopeo copy -q "${tls[@]}" "docker://$registry/team/app:2.0" "docker://$registry/team/app:prod" || fail "promote 2.0"
expect_equal "prod moved to 2.0" "$(manifest_digest "$registry/team/app:prod")" "$second"
skopeo copy -q "${tls[@]}" "docker://$registry/team/app:1.0" "docker://$registry/team/app:prod" || fail "roll back"
expect_equal "prod rolled back to 1.0" "$(manifest_digest "$registry/team/app:prod")" "$pushed"

tags=$(skopeo list-tags --tls-verify=false "docker://$registry/team/app" | jq -r '.Tags | sort | join(",")')
expect_equal "list-tags" "$tags" "1.0,2.0,prod"

# Pull back into a fresh layout: the same blobs, byte for byte.
skopeo copy -q "${tls[@]}" "docker://$registry/team/app:1.0" "oci:$work/back:x" || fail "copy registry -> oci"
for blob in "$work"/src/blobs/sha256/*; do
	cmp -s "$blob" "$work/back/blobs/sha256/$(basename "$blob")" || fail "blob $(basename "$blob") differs after the round trip"
done
say "ok: round trip keeps every blob"

# Docker schema 2 conversion: a different manifest, same layers.
skopeo copy -q --format v2s2 "${tls[@]}" "oci:$work/src:latest" "docker://$registry/team/app:v2s2" || fail "copy as v2s2"
media=$(skopeo inspect --tls-verify=false --raw "docker://$registry/team/app:v2s2" | jq -r .mediaType)
expect_equal "v2s2 media type" "$media" "application/vnd.docker.distribution.manifest.v2+json"

# sync a whole repository to a directory.
skopeo sync --src docker --dest dir --src-tls-verify=false "$registry/team/app" "$work/sync" >"$work/sync.log" 2>&1 || fail "sync: $(tail -n 5 "$work/sync.log")"
synced=$(find "$work/sync" -name manifest.json | wc -l)
expect_equal "sync copied every tag" "$synced" "4"

# delete by digest: the tag that pointed at it is gone, the others stay.
v2s2=$(manifest_digest "$registry/team/app:v2s2")
skopeo delete --tls-verify=false "docker://$registry/team/app@$v2s2" || fail "delete"
if skopeo inspect --tls-verify=false "docker://$registry/team/app:v2s2" >/dev/null 2>&1; then fail "v2s2 still resolves after delete"; fi
expect_equal "1.0 survives the delete" "$(manifest_digest "$registry/team/app:1.0")" "$pushed"
say "passed"
