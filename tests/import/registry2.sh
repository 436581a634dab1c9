#!/usr/bin/env bash
# berth import registry2: a store written by the real distribution (docker-registry) through real pushes with skopeo
# (two images, a manifest list copied with --all, a tag deleted through the API, a manifest left untagged by a tag
# moved away, a corrupted blob, a dangling layer link) is imported into Berth's data directory, Berth serves it, and
# every image is compared with skopeo against distribution serving the source: the raw manifest digests, the blobs
# of `skopeo copy` to dir:, the tag lists and the catalog. The damaged blob and the dangling link are reported and
# skipped (exit 1); a second run imports nothing new.
source "$(dirname "${BASH_SOURCE[0]}")/../clients/lib.sh"
need skopeo skopeo
need docker-registry docker-registry
[ -n "${BERTH_CMD:-}" ] || fail "set BERTH_CMD to the Berth command (test.sh: the published executable)"
tls=(--src-tls-verify=false --dest-tls-verify=false)

# The source: distribution on its own data directory ($work/registry-data, what lib.sh gives it).
dist_port=$(free_port)
berth_cmd=$BERTH_CMD
unset BERTH_CMD
launch_registry "$dist_port" || fail "distribution did not start"
BERTH_CMD=$berth_cmd
dist=$registry dist_pid=$registry_pid registry_pid=
cleanup_hooks+=("kill $dist_pid 2>/dev/null; wait $dist_pid 2>/dev/null")
source_root="$work/registry-data"

push() { skopeo copy -q "${tls[@]}" "$@" >"$work/push.log" 2>&1 || fail "skopeo copy $*: $(cat "$work/push.log")"; }
a=$(make_image "$work/a" amd64 2); push "oci:$work/a:latest" "docker://$dist/lib/a:1.0"
# The same blobs in a second repository: imported once, linked into the other.
push "docker://$dist/lib/a:1.0" "docker://$dist/mirror/a:1.0"
b=$(make_image "$work/b" amd64 3); push "oci:$work/b:latest" "docker://$dist/lib/b:1.0"; push "docker://$dist/lib/b:1.0" "docker://$dist/lib/b:latest"
# Docker schema 2 as well as OCI: the same layers under a converted manifest.
push --format v2s2 "oci:$work/b:latest" "docker://$dist/lib/b:v2s2"
index=$(make_image --index "$work/multi" amd64 arm64 | head -n 1); push --all "oci:$work/multi:latest" "docker://$dist/multi:1"
# Untagged: 2.0 moves from c to d; c stays a revision of lib/a.
c=$(make_image "$work/c" amd64 1); push "oci:$work/c:latest" "docker://$dist/lib/a:2.0"
d=$(make_image "$work/d" amd64 1); push "oci:$work/d:latest" "docker://$dist/lib/a:2.0"
# Deleted: the manifest tagged old is deleted through the API (by digest, which takes its tag with it).
e=$(make_image "$work/e" amd64 1); push "oci:$work/e:latest" "docker://$dist/lib/a:old"
skopeo delete --tls-verify=false "docker://$dist/lib/a@$e" || fail "delete lib/a@$e from distribution"
# Damaged: one layer of lib/broken:1 changed on disk after the push.
f=$(make_image "$work/f" amd64 1); push "oci:$work/f:latest" "docker://$dist/lib/broken:1"
damaged=$(jq -r '.layers[0].digest' "$work/f/blobs/sha256/${f#sha256:}")
damaged_file="$source_root/docker/registry/v2/blobs/sha256/${damaged:7:2}/${damaged#sha256:}/data"
[ -f "$damaged_file" ] || fail "distribution's blob file $damaged_file is missing (layout changed?)"
printf 'X' | dd of="$damaged_file" bs=1 seek=100 conv=notrunc status=none
# Dangling: a layer link of lib/a to a blob the store does not hold.
dangling=sha256:$(printf 'no such blob' | sha256sum | cut -d' ' -f1)
mkdir -p "$source_root/docker/registry/v2/repositories/lib/a/_layers/sha256/${dangling#sha256:}"
printf '%s' "$dangling" >"$source_root/docker/registry/v2/repositories/lib/a/_layers/sha256/${dangling#sha256:}/link"
say "source written by distribution: lib/a (1.0, 2.0, untagged $c, deleted $e), mirror/a:1.0 (lib/a:1.0's blobs), lib/b (1.0, latest, v2s2), multi:1 (index), lib/broken:1"

