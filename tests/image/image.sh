#!/usr/bin/env bash
# Berth's container image without a container engine: scripts/build-image.sh builds it with buildah; skopeo pushes the
# OCI archive to a running Berth and pulls it back into a layout; umoci unpacks it; the image's configuration is checked
# (user 10001, port 5000, the data volume, the OCI labels); then the image's own entrypoint and command run from the
# unpacked root filesystem (chroot in a new mount namespace with /proc and /dev, as the image's user, with the
# image's environment, only the listen address moved to a free port of 127.0.0.1): GET /v2/ answers 200 and the log says
# it is open and names BERTH_ADMIN_PASSWORD; started again with BERTH_ADMIN_PASSWORD, /v2/ answers 401 and the admin
# gets 200. Prints the image's size.
source "$(dirname "${BASH_SOURCE[0]}")/../clients/lib.sh"
need buildah buildah
need skopeo skopeo
need umoci umoci
need chroot coreutils
[ -n "${BERTH_CMD:-}" ] && [ -f "$BERTH_CMD" ] || fail "set BERTH_CMD to the published berth (scripts/publish.sh; test.sh sets it)"
root_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

archive=$(bash "$root_dir/scripts/build-image.sh" --binary "$BERTH_CMD" --output "$work/berth-image.tar" 2>"$work/build.log") || fail "build-image.sh: $(cat "$work/build.log")"
cat "$work/build.log"
start_registry
skopeo copy -q --dest-tls-verify=false "oci-archive:$archive" "docker://$registry/berth:test" || fail "push the image to Berth"
skopeo copy -q --src-tls-verify=false "docker://$registry/berth:test" "oci:$work/pulled:test" || fail "pull the image from Berth"
umoci unpack --image "$work/pulled:test" "$work/bundle" >"$work/umoci.log" 2>&1 || fail "umoci unpack: $(cat "$work/umoci.log")"
rootfs="$work/bundle/rootfs"

config=$(skopeo inspect --tls-verify=false --config "docker://$registry/berth:test")
expect_equal "image user" "$(jq -r .config.User <<<"$config")" "10001:10001"
expect_equal "exposed port" "$(jq -r '.config.ExposedPorts | keys | join(",")' <<<"$config")" "5000/tcp"
expect_equal "data volume" "$(jq -r '.config.Volumes | keys | join(",")' <<<"$config")" "/var/lib/berth"
expect_equal "title label" "$(jq -r '.config.Labels["org.opencontainers.image.title"]' <<<"$config")" "Berth"
[ "$(jq -r '.config.Labels["org.opencontainers.image.revision"]' <<<"$config")" != null ] || fail "no revision label"
manifest=$(skopeo inspect --tls-verify=false --raw "docker://$registry/berth:test")
expect_equal "manifest annotation" "$(jq -r '.annotations["org.opencontainers.image.title"]' <<<"$manifest")" "Berth"
compressed=$(jq '[.layers[].size] | add' <<<"$manifest")
unpacked=$(du -sb "$rootfs" | cut -f1)
expect_equal "data directory owned by the image's user" "$(stat -c %u:%g "$rootfs/var/lib/berth")" "10001:10001"

# run_image LOG PORT [ENV...]: the image's entrypoint and command in its root filesystem, as its user, with its
# environment (plus ENV); the listen address moved to 127.0.0.1:PORT. Sets run_pid.
mapfile -t image_env < <(jq -r '.config.Env[]' <<<"$config")
mapfile -t image_cmd < <(jq -r '(.config.Entrypoint // []) + (.config.Cmd // []) | .[]' <<<"$config")
unshare=$(command -v unshare) sh=$(command -v sh) mount=$(command -v mount) chroot=$(command -v chroot)
run_image() {
	local log=$1 port=$2
	shift 2
	# The environment is the image's alone (env -i), so the host tools are named by their paths.
	env -i "${image_env[@]}" "BERTH_LISTEN=127.0.0.1:$port" "$@" "$unshare" --mount --propagation private "$sh" -c '
		set -e
		rootfs=$1 mount=$2 chroot=$3
		shift 3
		"$mount" -t proc proc "$rootfs/proc"
		"$mount" --rbind /dev "$rootfs/dev"
		exec "$chroot" --userspec=10001:10001 "$rootfs" "$@"' sh "$rootfs" "$mount" "$chroot" "${image_cmd[@]}" >"$log" 2>&1 &
	run_pid=$!
	cleanup_hooks+=("kill $run_pid 2>/dev/null; wait $run_pid 2>/dev/null")
	for _ in $(seq 300); do
		[[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/" || true)" =~ ^(200|401)$ ]] && return 0
		kill -0 "$run_pid" 2>/dev/null || fail "the image's berth exited: $(tail -n 5 "$log")"
		sleep 0.1
	done
	fail "the image's berth did not answer /v2/: $(tail -n 5 "$log")"
}

port=$(free_port)
run_image "$work/run-open.log" "$port"
expect_equal "unpacked image, open: GET /v2/" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/")" "200"
grep -q 'Authentication is off' "$work/run-open.log" || fail "the log does not say it is open: $(cat "$work/run-open.log")"
grep -q 'BERTH_ADMIN_PASSWORD' "$work/run-open.log" || fail "the log does not say how to turn authentication on"
[ -f "$rootfs/var/lib/berth/berth.db" ] || fail "the data is not in /var/lib/berth"
kill "$run_pid"; wait "$run_pid" 2>/dev/null || true

port=$(free_port)
run_image "$work/run-auth.log" "$port" BERTH_ADMIN_PASSWORD=image-admin-password-1
expect_equal "unpacked image, BERTH_ADMIN_PASSWORD: anonymous GET /v2/" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/")" "401"
expect_equal "unpacked image, BERTH_ADMIN_PASSWORD: admin GET /v2/" "$(curl -s -o /dev/null -w '%{http_code}' -u admin:image-admin-password-1 "http://127.0.0.1:$port/v2/")" "200"
kill "$run_pid"; wait "$run_pid" 2>/dev/null || true

say "image size: $((compressed / 1024 / 1024)) MiB compressed ($compressed bytes in layers), $((unpacked / 1024 / 1024)) MiB unpacked"
say "passed"
