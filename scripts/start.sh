#!/usr/bin/env bash
# `npm start`: everything needed to run the system locally, then `dapr run -f .`
# Needs Node.js 20+, Go 1.26+ (first run builds the Dapr runtime), and Redis
# and PostgreSQL on localhost (see README).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-deps.sh
runtime=$(bash dapr/install.sh)
# dapr run finds daprd under $DAPR_RUNTIME_PATH/.dapr/bin.
export DAPR_RUNTIME_PATH=$runtime PATH="$runtime/.dapr/bin:$PATH"

# The local JWT signing key, made once; `npm run token` signs with it too.
mkdir -p .tmp
[ -f .tmp/local.env ] || echo "RECIPE_SECRET_JWT_SIGNING_KEY=$(node -e 'console.log(require("crypto").randomBytes(32).toString("hex"))')" > .tmp/local.env
set -a
. .tmp/local.env
set +a

npx tsx scripts/prepare-local.ts

# dapr run always points sidecars at a placement service; run one so they do
# not log a connection error twice a second (the app uses no actors).
placement_pid=
if ! (exec 3<>/dev/tcp/127.0.0.1/50005) 2>/dev/null; then
  placement --port 50005 --healthz-port 58080 --metrics-port 59090 --log-level warn > .tmp/placement.log 2>&1 &
  placement_pid=$!
fi
trap '[ -n "$placement_pid" ] && kill "$placement_pid" 2>/dev/null || true' EXIT

echo "Gateway: http://localhost:8080  (token: npm run token -- <member>)"
dapr run -f .
