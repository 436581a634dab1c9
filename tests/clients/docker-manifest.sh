#!/usr/bin/env bash
# The docker CLI's client-side manifest commands: a two-platform manifest list created from images in
# another repository (so the push cross-mounts blobs), pushed, and inspected.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need docker docker.io
need skopeo skopeo
start_registry
export DOCKER_CONFIG="$work/docker-config"
mkdir -p "$DOCKER_CONFIG"

declare -A digests
for arch in amd64 arm64; do
	make_image "$work/$arch" "$arch" 1 >/dev/null
	skopeo copy -q --format v2s2 --dest-tls-verify=false "oci:$work/$arch:latest" "docker://$registry/team/base:$arch" || fail "push the $arch image"
	digests[$arch]=$(manifest_digest "$registry/team/base:$arch")
done

list="$registry/team/multi:1.0"
docker manifest create --insecure "$list" "$registry/team/base:amd64" "$registry/team/base:arm64" >/dev/null || fail "docker manifest create"
docker manifest annotate "$list" "$registry/team/base:arm64" --os linux --arch arm64 --variant v8 || fail "docker manifest annotate"
pushed=$(docker manifest push --insecure "$list" | tail -n 1) || fail "docker manifest push"
say "pushed $pushed"

served=$(skopeo inspect --tls-verify=false --raw "docker://$list")
expect_equal "registry serves the pushed list" "sha256:$(printf '%s' "$served" | sha256sum | cut -d' ' -f1)" "$pushed"
expect_equal "list media type" "$(jq -r .mediaType <<<"$served")" "application/vnd.docker.distribution.manifest.list.v2+json"

docker manifest rm "$list" >/dev/null 2>&1 || true
inspected=$(docker manifest inspect --insecure "$list") || fail "docker manifest inspect"
for arch in amd64 arm64; do
	expect_equal "inspect: $arch entry" "$(jq -r --arg a "$arch" '.manifests[] | select(.platform.architecture == $a) | .digest' <<<"$inspected")" "${digests[$arch]}"
done
expect_equal "inspect: arm64 variant" "$(jq -r '.manifests[] | select(.platform.architecture == "arm64") | .platform.variant' <<<"$inspected")" "v8"

# The children were copied into team/multi: each platform pulls from there by digest.
for arch in amd64 arm64; do
	skopeo inspect --tls-verify=false --raw "docker://$registry/team/multi@${digests[$arch]}" >/dev/null \
		|| fail "the $arch manifest is not in team/multi"
done
say "ok: both platforms are in the list's repository"
say "passed"
