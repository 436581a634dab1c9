#!/usr/bin/env bash
# Policies and integrity with real clients: immutable tags refused with a message that skopeo, podman and the
# docker CLI (docker manifest push) show to the user (moving and deleting a tag; re-pushing the same digest and
# the excluded "latest" still work); a namespace quota refusing a skopeo push with a message naming quota and
# usage, the quota.exceeded event, and the push going through once the quota is raised; pull statistics
# written in a batch (tags.pull_count, manifest.pull events); retention keeping the last N tags (dry run, then
# for real); scrub finding a blob corrupted on disk, which is then refused to a pull instead of served.
# Policies are set with the CLI verbs on the data directory of the running server (open mode).
source "$(dirname "${BASH_SOURCE[0]}")/../clients/lib.sh"
need skopeo skopeo
need podman podman
need docker docker.io
need sqlite3 sqlite3
[ -n "${BERTH_CMD:-}" ] || fail "set BERTH_CMD to the Berth executable (scripts/publish.sh prints it)"
start_registry
data="$work/registry-data"
tls=(--src-tls-verify=false --dest-tls-verify=false)
berth() { $BERTH_CMD "$@" --data "$data"; }
sql() { sqlite3 -cmd '.timeout 5000' "$data/berth.db" "$1"; }

# expect_refusal WHAT LOG TEXT: the client failed (checked by the caller) and showed TEXT on its output.
expect_refusal() {
	grep -qF -- "$3" "$2" || fail "$1: the client did not show \"$3\"; it said: $(tail -n 3 "$2")"
	say "ok: $1 shows: $(grep -oF -- "$3" "$2" | head -n 1)"
}

# --- immutable tags: namespace rule v*
first=$(make_image "$work/a" amd64 1)
second=$(make_image "$work/b" amd64 1)
skopeo copy -q "${tls[@]}" "oci:$work/a:latest" "docker://$registry/team/app:v1" || fail "push v1"
skopeo copy -q --format v2s2 "${tls[@]}" "oci:$work/b:latest" "docker://$registry/team/app:b" || fail "push b"
berth policy set team/ immutable-tags '{"patterns":["v*"]}' >/dev/null || fail "policy set"
message="tag v1 of team/app is immutable"
skopeo copy -q "${tls[@]}" "oci:$work/a:latest" "docker://$registry/team/app:v1" || fail "re-pushing the same digest to an immutable tag was refused"
say "ok: the same digest re-pushed to an immutable tag"
if skopeo copy -q "${tls[@]}" "oci:$work/b:latest" "docker://$registry/team/app:v1" >"$work/skopeo.log" 2>&1; then fail "skopeo moved an immutable tag"; fi
expect_refusal "skopeo copy over v1" "$work/skopeo.log" "$message"
if skopeo delete --tls-verify=false "docker://$registry/team/app:v1" >"$work/delete.log" 2>&1; then fail "skopeo deleted an immutable tag"; fi
expect_refusal "skopeo delete of v1" "$work/delete.log" "$message"
expect_equal "v1 still points at the first image" "$(manifest_digest "$registry/team/app:v1")" "$first"

podman pull -q --tls-verify=false "$registry/team/app:b" >/dev/null || fail "podman pull"
if podman push --tls-verify=false "$registry/team/app:b" "docker://$registry/team/app:v1" >"$work/podman.log" 2>&1; then fail "podman moved an immutable tag"; fi
expect_refusal "podman push over v1" "$work/podman.log" "$message"

export DOCKER_CONFIG="$work/docker-config"
mkdir -p "$DOCKER_CONFIG"
docker manifest create --insecure "$registry/team/app:v1" "$registry/team/app:b" >/dev/null || fail "docker manifest create"
if docker manifest push --insecure "$registry/team/app:v1" >"$work/docker.log" 2>&1; then fail "docker manifest push moved an immutable tag"; fi
expect_refusal "docker manifest push over v1" "$work/docker.log" "$message"
expect_equal "v1 unchanged after every client" "$(manifest_digest "$registry/team/app:v1")" "$first"

# Repository rule: everything except latest.
berth policy set team/svc immutable-tags '{"patterns":["*"],"except":["latest"]}' >/dev/null || fail "policy set team/svc"
skopeo copy -q "${tls[@]}" "oci:$work/a:latest" "docker://$registry/team/svc:latest" || fail "push latest"
skopeo copy -q "${tls[@]}" "oci:$work/b:latest" "docker://$registry/team/svc:latest" || fail "latest is excluded but was refused"
expect_equal "latest moved" "$(skopeo inspect --tls-verify=false --raw "docker://$registry/team/svc:latest" | sha256sum | cut -d' ' -f1)" "${second#sha256:}"
skopeo copy -q "${tls[@]}" "oci:$work/a:latest" "docker://$registry/team/svc:1.0" || fail "push 1.0"
if skopeo copy -q "${tls[@]}" "oci:$work/b:latest" "docker://$registry/team/svc:1.0" >"$work/svc.log" 2>&1; then fail "1.0 moved"; fi
expect_refusal "skopeo over team/svc:1.0" "$work/svc.log" "tag 1.0 of team/svc is immutable (pattern"

