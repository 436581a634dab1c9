#!/usr/bin/env bash
# podman: import a root file system, push, remove, pull back; the image ID survives the round trip.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need podman podman
start_registry
p=(podman --root "$work/root" --runroot "$work/runroot" --storage-driver vfs --cgroup-manager cgroupfs --events-backend file)

mkdir -p "$work/rootfs/etc"
echo "podman test $RANDOM$RANDOM" >"$work/rootfs/etc/motd"
tar -C "$work/rootfs" -cf "$work/rootfs.tar" .
"${p[@]}" import -q "$work/rootfs.tar" localhost/podman-test:1 >/dev/null || fail "podman import"
id=$("${p[@]}" image inspect --format '{{.Id}}' localhost/podman-test:1) || fail "podman image inspect"

for format in oci v2s2; do
	"${p[@]}" push -q --tls-verify=false --format "$format" localhost/podman-test:1 "docker://$registry/team/podman:$format" || fail "podman push --format $format"
done
"${p[@]}" rmi -f localhost/podman-test:1 >/dev/null || fail "podman rmi"
if "${p[@]}" image exists localhost/podman-test:1; then fail "the image is still present locally after rmi"; fi

for format in oci v2s2; do
	"${p[@]}" pull -q --tls-verify=false "$registry/team/podman:$format" >/dev/null || fail "podman pull ($format)"
	pulled=$("${p[@]}" image inspect --format '{{.Id}}' "$registry/team/podman:$format")
	expect_equal "$format: pulled image ID equals the pushed one" "$pulled" "$id"
done
# A pull by digest, as a deployment pinned to a digest does.
digest=$("${p[@]}" image inspect --format '{{.Digest}}' "$registry/team/podman:oci")
"${p[@]}" pull -q --tls-verify=false "$registry/team/podman@$digest" >/dev/null || fail "podman pull by digest"
say "ok: pull by digest"
say "passed"
