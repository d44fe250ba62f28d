import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { parse } from 'yaml';
import { readConfig as gatewayConfig } from '../../services/gateway/src/config.js';
import { readConfig as myrecipeConfig } from '../../services/myrecipe/src/config.js';

// The promises the resiliency policies make to members, checked against the
// policies themselves (components/; k8s/ is kept equal by manifests.test.ts).
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const resiliency = (file: string) => parse(readFileSync(path.join(ROOT, 'components', file), 'utf8'));
const seconds = (duration: string) => {
  const match = /^(\d+)(ms|s|m)$/.exec(duration);
  if (!match) throw new Error(`unexpected duration ${duration}`);
  return Number(match[1]) * { ms: 0.001, s: 1, m: 60 }[match[2] as 'ms' | 's' | 'm'];
};

/** The services refuse to start without their API tokens. */
const TOKENS = { DAPR_API_TOKEN: 'd'.repeat(64), APP_API_TOKEN: 'a'.repeat(64) };

test('Retry-After of a delete refused by the open deduction breaker is never shorter than the time the breaker stays open', (t) => {
  const breaker = resiliency('resiliency-deduction.yaml').spec.policies.circuitBreakers.withdrawalBreaker;
  const { DEDUCTION_BREAKER_SECONDS } = myrecipeConfig(TOKENS);
  t.true(
    DEDUCTION_BREAKER_SECONDS >= seconds(breaker.timeout),
    `Retry-After ${DEDUCTION_BREAKER_SECONDS} s, breaker open ${breaker.timeout}`,
  );
});

test("the gateway's calls have no Dapr retry (it retries timeouts whatever `matching` says) and no Dapr breaker (it counts members' 4xx)", (t) => {
  const spec = resiliency('resiliency-gateway.yaml').spec;
  t.deepEqual(Object.keys(spec.policies), ['timeouts']);
  for (const [app, target] of Object.entries(spec.targets.apps as Record<string, Record<string, string>>))
    t.deepEqual(Object.keys(target), ['timeout'], app);
  const config = gatewayConfig(TOKENS);
  t.true(config.REGISTRATION_BREAKER_OPEN_SECONDS > 0, "the registration circuit is the gateway's own");
});

test('a DELETE with the recommendation service hung fits inside the gateway timeout: one withdrawal try, never retried', (t) => {
  const deduction = resiliency('resiliency-deduction.yaml').spec;
  const gateway = resiliency('resiliency-gateway.yaml').spec;
  t.is(deduction.targets.apps.recipe.retry, undefined, 'a retried withdrawal is one more for a hung service to apply later');
  const withdrawal = seconds(deduction.policies.timeouts[deduction.targets.apps.recipe.timeout]);
  const gatewayTimeout = seconds(gateway.policies.timeouts[gateway.targets.apps.myrecipe.timeout]);
  t.true(withdrawal * 2 < gatewayTimeout, `withdrawal timeout ${withdrawal} s, gateway ${gatewayTimeout} s`);
});
