#!/usr/bin/env bash
# Runs every real-client script; each starts its own registry (Berth from $BERTH_CMD, else distribution;
# auth.sh needs Berth).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
failed=()
for script in skopeo buildah podman docker-manifest ctr auth; do
	start=$SECONDS
	if bash "$here/$script.sh"; then
		echo "clients: PASS $script ($((SECONDS - start)) s)"
	else
		echo "clients: FAIL $script ($((SECONDS - start)) s)"
		failed+=("$script")
	fi
done
if [ "${#failed[@]}" -gt 0 ]; then
	echo "clients: failed: ${failed[*]}"
	exit 1
fi
echo "clients: all passed"