# The import. Exit 1: something was skipped, and the report says what.
data="$work/berth"
set +e
# shellcheck disable=SC2086  # BERTH_CMD is a command line
$BERTH_CMD import registry2 "$source_root" --data "$data" >"$work/import.log" 2>&1
rc=$?
set -e
cat "$work/import.log"
expect_equal "import exit code (something skipped)" "$rc" "1"
grep -q "skipped lib/broken: blob $damaged: damaged" "$work/import.log" || fail "the damaged blob is not reported"
grep -q "skipped lib/broken: manifest $f" "$work/import.log" || fail "the manifest needing the damaged blob is not reported"
grep -q "skipped lib/broken: tag 1" "$work/import.log" || fail "the tag of the skipped manifest is not reported"
grep -q "skipped lib/a: blob $dangling: dangling" "$work/import.log" || fail "the dangling link is not reported"
expect_equal "skipped lines" "$(grep -c '^skipped ' "$work/import.log")" "4"
grep -q '^5 repositories; imported 18 blobs .*, 9 manifests, 7 tags; linked 3 blobs stored already$' "$work/import.log" ||
	fail "the report does not count 18 blobs copied and 3 linked, 9 manifests, 7 tags"

# Berth serving the imported data directory.
berth_port=$(free_port)
# shellcheck disable=SC2086
env -u BERTH_ADMIN_PASSWORD $BERTH_CMD serve --listen "127.0.0.1:$berth_port" --data "$data" >"$work/berth.log" 2>&1 &
berth_pid=$!
cleanup_hooks+=("kill $berth_pid 2>/dev/null; wait $berth_pid 2>/dev/null")
berth=127.0.0.1:$berth_port
for _ in $(seq 300); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' "http://$berth/v2/" || true)" = 200 ] && break
	kill -0 "$berth_pid" 2>/dev/null || fail "berth serve exited: $(tail -n 5 "$work/berth.log")"
	sleep 0.1
done

mkdir -p "$work/from-dist" "$work/from-berth"
raw_digest() { skopeo inspect --tls-verify=false --raw "docker://$1" | sha256sum | cut -d' ' -f1; }
# same REF [--all]: the raw manifest and every file of a copy to dir: are identical from both registries.
same() {
	local ref=$1 name
	shift
	expect_equal "$ref: raw manifest" "sha256:$(raw_digest "$berth/$ref")" "sha256:$(raw_digest "$dist/$ref")"
	name=$(printf '%s' "$ref" | tr '/:@' '___')
	skopeo copy -q --src-tls-verify=false "$@" "docker://$dist/$ref" "dir:$work/from-dist/$name" || fail "copy $ref from distribution"
	skopeo copy -q --src-tls-verify=false "$@" "docker://$berth/$ref" "dir:$work/from-berth/$name" || fail "copy $ref from berth"
	diff -r "$work/from-dist/$name" "$work/from-berth/$name" >/dev/null || fail "$ref: the copies differ"
	say "ok: $ref: $(find "$work/from-berth/$name" -type f | wc -l) files identical"
}
same lib/a:1.0
same mirror/a:1.0
same lib/a:2.0
same "lib/a@$c"
same lib/b:1.0
same lib/b:latest
same lib/b:v2s2
same multi:1 --all
expect_equal "multi:1 is the pushed index" "sha256:$(raw_digest "$berth/multi:1")" "$index"
for repo in lib/a lib/b multi mirror/a; do
	expect_equal "$repo: tags" "$(skopeo list-tags --tls-verify=false "docker://$berth/$repo" | jq -c '.Tags | sort')" \
		"$(skopeo list-tags --tls-verify=false "docker://$dist/$repo" | jq -c '.Tags | sort')"
done
expect_equal "catalog" "$(curl -sf "http://$berth/v2/_catalog" | jq -c '.repositories | sort')" "$(curl -sf "http://$dist/v2/_catalog" | jq -c '.repositories | sort')"
expect_equal "the deleted manifest is absent" "$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$berth/v2/lib/a/manifests/$e")" "404"
expect_equal "the damaged image's tag is absent" "$(curl -s -o /dev/null -w '%{http_code}' "http://$berth/v2/lib/broken/manifests/1")" "404"
expect_equal "the damaged blob is absent" "$(curl -s -o /dev/null -w '%{http_code}' "http://$berth/v2/lib/broken/blobs/$damaged")" "404"
kill "$berth_pid"; wait "$berth_pid" 2>/dev/null || true

# Again: nothing new, the same two problems.
set +e
# shellcheck disable=SC2086
$BERTH_CMD import registry2 "$source_root" --data "$data" >"$work/import2.log" 2>&1
rc=$?
set -e
cat "$work/import2.log"
expect_equal "second import exit code" "$rc" "1"
grep -q '^5 repositories; imported 0 blobs (0 MiB, each checked against its digest), 0 manifests, 0 tags; linked 0 blobs stored already$' "$work/import2.log" || fail "the second run imported something"
say "passed"
