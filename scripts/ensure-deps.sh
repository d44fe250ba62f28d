#!/usr/bin/env bash
# Installs npm dependencies (from the lockfile) when missing or stale, builds the TypeScript and the web app (web/dist).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[deps] npm ci" >&2
  npm ci --no-audit --no-fund >&2
fi
echo "[deps] building TypeScript" >&2
npx tsc -b >&2
echo "[deps] building the web app" >&2
npm run -s build -w web >&2
