import test from 'ava';
import { consistencyRun } from '../support/consistency.js';
import { useSystem } from '../support/use-system.js';

// The consistency run: two replicas of everything, conflicting concurrent
// traffic while replicas and a sidecar are killed and restarted, then a
// checker over the whole history (see test/support/consistency.ts).
// CONSISTENCY_SECONDS sets its length: npm test runs a short one,
// `npm run test:consistency` a long one.
const seconds = Number(process.env.CONSISTENCY_SECONDS ?? 100);

const system = useSystem(test, {
  replicas: 2,
  // Abandoned attempts settle sooner, so the run goes quiet sooner.
  env: { myrecipe: { OUTBOX_SETTLE_AFTER_SECONDS: '10' }, recipe: { OUTBOX_SETTLE_AFTER_SECONDS: '10' } },
});

test(`${seconds} s of conflicting traffic with replicas killed and restarted: every acknowledged write present, every 503 changed nothing, points conserved exactly, no deleted recipe recommendable, nothing pending`, async (t) => {
  t.timeout((seconds + 420) * 1000);
  const result = await consistencyRun(system(), { durationMs: seconds * 1000, log: (line) => t.log(line) });
  t.log(`\n${result.summary}`);
  const writes = result.history.ops.filter((o) => o.kind !== 'read' && o.outcome === 'ok').length;
  t.true(writes > seconds, `enough acknowledged writes to mean something (${writes})`);
  t.deepEqual([...result.anomalies.keys()], [], result.summary);
});
