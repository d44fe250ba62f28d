#!/usr/bin/env bash
# Installs npm dependencies (from the lockfile) when missing or stale, and builds the TypeScript.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[deps] npm ci" >&2
  npm ci --no-audit --no-fund >&2
fi
echo "[deps] building TypeScript" >&2
npx tsc -b >&2
