#!/usr/bin/env bash
# Runs every real-client script; each starts its own registry (Berth from $BERTH_CMD, else distribution).
# Two passes: the registry open (anonymous push and pull), then the same scripts again in auth mode
# (BERTH_CLIENT_AUTH=1: authentication on, every client refused without its login, then signed in as admin;
# see lib.sh). auth.sh (users, tokens, robots, public images), search.sh (podman search) and login-sequence.sh (docker login, then the
# other clients on the same machine reading its config.json) run once. Authentication is Berth's: without
# BERTH_CMD, auth mode, auth.sh and login-sequence.sh fail (they are never skipped).
# Every registry listens on a free port picked at run time: two runs on one machine do not collide.
#   usage: bash tests/clients/run-all.sh     (BERTH_CMD=... for Berth; see bash tests/clients/lib.sh --help)
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
run search search
run login-sequence login-sequence
for script in "${clients[@]}"; do run "$script (auth mode)" "$script" BERTH_CLIENT_AUTH=1; done
if [ "${#failed[@]}" -gt 0 ]; then
	echo "clients: failed ($SECONDS s): ${failed[*]}"
	exit 1
fi
echo "clients: all passed ($SECONDS s)"
