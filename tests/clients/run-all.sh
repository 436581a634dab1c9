#!/usr/bin/env bash
# Runs every real-client script; each starts its own registry (Berth from $BERTH_CMD, else distribution).
# Two passes: the registry open (anonymous push and pull), then the same scripts again in auth mode
# (BERTH_CLIENT_AUTH=1: authentication on, every client signed in as admin; see lib.sh). auth.sh, with its
# own users, tokens and robots, runs once. Authentication is Berth's: without BERTH_CMD, auth mode and
# auth.sh fail (they are never skipped).
set -uo pipefail
for arg in "$@"; do
	case "$arg" in
	-h | --help) sed -n '2,/^[^#]/{/^#/{s/^# \{0,1\}//;p}}' "$0"; exit 0 ;;
	*) echo "run-all.sh: unknown argument '$arg' (it takes none; see --help)" >&2; exit 2 ;;
	esac
done
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
clients=(skopeo buildah podman docker-manifest ctr)
failed=()
run() { # run LABEL SCRIPT ENV...
	local label=$1 script=$2 start=$SECONDS
	shift 2
	if env -u BERTH_CLIENT_AUTH -u BERTH_ADMIN_PASSWORD "$@" bash "$here/$script.sh"; then
		echo "clients: PASS $label ($((SECONDS - start)) s)"
	else
		echo "clients: FAIL $label ($((SECONDS - start)) s)"
		failed+=("$label")
	fi
}
for script in "${clients[@]}"; do run "$script" "$script"; done
run auth auth
for script in "${clients[@]}"; do run "$script (auth mode)" "$script" BERTH_CLIENT_AUTH=1; done
if [ "${#failed[@]}" -gt 0 ]; then
	echo "clients: failed: ${failed[*]}"
	exit 1
fi
echo "clients: all passed"
