#!/usr/bin/env bash
# `npm run test:faults`: only the fault tests (part of `npm test`). Each file
# runs a whole system under background traffic, so they run one at a time.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${DAPR_RUNTIME_PATH:-}" ] || { bash scripts/ensure-deps.sh; DAPR_RUNTIME_PATH=$(bash dapr/install.sh); export DAPR_RUNTIME_PATH; }
npx ava --concurrency 1 --timeout 10m 'test/faults/**/*.test.ts'
