#!/usr/bin/env bash
# `npm test`: unit tests, then integration and end-to-end tests that run the
# real daprd next to each app, with throwaway Redis servers and PostgreSQL
# databases. Needs Node.js 20+, Go 1.26+ (first run builds the Dapr runtime),
# redis-server on the PATH and PostgreSQL on localhost:5432 (or Docker with
# TEST_BACKING=containers).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-deps.sh
DAPR_RUNTIME_PATH=$(bash dapr/install.sh)
export DAPR_RUNTIME_PATH

echo "== type-checking the tests"
npx tsc -p tsconfig.tests.json
npx tsc -p web/tsconfig.json --noEmit
echo "== unit tests"
npx ava 'packages/*/test/**/*.test.ts' 'services/*/test/**/*.test.ts' 'web/test/**/*.test.ts' 'test/consistency/checker.test.ts'
echo "== configuration: kustomize render, Kubernetes and Dapr schemas, cross-file agreement"
npx ava 'test/config/**/*.test.ts'
echo "== Kubernetes: the production overlay applied to a real control plane (kube-apiserver, controllers, scheduler, Dapr operator and injector; kwok nodes)"
npm run test:k8s
echo "== integration tests (real sidecars), end-to-end tests (two replicas of every app)"
npx ava --concurrency "${TEST_CONCURRENCY:-2}" 'test/integration/**/*.test.ts' 'test/e2e/**/*.test.ts'
echo "== browser tests: the web app in Debian's Chromium (playwright-core) against the whole system"
npx ava --timeout 5m 'test/browser/**/*.test.ts'
for broker in rabbitmq nats kafka; do
  echo "== end-to-end tests again with pub/sub on $broker (components/brokers/$broker.yaml)"
  TEST_BROKER=$broker npx ava --concurrency "${TEST_CONCURRENCY:-2}" 'test/e2e/**/*.test.ts'
done
echo "== fault tests: apps, sidecars, Redis and PostgreSQL killed and restarted under traffic; rolling restart"
bash scripts/test-faults.sh
echo "== the local run as a newcomer meets it: npm start, ready, the README journey, Ctrl-C, three times"
npx ava --timeout 15m 'test/local/**/*.test.ts'
echo "== consistency run: ${CONSISTENCY_SECONDS:-100} s of conflicting traffic, replicas killed, history checked"
bash scripts/test-consistency.sh
