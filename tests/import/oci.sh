#!/usr/bin/env bash
# berth export / berth import oci: OCI image layouts as skopeo reads and writes them. An image and an index (with all
# its children) pushed to Berth with skopeo are exported (one tag, then every tag into one layout); skopeo inspects the
# layout and copies it back to Berth under the same digests. A layout written by skopeo (copy --all) is imported
# into another repository and pulls back identical (raw manifests, every file of a copy to dir:); a second import
# adds nothing; exporting a tag that does not exist fails with exit 1.
source "$(dirname "${BASH_SOURCE[0]}")/../clients/lib.sh"
need skopeo skopeo
[ -n "${BERTH_CMD:-}" ] || fail "set BERTH_CMD to the Berth command (test.sh: the published executable)"
[ "${BERTH_CLIENT_AUTH:-}" != 1 ] || fail "runs in open mode only"
start_registry
data="$work/registry-data"
tls=(--src-tls-verify=false --dest-tls-verify=false)
copy() { skopeo copy -q "${tls[@]}" "$@" >"$work/copy.log" 2>&1 || fail "skopeo copy $*: $(cat "$work/copy.log")"; }
raw_digest() { echo "sha256:$(skopeo inspect --tls-verify=false --raw "$1" | sha256sum | cut -d' ' -f1)"; }
# shellcheck disable=SC2086  # BERTH_CMD is a command line
berth() { $BERTH_CMD "$@" --data "$data"; }

image=$(make_image "$work/image" amd64 2); copy "oci:$work/image:latest" "docker://$registry/app:1"
index=$(make_image --index "$work/multi" amd64 arm64 | head -n 1); copy --all "oci:$work/multi:latest" "docker://$registry/app:multi"

# Export one tag: skopeo reads it, and copies it back unchanged.
berth export app:1 "$work/one" >"$work/export.log" || fail "export app:1: $(cat "$work/export.log")"
cat "$work/export.log"
expect_equal "exported layout: skopeo inspect digest" "$(skopeo inspect --format '{{.Digest}}' "oci:$work/one:1")" "$image"
expect_equal "exported layout has one entry" "$(jq -c '[.manifests[].annotations["org.opencontainers.image.ref.name"]]' "$work/one/index.json")" '["1"]'
copy "oci:$work/one:1" "docker://$registry/back:1"
expect_equal "copied back: same digest" "$(raw_digest "docker://$registry/back:1")" "$image"

# Export every tag: the index with all its children.
berth export app "$work/all" >"$work/export.log" || fail "export app: $(cat "$work/export.log")"
expect_equal "every tag exported" "$(jq -c '[.manifests[].annotations["org.opencontainers.image.ref.name"]] | sort' "$work/all/index.json")" '["1","multi"]'
expect_equal "exported index: raw digest" "$(raw_digest "oci:$work/all:multi")" "$index"
copy --all "oci:$work/all:multi" "docker://$registry/back:multi"
expect_equal "index copied back with --all: same digest" "$(raw_digest "docker://$registry/back:multi")" "$index"
# Again into the same layout: nothing rewritten, the entries kept.
berth export app:1 "$work/all" >"$work/export.log" || fail "second export: $(cat "$work/export.log")"
grep -q ': 0 blobs written' "$work/export.log" || fail "a second export rewrote blobs: $(cat "$work/export.log")"
expect_equal "re-export keeps the other tag" "$(jq -c '[.manifests[].annotations["org.opencontainers.image.ref.name"]] | sort' "$work/all/index.json")" '["1","multi"]'

# A layout written by skopeo, imported into another repository.
copy --all "docker://$registry/app:multi" "oci:$work/skopeo:multi"
copy "docker://$registry/app:1" "oci:$work/skopeo:1"
berth import oci "$work/skopeo" imported >"$work/import.log" 2>&1 || fail "import oci: $(cat "$work/import.log")"
cat "$work/import.log"
grep -q '^1 repositories; imported .* 4 manifests, 2 tags; linked 7 blobs stored already$' "$work/import.log" || fail "the import did not report 4 manifests and 2 tags"
# The server sees another process's writes through the event feed within about a second.
for _ in $(seq 50); do skopeo inspect --tls-verify=false --raw "docker://$registry/imported:multi" >/dev/null 2>&1 && break; sleep 0.1; done
for tag in 1 multi; do
	expect_equal "imported:$tag raw digest" "$(raw_digest "docker://$registry/imported:$tag")" "$(raw_digest "docker://$registry/app:$tag")"
	copy --all "docker://$registry/app:$tag" "dir:$work/pull-app-$tag"
	copy --all "docker://$registry/imported:$tag" "dir:$work/pull-imported-$tag"
	diff -r "$work/pull-app-$tag" "$work/pull-imported-$tag" >/dev/null || fail "imported:$tag pulls different files than app:$tag"
	say "ok: imported:$tag pulls identical ($(find "$work/pull-imported-$tag" -type f | wc -l) files)"
