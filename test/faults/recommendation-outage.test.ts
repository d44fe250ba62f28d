import test from 'ava';
import { sleep } from '../support/processes.js';
import { describe, startTraffic } from '../support/traffic.js';
import { verifyQuiet } from '../support/verify.js';
import { useSystem } from '../support/use-system.js';

// Fault isolation: registering never depends on the recommendation service
// (every replica of it down at once).
const system = useSystem(test);

async function outage(
  t: { log: (...v: unknown[]) => void; true: (v: boolean, m?: string) => void; deepEqual: (a: unknown, b: unknown, m?: string) => void },
  fail: () => Promise<void>,
  heal: () => Promise<void>,
) {
  const traffic = await startTraffic(system());
  await sleep(3_000);
  const before = traffic.record.registered.size;
  await fail();
  await sleep(6_000);
  const during = traffic.record.registered.size - before;
  await heal();
  await sleep(4_000);
  const record = await traffic.stop();
  t.log(describe(record));
  t.true(during > 5, `registrations acknowledged during the outage: ${during}`);
  t.deepEqual([...record.refusedRegistrations, ...record.maybeRegistered], [], 'no registration failed');
  t.deepEqual(await verifyQuiet(system(), record), []);
}

test.serial(
  'when the recommendation app is killed (SIGKILL) and restarted, then registrations keep succeeding and every Registered is processed after it is back',
  async (t) => {
    await outage(
      t,
      () => system().all('recipe', (r) => r.stopApp('SIGKILL')),
      () => system().all('recipe', (r) => r.startApp()),
    );
  },
);

test.serial('when the recommendation sidecar is killed (SIGKILL) and restarted, then the same holds', async (t) => {
  await outage(
    t,
    () => system().all('recipe', (r) => r.stopSidecar('SIGKILL')),
    () => system().all('recipe', (r) => r.startSidecar()),
  );
});
