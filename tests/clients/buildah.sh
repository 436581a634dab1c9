#!/usr/bin/env bash
# buildah: an image from scratch, committed and pushed (OCI and Docker format), pulled back with the same ID.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need buildah buildah
need skopeo skopeo
start_registry
b=(buildah --root "$work/root" --runroot "$work/runroot" --storage-driver vfs)

echo "built by buildah $RANDOM$RANDOM" >"$work/hello.txt"
container=$("${b[@]}" from scratch) || fail "buildah from scratch"
"${b[@]}" copy "$container" "$work/hello.txt" /hello.txt >/dev/null || fail "buildah copy"
"${b[@]}" config --arch amd64 --os linux --cmd /hello --label org.example.test=buildah "$container" || fail "buildah config"
"${b[@]}" commit -q "$container" localhost/buildah-test:1 >/dev/null || fail "buildah commit"
image_id() { "${b[@]}" inspect --type image --format '{{.FromImageID}}' "$1"; }
id=$(image_id localhost/buildah-test:1)
[ -n "$id" ] || fail "no image ID after commit"

for format in oci docker; do
	ref="$registry/team/buildah:$format"
	"${b[@]}" push -q --tls-verify=false --format "$format" --digestfile "$work/digest-$format" localhost/buildah-test:1 "docker://$ref" || fail "buildah push --format $format"
	expect_equal "$format push: registry serves the digest buildah pushed" "$(manifest_digest "$ref")" "$(cat "$work/digest-$format")"
done
media=$(skopeo inspect --tls-verify=false --raw "docker://$registry/team/buildah:docker" | jq -r .mediaType)
expect_equal "docker format is schema 2" "$media" "application/vnd.docker.distribution.manifest.v2+json"

"${b[@]}" rmi -f localhost/buildah-test:1 >/dev/null || fail "buildah rmi"
for format in oci docker; do
	"${b[@]}" pull -q --tls-verify=false "$registry/team/buildah:$format" >/dev/null || fail "buildah pull ($format)"
	pulled=$(image_id "$registry/team/buildah:$format")
	expect_equal "$format pull: image ID matches the committed image" "$pulled" "$id"
done
say "passed"
