#!/usr/bin/env bash
# Regenerates the README's screenshots (docs/screenshots/*.png): runs the Playwright test that renders the main pages
# in Debian's chromium at desktop and phone width (tests/Berth.UiTests/ScreenshotTests.cs) with BERTH_SCREENSHOTS
# pointing at docs/screenshots. Needs chromium (apt-get install chromium) and skopeo, as the UI tests do.
# Usage: scripts/screenshots.sh
set -euo pipefail
case "${1:-}" in
-h | --help) sed -n '2,/^[^#]/{/^#/{s/^# \{0,1\}//;p}}' "$0"; exit 0 ;;
"") ;;
*) echo "screenshots.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
esac
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
command -v chromium >/dev/null || { echo "screenshots.sh: chromium is missing (apt-get install chromium)" >&2; exit 1; }
command -v skopeo >/dev/null || { echo "screenshots.sh: skopeo is missing (apt-get install skopeo)" >&2; exit 1; }
mkdir -p "$root/docs/screenshots"
BERTH_SCREENSHOTS="$root/docs/screenshots" dotnet test "$root/tests/Berth.UiTests" -c Release -nologo -v quiet \
	--filter "FullyQualifiedName~ScreenshotTests"
ls -l "$root/docs/screenshots"
