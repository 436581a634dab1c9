#!/usr/bin/env bash
# The whole test suite: unit tests, the server end to end (blobs on the filesystem and on a throwaway Ceph's S3),
# real clients, crash safety.
# Installs what it needs (Debian packages) when missing; fails, never skips, when a tool is absent.
set -euo pipefail
for arg in "$@"; do
	case "$arg" in
	-h | --help) sed -n '2,/^[^#]/{/^#/{s/^# \{0,1\}//;p}}' "$0"; exit 0 ;;
	*) echo "test.sh: unknown argument '$arg' (it takes none; see --help)" >&2; exit 2 ;;
	esac
done
cd "$(dirname "${BASH_SOURCE[0]}")"
root=$PWD

log() { printf '\n==> %s\n' "$*"; }

apt_updated=0
need() { # need COMMAND PACKAGE
	command -v "$1" >/dev/null 2>&1 && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "test.sh: $1 is missing and installing $2 needs root" >&2
		exit 1
	fi
	if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
	command -v "$1" >/dev/null 2>&1 || { echo "test.sh: $1 still missing after installing $2" >&2; exit 1; }
}

need dotnet dotnet-sdk-10.0
need curl curl
need python3 python3
need jq jq
need skopeo skopeo
need podman podman
need buildah buildah
need ctr containerd
need docker docker.io
need unshare util-linux
need ss iproute2
need docker-registry docker-registry
need wrk wrk
need nginx nginx-light
need psql postgresql-client
need chromium chromium

# The real servers of the scale-out backends, thrown away at exit: the contract suites and the cluster test use them.
. tests/servers/postgres.sh
stop_servers() {
	postgres_stop
	if [ -n "${BERTH_CEPH_DIR:-}" ]; then bash tests/servers/ceph.sh stop "$BERTH_CEPH_DIR"; fi
}
trap stop_servers EXIT
log "a throwaway PostgreSQL (tests/servers/postgres.sh)"
postgres_start
log "a throwaway Ceph with radosgw for S3 (tests/servers/ceph.sh)"
ceph_env=$(bash tests/servers/ceph.sh start)
eval "$ceph_env"

log "build (Release)"
dotnet build Berth.slnx -c Release -warnaserror -nologo -v quiet

log "unit and end-to-end tests (xunit): metadata on SQLite and PostgreSQL, blobs on the filesystem and S3"
dotnet test Berth.slnx -c Release --no-build -nologo -v quiet --logger "console;verbosity=minimal" --filter "FullyQualifiedName!~Berth.UiTests"

log "the web pages in a real browser (Playwright driving Debian's chromium), on their own so the browser's timings are the pages'"
dotnet test tests/Berth.UiTests -c Release --no-build -nologo -v quiet --logger "console;verbosity=minimal"

log "publish the single executable (the real-client and crash tests run what ships)"
export BERTH_CMD
BERTH_CMD=$(scripts/publish.sh | tail -n 1)

log "the binary as a service account (nobody, empty environment) and a private data directory"
bash tests/run/service-account.sh

log "real clients"
bash tests/clients/run-all.sh

log "policies with real clients (immutable tags, quota, pull statistics, retention, scrub)"
bash tests/policy/policy.sh

log "registry:2 drop-in: a store written by distribution imported, then compared image by image with skopeo"
bash tests/import/registry2.sh

log "OCI image layouts: berth export read by skopeo, a skopeo layout imported by berth import oci"
bash tests/import/oci.sh

log "distribution's config.yml served: htpasswd (bcrypt) sign-in, deletes off, ignored keys named"
bash tests/import/distribution-config.sh

log "the container image: built with buildah, pushed and pulled, unpacked with umoci, run from its root filesystem"
bash tests/image/image.sh

log "memory under a storm of requests for missing names"
bash tests/memory/miss-storm.sh

log "crash safety"
bash tests/crash/kill9.sh

log "a cluster: three nodes on PostgreSQL and S3 behind nginx (cross-node checks, node kills, real clients)"
bash tests/cluster/cluster.sh

log "all tests passed"
