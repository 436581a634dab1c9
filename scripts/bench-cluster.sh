#!/usr/bin/env bash
# One node against three behind nginx, on PostgreSQL and Ceph (tests/cluster/lib.sh), with ../shared/bench/run.sh:
# the same workloads first at node 0 directly, then at the balancer (the other nodes idle during the first run). The
# two result files go to $OUT (default ./bench-cluster), each with distribution 2.8.2 measured beside it.
#   usage: scripts/bench-cluster.sh   (BERTH_CMD: the executable, default artifacts/berth, published when missing)
#   WORKLOADS (default upload,chunked,download,small,load,skopeo) and the harness's other settings pass through.
#   RUN=one or RUN=three measures only that side (default both). Ceph's OSD keeps everything in RAM and blocks when
#   full: give each run a fresh cluster with room (BERTH_CEPH_MEMSTORE_GIB=14 and BIG_BLOB_MB=256 fit a whole run).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
say() { echo "bench-cluster: $*" >&2; }
fail() { echo "bench-cluster: FAIL: $*" >&2; exit 1; }
if [ -z "${BERTH_CMD:-}" ]; then
	[ -x "$root/artifacts/berth" ] || "$root/scripts/publish.sh" >/dev/null
	BERTH_CMD=$root/artifacts/berth
fi
out=${OUT:-$PWD/bench-cluster}
mkdir -p "$out"
export WORKLOADS=${WORKLOADS:-upload,chunked,download,small,load,skopeo}
# shellcheck source=../tests/cluster/lib.sh
source "$root/tests/cluster/lib.sh"
cluster_up 3
say "three nodes on PostgreSQL and S3: $nodes; nginx on $lb"
node0=${nodes%%,*}
if [ "${RUN:-both}" != three ]; then
	say "one node: $node0"
	TARGET_URL=$node0 RESULTS="$out/one-node.md" bash "$root/../shared/bench/run.sh" >/dev/null || say "run.sh at one node exited $?"
fi
if [ "${RUN:-both}" != one ]; then
	say "three nodes behind nginx: http://$lb"
	TARGET_URL=http://$lb RESULTS="$out/three-nodes.md" bash "$root/../shared/bench/run.sh" >/dev/null || say "run.sh at the balancer exited $?"
fi
say "results in $out"
