import test from 'ava';
import { sleep } from '../support/processes.js';
import { describe, startTraffic } from '../support/traffic.js';
import { verifyQuiet } from '../support/verify.js';
import { startSystem } from '../support/system.js';

// Redis (pub/sub, outbox, catalogue) and PostgreSQL (write model, read model)
// go down under traffic and come back: nothing acknowledged is lost, refusals
// are clean 503s, and no sidecar needs a restart.

test('when Redis (append-only file, fsync always) is killed and restarted mid-run, then no acknowledged write is lost', async (t) => {
  const system = await startSystem({ redisAppendOnly: true });
  t.teardown(() => system.stop());
  const traffic = await startTraffic(system);
  await sleep(4_000);
  await system.backing.redis.kill();
  await sleep(5_000);
  await system.backing.redis.start();
  await sleep(8_000);
  const record = await traffic.stop();
  t.log(describe(record));
  t.true(record.registered.size > 20);
  t.deepEqual(await verifyQuiet(system, record), []);
});

test('when PostgreSQL is restarted mid-run, then clean 503s during the outage and full recovery without restarting any sidecar', async (t) => {
  const system = await startSystem({ ownPostgres: true });
  t.teardown(() => system.stop());
  const traffic = await startTraffic(system);
  await sleep(4_000);
  const sidecars = Object.values(system.services).map((s) => s.daprd.child.pid);
  await system.backing.postgres!.stop('fast');
  const during = traffic.record.statuses.get('5xx:503') ?? 0;
  await sleep(6_000);
  const refused = (traffic.record.statuses.get('5xx:503') ?? 0) - during;
  await system.backing.postgres!.start();
  await sleep(8_000);
  const record = await traffic.stop();
  t.log(describe(record));
  t.true(refused > 0, 'the outage was answered with 503s');
  t.deepEqual(
    Object.values(system.services).map((s) => s.daprd.child.pid),
    sidecars,
    'the same sidecars throughout',
  );
  t.true(
    Object.values(system.services).every((s) => s.daprd.child.exitCode === null),
    'no sidecar exited',
  );
  t.deepEqual(await verifyQuiet(system, record), []);
});
