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

# Local secrets, made once: the JWT signing key (`npm run token` signs with
# it), the token apps send their sidecar and the token sidecars send their app.
mkdir -p .tmp
random() { node -e 'console.log(require("crypto").randomBytes(32).toString("hex"))'; }
touch .tmp/local.env
for name in RECIPE_SECRET_JWT_SIGNING_KEY DAPR_API_TOKEN APP_API_TOKEN; do
  grep -q "^$name=" .tmp/local.env || echo "$name=$(random)" >> .tmp/local.env
done
set -a
. .tmp/local.env
set +a

npx tsx scripts/prepare-local.ts

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pids=()
trap 'for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done' EXIT

# Sentry issues the sidecars' mTLS certificates. dapr run points sidecars at
# localhost:50001 when the configuration enables mTLS.
mkdir -p .tmp/sentry/credentials
touch .tmp/sentry/config.yaml
if ! listening 50001; then
  sentry --config .tmp/sentry/config.yaml --issuer-credentials .tmp/sentry/credentials \
    --port 50001 --healthz-port 58081 --metrics-port 59091 --log-level warn > .tmp/sentry.log 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do [ -s .tmp/sentry/credentials/ca.crt ] && listening 50001 && break; sleep 0.2; done
fi
export DAPR_TRUST_ANCHORS="$(cat .tmp/sentry/credentials/ca.crt)" NAMESPACE=default

# dapr run always points sidecars at a placement service; run one so they do
# not log a connection error twice a second (the app uses no actors).
if ! listening 50005; then
  placement --port 50005 --healthz-port 58080 --metrics-port 59090 --log-level warn > .tmp/placement.log 2>&1 &
  pids+=($!)
fi

echo "Gateway: http://localhost:8080  (token: npm run token -- <member>)"
dapr run -f .
