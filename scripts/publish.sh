#!/usr/bin/env bash
# Publishes Berth as one self-contained, trimmed, ReadyToRun executable (linux-x64), plus the SQLite engine
# beside it: artifacts/berth and artifacts/libe_sqlite3.so. No .NET install is needed where it runs.
# Native libraries are not bundled into the executable: a bundled one is extracted to $HOME/.net at every
# start, which a service account without a writable home (systemd DynamicUser=, nobody) does not have.
# Usage: scripts/publish.sh [RID]
set -euo pipefail
case "${1:-}" in
-h | --help) sed -n '2,/^[^#]/{/^#/{s/^# \{0,1\}//;p}}' "$0"; exit 0 ;;
-*) echo "publish.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
esac
[ $# -le 1 ] || { echo "publish.sh: too many arguments (usage: scripts/publish.sh [RID])" >&2; exit 2; }
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rid="${1:-linux-x64}"
out="$root/artifacts/publish-$rid"
rm -rf "$out"
dotnet publish "$root/src/Berth" -c Release -r "$rid" -o "$out" -nologo -v quiet \
	--self-contained true -p:PublishSingleFile=true -p:PublishTrimmed=true -p:PublishReadyToRun=true \
	-p:IncludeNativeLibrariesForSelfExtract=false -p:IncludeAllContentForSelfExtract=false -p:DebugType=none
cp "$out/berth" "$out/libe_sqlite3.so" "$root/artifacts/"
echo "$root/artifacts/berth"
