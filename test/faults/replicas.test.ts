import test from 'ava';
import { startBalancer, type Balancer } from '../support/balancer.js';
import { consistencyRun, runSpread, type Step } from '../support/consistency.js';
import { sleep } from '../support/processes.js';
import { APP_IDS, type AppId } from '../support/system.js';
import { useSystem } from '../support/use-system.js';

// The original system's zero-downtime demonstration, with two replicas of
// every service behind a load balancer: replicas replaced one at a time
// while members read and write, and replicas killed outright.
let balancer: Balancer;

const system = useSystem(test, {
  replicas: 2,
  env: { myrecipe: { OUTBOX_SETTLE_AFTER_SECONDS: '10' }, recipe: { OUTBOX_SETTLE_AFTER_SECONDS: '10' } },
  beforeStop: () => balancer?.close(),
});

test.before(async () => {
  balancer = await startBalancer(system().gatewayUrls);
});

const serverFailures = (ops: { status?: number; outcome: string }[]) =>
  ops.filter((o) => o.outcome === 'unknown' || o.outcome === 'refused' || (o.status ?? 0) >= 500);

test.serial(
  'a rolling restart of every service (start the new replica, wait until ready, SIGTERM the old one) fails no request',
  async (t) => {
    t.timeout(6 * 60_000);
    const steps: Step[] = [];
    for (const appId of ['recipe', 'myrecipe', 'mypage', 'gateway'] as AppId[]) {
      for (const old of [...system().replicas[appId]]) {
        steps.push({
          what: `${appId}: ${old.instance} replaced`,
          act: async () => {
            const fresh = await system().startReplica(appId);
            if (appId === 'gateway') balancer.setBackends(system().gatewayUrls);
            // Out of the load balancer's rotation before it goes, as a terminating pod leaves its Service.
            system().replicas[appId].splice(system().replicas[appId].indexOf(old), 1);
            if (appId === 'gateway') {
              balancer.setBackends(system().gatewayUrls);
              await sleep(300);
            }
            await old.retire();
            t.log(`${old.instance} retired, ${fresh.instance} serving`);
          },
        });
      }
    }
    const result = await consistencyRun(system(), {
      durationMs: 75_000,
      members: 6,
      entry: () => [balancer.url],
      nemesis: (ms, log) => runSpread(steps, ms, log),
      log: (line) => t.log(line),
    });
    t.log(`\n${result.summary}`);
    for (const appId of APP_IDS) t.is(system().replicas[appId].length, 2, `${appId} back at two replicas`);
    t.deepEqual(
      serverFailures(result.history.ops).map((o) => `${JSON.stringify(o)}`),
      [],
      'zero failed requests',
    );
    t.deepEqual([...result.anomalies.keys()], [], result.summary);
  },
);

test.serial(
  'with one replica of a service SIGKILLed under load, reads keep succeeding through the other and writes answer only 2xx or a truthful 503/504',
  async (t) => {
    t.timeout(6 * 60_000);
    // A replica is an app and its sidecar (a pod): both go. Name resolution
    // stops handing out the dead sidecar after 2 s; callers make a call Dapr
    // could not deliver again meanwhile.
    const steps: Step[] = (['recipe', 'myrecipe', 'mypage', 'gateway'] as AppId[]).map((appId) => ({
      what: `${appId}: one replica (app and sidecar) SIGKILLed, restarted 5 s later`,
      act: async () => {
        const victim = system().replicas[appId][0]!;
        await Promise.all([victim.stopApp('SIGKILL'), victim.stopSidecar('SIGKILL')]);
        await sleep(5_000);
        await victim.startApp();
        await victim.startSidecar();
      },
    }));
    const result = await consistencyRun(system(), {
      durationMs: 60_000,
      members: 6,
      entry: () => [balancer.url],
      nemesis: (ms, log) => runSpread(steps, ms, log),
      log: (line) => t.log(line),
    });
    t.log(`\n${result.summary}`);
    const reads = result.history.ops.filter((o) => o.kind === 'read');
    t.true(reads.length > 20);
    t.deepEqual(
      reads.filter((o) => o.outcome !== 'ok').map((o) => JSON.stringify(o)),
      [],
      'every read succeeded',
    );
    const writes = result.history.ops.filter((o) => o.kind !== 'read');
    t.deepEqual(
      writes.filter((o) => o.status !== undefined && o.status >= 500 && o.status !== 503 && o.status !== 504).map((o) => JSON.stringify(o)),
      [],
      'no write answered anything but 2xx, 4xx, 503 or 504',
    );
    t.deepEqual([...result.anomalies.keys()], [], `every 503 changed nothing, every 504 was either: ${result.summary}`);
  },
);