done
# Into a registry that has none of it: every blob copied from the layout (and checked), then exported again
# byte for byte as skopeo wrote it.
# shellcheck disable=SC2086
$BERTH_CMD import oci "$work/skopeo" fresh/app --data "$work/fresh" >"$work/fresh.log" 2>&1 || fail "import into a new registry: $(cat "$work/fresh.log")"
grep -q '^1 repositories; imported 7 blobs .*, 4 manifests, 2 tags; linked 0 blobs stored already$' "$work/fresh.log" || fail "the new registry did not get every blob copied: $(cat "$work/fresh.log")"
# shellcheck disable=SC2086
$BERTH_CMD export fresh/app "$work/fresh-export" --data "$work/fresh" >/dev/null || fail "export from the new registry"
diff -r "$work/skopeo/blobs" "$work/fresh-export/blobs" >/dev/null || fail "the blobs exported from the new registry differ from skopeo's layout"
say "ok: a layout imported into a new registry exports the same blobs"
# The same into PostgreSQL (metadata.type postgres, a database of its own on the test's server; blobs on the filesystem).
need psql postgresql-client
if [ -z "${BERTH_TEST_POSTGRES:-}" ]; then
	eval "$(bash "$(dirname "${BASH_SOURCE[0]}")/../servers/postgres.sh" start)"
	cleanup_hooks+=("bash '$(dirname "${BASH_SOURCE[0]}")/../servers/postgres.sh' stop '$BERTH_TEST_POSTGRES_DIR' >/dev/null")
fi
pg_port=$(grep -o 'Port=[0-9]*' <<<"$BERTH_TEST_POSTGRES" | cut -d= -f2)
pg_database="berth_import_$RANDOM$RANDOM"
psql -q -h 127.0.0.1 -p "$pg_port" -U berth -d berth -c "CREATE DATABASE $pg_database" || fail "cannot create a database on $BERTH_TEST_POSTGRES"
cleanup_hooks+=("psql -q -h 127.0.0.1 -p $pg_port -U berth -d berth -c 'DROP DATABASE IF EXISTS $pg_database' >/dev/null 2>&1")
printf 'metadata:\n  type: postgres\n  postgres:\n    connectionString: "%s"\n' "$(sed "s/Database=[^;]*/Database=$pg_database/" <<<"$BERTH_TEST_POSTGRES")" >"$work/postgres.yml"
# shellcheck disable=SC2086
$BERTH_CMD import oci "$work/skopeo" pg/app --config "$work/postgres.yml" --data "$work/pg-blobs" >"$work/pg.log" 2>&1 || fail "import into PostgreSQL: $(cat "$work/pg.log")"
grep -q '^1 repositories; imported 7 blobs .*, 4 manifests, 2 tags; linked 0 blobs stored already$' "$work/pg.log" || fail "import into PostgreSQL: $(cat "$work/pg.log")"
# shellcheck disable=SC2086
$BERTH_CMD import oci "$work/skopeo" pg/app --config "$work/postgres.yml" --data "$work/pg-blobs" >"$work/pg.log" 2>&1 || fail "second import into PostgreSQL: $(cat "$work/pg.log")"
grep -q '^1 repositories; imported 0 blobs .*, 0 manifests, 0 tags; linked 0 blobs stored already$' "$work/pg.log" || fail "second import into PostgreSQL added something: $(cat "$work/pg.log")"
# shellcheck disable=SC2086
$BERTH_CMD export pg/app "$work/pg-export" --config "$work/postgres.yml" --data "$work/pg-blobs" >/dev/null || fail "export from PostgreSQL"
diff -r "$work/skopeo/blobs" "$work/pg-export/blobs" >/dev/null || fail "the blobs exported from PostgreSQL differ from skopeo's layout"
say "ok: the same on PostgreSQL: imported, idempotent, exported byte for byte"

berth import oci "$work/skopeo" imported >"$work/import.log" 2>&1 || fail "second import oci: $(cat "$work/import.log")"
grep -q '^1 repositories; imported 0 blobs .*, 0 manifests, 0 tags; linked 0 blobs stored already$' "$work/import.log" || fail "the second import added something: $(cat "$work/import.log")"
say "ok: a second import adds nothing"

set +e
berth export app:nope "$work/none" >"$work/export.log" 2>&1
rc=$?
set -e
expect_equal "export of a missing tag: exit code" "$rc" "1"
grep -q 'app:nope does not exist' "$work/export.log" || fail "export of a missing tag: $(cat "$work/export.log")"
[ ! -e "$work/none/index.json" ] || fail "a failed export wrote index.json"
say "passed"
