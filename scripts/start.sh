#!/usr/bin/env bash
# `npm start`: everything needed to run the system locally, then
# scripts/local/run.ts, which starts Sentry, every app of dapr.yaml with its
# sidecar, and says when it is ready. Needs Node.js 20+, Go 1.26+ (the first
# run builds the Dapr runtime), and Redis and PostgreSQL on localhost (see
# README).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-deps.sh
DAPR_RUNTIME_PATH=$(bash dapr/install.sh)
export DAPR_RUNTIME_PATH
# exec: the runner is the process a Ctrl-C or a SIGTERM reaches.
exec node --import tsx scripts/local/run.ts
