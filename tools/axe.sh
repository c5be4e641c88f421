#!/usr/bin/env bash
# Installs axe-core 4 (the accessibility rules tests/test_accessibility.py runs in Chromium)
# from npm into _build/.npm, a project-local folder git ignores; nothing system-wide. Needs
# npm (tools/system-deps.sh --browser installs Debian's). Prints the path of axe.min.js.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=_build/.npm
axe=$prefix/node_modules/axe-core/axe.min.js
if [ ! -f "$axe" ]; then
  command -v npm >/dev/null 2>&1 || { echo "[setup] npm is missing: tools/system-deps.sh --browser" >&2; exit 1; }
  mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-audit --no-fund --silent axe-core@4 >&2
fi
echo "$PWD/$axe"