# --- quota on namespace "small": 1000 bytes, less than one layer
berth policy set small/ quota '{"bytes":1000}' >/dev/null || fail "quota set"
if skopeo copy -q "${tls[@]}" "oci:$work/a:latest" "docker://$registry/small/app:1" >"$work/quota.log" 2>&1; then fail "a push over quota went through"; fi
expect_refusal "skopeo over quota" "$work/quota.log" "quota exceeded: namespace small has a quota of 1000 bytes and uses 0 bytes"
expect_equal "a quota.exceeded event" "$(sql "SELECT count(*) > 0 FROM events WHERE kind = 'quota.exceeded' AND repository = 'small/app'")" "1"
berth policy set small/ quota '{"bytes":1000000}' >/dev/null || fail "quota raise"
sleep 6 # the server caches a namespace's quota for 5 s
skopeo copy -q "${tls[@]}" "oci:$work/a:latest" "docker://$registry/small/app:1" || fail "push after the quota was raised"
usage=$(berth usage small | cut -f2)
size=$(du -cb "$work"/a/blobs/sha256/* | tail -n 1 | cut -f1)
expect_equal "usage counts the image's blobs and manifest once" "$usage" "$size"
skopeo copy -q "${tls[@]}" "oci:$work/a:latest" "docker://$registry/small/copy:1" || fail "push to a second repository"
expect_equal "the same blobs in a second repository are not counted again" "$(berth usage small | cut -f2)" "$size"

# --- pull statistics: three pulls of v1 by tag, written by the next flush (every 5 s)
sleep 6 # what earlier commands pulled is flushed
before=$(sql "SELECT pull_count FROM tags WHERE repository = 'team/app' AND name = 'v1'")
last_event=$(sql "SELECT coalesce(max(id), 0) FROM events")
for _ in 1 2 3; do skopeo inspect --tls-verify=false --raw "docker://$registry/team/app:v1" >/dev/null || fail "pull v1"; done
sleep 6
expect_equal "tags.pull_count of v1 grew by 3" "$(sql "SELECT pull_count - $before FROM tags WHERE repository = 'team/app' AND name = 'v1'")" "3"
expect_equal "manifest.pull events count the 3 pulls" "$(sql "SELECT sum(detail) FROM events WHERE id > $last_event AND kind = 'manifest.pull' AND repository = 'team/app' AND tag = 'v1' AND digest = '$first'")" "3"
expect_equal "last_pulled is set" "$(sql "SELECT last_pulled > 0 FROM tags WHERE repository = 'team/app' AND name = 'v1'")" "1"

# --- retention: keep the last 2 of 4 tags
for t in r1 r2 r3 r4; do
	skopeo copy -q "${tls[@]}" "oci:$work/a:latest" "docker://$registry/team/ret:$t" || fail "push $t"
	sleep 0.05
done
berth policy set team/ret retention '{"keepLast":2}' >/dev/null || fail "retention set"
berth retention team/ret --dry-run >"$work/dry.log" 2>/dev/null || fail "retention dry run"
expect_equal "dry run lists the two oldest" "$(cut -f2 "$work/dry.log" | sort | tr '\n' ' ')" "team/ret:r1 team/ret:r2 "
expect_equal "dry run removed nothing" "$(skopeo list-tags --tls-verify=false "docker://$registry/team/ret" | jq -r '.Tags | sort | join(",")')" "r1,r2,r3,r4"
berth retention team/ret >/dev/null 2>&1 || fail "retention"
expect_equal "retention kept the last two" "$(skopeo list-tags --tls-verify=false "docker://$registry/team/ret" | jq -r '.Tags | sort | join(",")')" "r3,r4"

# --- scrub: corrupt the layer of team/app:v1 on disk
layer=$(jq -r '.layers[0].digest' "$work/a/blobs/sha256/${first#sha256:}")
file="$data/blobs/sha256/${layer:7:2}/${layer#sha256:}"
[ -f "$file" ] || fail "no blob file at $file"
printf 'XXXX' | dd of="$file" bs=1 seek=100 conv=notrunc status=none
if berth scrub >"$work/scrub.log" 2>&1; then fail "scrub found nothing"; fi
expect_refusal "scrub reports the layer" "$work/scrub.log" "damaged	$layer"
# The server reads the quarantine again within 10 s of a read; until then the damaged bytes would still go out
# (and a client would refuse them for their digest). Then the blob is refused, with the reason in the body.
deadline=$((SECONDS + 25))
until curl -s "http://$registry/v2/team/app/blobs/$layer" >"$work/blob.json" && grep -q "is quarantined" "$work/blob.json"; do
	[ "$SECONDS" -lt "$deadline" ] || fail "the damaged layer is still served 25 s after the scrub"
	sleep 1
done
expect_equal "the quarantined blob's answer" "$(jq -r '.errors[0].code' "$work/blob.json")" "BLOB_UNKNOWN"
if skopeo copy -q "${tls[@]}" "docker://$registry/team/app:v1" "oci:$work/pulled:x" >"$work/pull.log" 2>&1; then fail "the damaged image pulled"; fi
# skopeo prints only the status of a failed blob GET, not the body.
expect_refusal "a pull of the damaged image" "$work/pull.log" "404 (Not Found)"
say "passed"
