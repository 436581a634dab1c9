#!/usr/bin/env bash
# Publishes Berth as one self-contained, trimmed, ReadyToRun executable: artifacts/berth (linux-x64).
# No .NET install is needed where it runs. Usage: scripts/publish.sh [RID]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rid="${1:-linux-x64}"
out="$root/artifacts/publish-$rid"
dotnet publish "$root/src/Berth" -c Release -r "$rid" -o "$out" -nologo -v quiet \
	--self-contained true -p:PublishSingleFile=true -p:PublishTrimmed=true -p:PublishReadyToRun=true \
	-p:IncludeNativeLibrariesForSelfExtract=true
cp "$out/berth" "$root/artifacts/berth"
echo "$root/artifacts/berth"
