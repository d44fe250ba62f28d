#!/usr/bin/env bash
# The consistency run (test/consistency): two replicas of everything,
# conflicting traffic while replicas and a sidecar are killed and restarted,
# then a checker over the whole history. `npm test` runs it for
# CONSISTENCY_SECONDS (default 100); `npm run test:consistency` for 300 s,
# or as long as CONSISTENCY_SECONDS says.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${DAPR_RUNTIME_PATH:-}" ] || { bash scripts/ensure-deps.sh; DAPR_RUNTIME_PATH=$(bash dapr/install.sh); export DAPR_RUNTIME_PATH; }
export CONSISTENCY_SECONDS=${CONSISTENCY_SECONDS:-100}
npx ava --timeout "$((CONSISTENCY_SECONDS + 600))s" 'test/consistency/consistency.test.ts'
