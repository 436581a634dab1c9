#!/usr/bin/env bash
# Builds Berth's container image with buildah, FROM scratch: the published self-contained executable and the SQLite
# engine beside it (scripts/publish.sh), the shared libraries they load (found by ldd, plus OpenSSL, which .NET opens
# at run time), the CA bundle (HTTPS to S3 and webhooks), /etc/passwd and /etc/group with the user berth (10001),
# EXPOSE 5000, VOLUME /var/lib/berth, and the org.opencontainers.image.* labels and annotations. It runs as
# `berth serve` on 0.0.0.0:5000 with the data in /var/lib/berth, open (BERTH_OPEN=true) like registry:2 until a user
# exists; the log says so and that BERTH_ADMIN_PASSWORD turns authentication on.
# Writes an OCI archive (default artifacts/berth-image.tar): `skopeo copy oci-archive:FILE docker://...` or
# `podman load -i FILE`. No container engine needed; buildah keeps its storage in a temporary directory. Needs root.
# Usage: scripts/build-image.sh [--binary PATH] [--output FILE]
#   --binary  the published berth with libe_sqlite3.so beside it (default: $BERTH_CMD when it is a file, else
#             artifacts/berth, published first when missing)
#   --output  the OCI archive to write (default artifacts/berth-image.tar)
set -euo pipefail
root_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
binary= output="$root_dir/artifacts/berth-image.tar"
while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help) sed -n '2,/^[^#]/{/^#/{s/^# \{0,1\}//;p}}' "$0"; exit 0 ;;
	--binary) [ $# -ge 2 ] || { echo "build-image.sh: --binary needs a path" >&2; exit 2; }; binary=$2; shift 2 ;;
	--output) [ $# -ge 2 ] || { echo "build-image.sh: --output needs a file" >&2; exit 2; }; output=$2; shift 2 ;;
	*) echo "build-image.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done
fail() { echo "build-image.sh: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "must run as root (buildah storage)"
command -v buildah >/dev/null || fail "buildah is missing (apt-get install buildah)"
command -v ldd >/dev/null || fail "ldd is missing (libc-bin)"

if [ -z "$binary" ]; then
	if [ -n "${BERTH_CMD:-}" ] && [ -f "${BERTH_CMD}" ]; then binary=$BERTH_CMD
	elif [ -x "$root_dir/artifacts/berth" ]; then binary="$root_dir/artifacts/berth"
	else binary=$("$root_dir/scripts/publish.sh" | tail -n 1); fi
fi
[ -x "$binary" ] || fail "$binary is not an executable (scripts/publish.sh writes artifacts/berth)"
sqlite="$(dirname "$binary")/libe_sqlite3.so"
[ -f "$sqlite" ] || fail "libe_sqlite3.so is not beside $binary"

work=$(mktemp -d /tmp/berth-build-image.XXXXXX)
bah=(buildah --root "$work/storage" --runroot "$work/run" --storage-driver vfs)
ctr=
cleanup() {
	[ -n "$ctr" ] && "${bah[@]}" rm "$ctr" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

# The root filesystem, assembled here and added as one layer.
rootfs="$work/rootfs"
mkdir -p "$rootfs"/{usr/local/bin,etc/ssl/certs,var/lib/berth,tmp,proc,sys,dev}
chmod 1777 "$rootfs/tmp"
install -m 755 "$binary" "$rootfs/usr/local/bin/berth"
install -m 644 "$sqlite" "$rootfs/usr/local/bin/libe_sqlite3.so"

# Shared libraries: what ldd names for both files, and OpenSSL (dlopened by .NET's cryptography) with what it needs.
# InvariantGlobalization is on (Directory.Build.props), so no ICU.
libs=()
for f in "$binary" "$sqlite"; do
	while read -r lib; do libs+=("$lib"); done < <(ldd "$f" | grep -o '/[^ ]*\.so[^ ]*' | sort -u)
done
for name in libssl.so.3 libcrypto.so.3; do
	path=$(ldconfig -p | awk -v n="$name" '$1 == n && /x86-64/ { print $NF; exit }')
	[ -n "$path" ] || fail "$name not found (apt-get install libssl3)"
	libs+=("$path")
	while read -r lib; do libs+=("$lib"); done < <(ldd "$path" | grep -o '/[^ ]*\.so[^ ]*' | sort -u)
done
for lib in $(printf '%s\n' "${libs[@]}" | sort -u); do
	# Keep the path the loader looks in, and the real file under it (symbolic links resolved).
	mkdir -p "$rootfs$(dirname "$lib")"
	cp -L "$lib" "$rootfs$lib"
done
cp -L /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\nberth:x:10001:10001:Berth registry:/var/lib/berth:/sbin/nologin\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nberth:x:10001:\n' >"$rootfs/etc/group"
printf 'hosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
chown -R 0:0 "$rootfs"
chown 10001:10001 "$rootfs/var/lib/berth"
chmod 700 "$rootfs/var/lib/berth"

version=$("$binary" --version 2>/dev/null | head -n 1 | cut -d+ -f1)
[ -n "$version" ] || version=0.0.0
revision=$(git -C "$root_dir" rev-parse HEAD 2>/dev/null || echo unknown)
created=$(date -u +%Y-%m-%dT%H:%M:%SZ)
ctr=$("${bah[@]}" from --quiet scratch)
"${bah[@]}" add --quiet "$ctr" "$rootfs/" /
# buildah add makes everything root's; the data directory is the image user's, private.
mnt=$("${bah[@]}" mount "$ctr")
chown 10001:10001 "$mnt/var/lib/berth"
chmod 700 "$mnt/var/lib/berth"
"${bah[@]}" umount "$ctr" >/dev/null
meta=(
	--user 10001:10001 --port 5000/tcp --volume /var/lib/berth --workingdir /var/lib/berth
	--env BERTH_LISTEN=0.0.0.0:5000 --env BERTH_DATA=/var/lib/berth --env BERTH_OPEN=true
	--entrypoint '["/usr/local/bin/berth"]' --cmd serve --stop-signal SIGTERM
	--os linux --arch amd64
)
for kv in "title=Berth" "description=A container image registry (OCI Distribution API) in one binary" "version=$version" \
	"revision=$revision" "created=$created"; do
	meta+=(--label "org.opencontainers.image.$kv" --annotation "org.opencontainers.image.$kv")
done
"${bah[@]}" config "${meta[@]}" "$ctr"
mkdir -p "$(dirname "$output")"
rm -f "$output"
"${bah[@]}" commit --quiet --format oci --disable-compression=false --rm "$ctr" "oci-archive:$output" >/dev/null
ctr=
echo "build-image.sh: $output ($(du -h "$output" | cut -f1) archive; root filesystem $(du -sh "$rootfs" | cut -f1))" >&2
echo "$output"
