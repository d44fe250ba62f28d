import { readFileSync } from 'node:fs';
import test from 'ava';
import { call, memberClient, sampleRecipe } from '../support/client.js';
import { eventually, sleep } from '../support/processes.js';
import { signToken, startApp } from '../support/system.js';
import { useSystem } from '../support/use-system.js';
import type { RunningService } from '../support/dapr.js';
import type { Link } from '../support/link.js';

// Overload: the gateway turns members away at once with 503 and Retry-After
// (a readable "register again in a moment"), and recovers by itself.
const system = useSystem(test, { env: { gateway: { REGISTRATION_MAX_IN_FLIGHT: '4' } }, apps: { myrecipe: { linkApp: true } } });
// Both myrecipe replicas sit behind a faulty link; the tests talk to the first
// gateway replica only (the bulkhead and the circuit are per gateway replica).
const posts = () =>
  system().replicas.myrecipe.reduce((sum, r) => sum + r.appLink!.seen.filter((s) => s.startsWith('POST /myrecipes')).length, 0);
const setRule = (rule: Parameters<Link['setRule']>[0]) => system().replicas.myrecipe.forEach((r) => r.appLink!.setRule(rule));

test.serial(
  'when registrations pile up beyond what is in flight, then the rest get 503 with Retry-After at once, and it recovers when load drops',
  async (t) => {
    // A slow registration service: every registration takes 400 ms.
    setRule((req) => (req.method === 'POST' && req.url.startsWith('/myrecipes') ? { kind: 'delay-reply', ms: 400 } : { kind: 'pass' }));
    const alice = memberClient(system().gatewayUrl, await system().token('alice'));
    const started = Date.now();
    const replies = await Promise.all(
      Array.from({ length: 40 }, async () => ({ res: await alice.post('/myrecipes', sampleRecipe('Rush hour')) })),
    );
    const accepted = replies.filter((r) => r.res.status === 201);
    const busy = replies.filter((r) => r.res.status === 503);
    t.log(`${accepted.length} accepted, ${busy.length} turned away`);
    t.true(accepted.length >= 4);
    t.is(accepted.length + busy.length, 40);
    t.true(busy.length > 0);
    for (const { res } of busy) {
      t.is(res.headers.get('retry-after'), '1');
      t.is(res.body.error.code, 'SERVICE.OVERLOADED');
      t.regex(res.body.error.message, /register again in a moment/);
    }
    // Turned away at once: as the gateway measured them (its access log; the
    // client's own clock is too noisy on a shared machine), every refusal took
    // less time than any admitted registration, which waited 400 ms.
    const served = readFileSync(system().services.gateway.app.logFile, 'utf8')
      .split('\n')
      .filter((line) => line.includes('"path":"/myrecipes"') && line.includes('"method":"POST"'))
      .map((line) => JSON.parse(line) as { status: number; ms: number; time: string })
      .filter((line) => Date.parse(line.time) >= started);
    const refusedMs = served.filter((l) => l.status === 503).map((l) => l.ms);
    const admittedMs = served.filter((l) => l.status === 201).map((l) => l.ms);
    t.is(refusedMs.length, busy.length);
    t.true(
      Math.max(...refusedMs) < Math.min(...admittedMs),
      `refused in at most ${Math.max(...refusedMs)} ms, admitted in at least ${Math.min(...admittedMs)} ms`,
    );
    setRule(undefined);
    for (let i = 0; i < 5; i++) t.is((await alice.post('/myrecipes', sampleRecipe(`Calm ${i}`))).status, 201);
  },
);

test.serial(
  'when registrations keep failing, then the circuit opens, later registrations fail fast without reaching myrecipe, and it closes after recovery',
  async (t) => {
    setRule((req) => (req.method === 'POST' && req.url.startsWith('/myrecipes') ? { kind: 'drop' } : { kind: 'pass' }));
    const bob = memberClient(system().gatewayUrl, await system().token('bob'));
    const reached: number[] = [];
    const took: number[] = [];
    const before = posts();
    for (let i = 0; i < 5; i++) {
      const started = Date.now();
      const res = await bob.post('/myrecipes', sampleRecipe(`Broken ${i}`));
      took.push(Date.now() - started);
      reached.push(posts() - before);
      t.true(res.status === 503 || res.status === 504, `${res.status} ${res.text}`);
      t.truthy(res.headers.get('retry-after'));
    }
    t.log('registrations that reached myrecipe after each request:', reached.join(' '), '; ms:', took.join(' '));
    // A dropped connection may have been applied, so nothing repeats it: one try each, the 5th failure opens the circuit.
    t.deepEqual(reached, [1, 2, 3, 4, 5]);
    const open = await bob.post('/myrecipes', sampleRecipe('While open'));
    t.is(posts() - before, 5, 'with the circuit open, registrations never reached myrecipe');
    t.is(open.status, 503);
    t.regex(open.body.error.message, /register again in a moment/);
    const retryAfter = Number(open.headers.get('retry-after'));
    t.true(retryAfter >= 9 && retryAfter <= 10, `Retry-After ${retryAfter} s covers the 10 s the circuit stays open`);

    setRule(undefined);
    await sleep(10_500);
    t.is((await bob.post('/myrecipes', sampleRecipe('After recovery'))).status, 201);
    t.is((await bob.post('/myrecipes', sampleRecipe('Closed again'))).status, 201);
  },
);

test.serial('a per-member rate limit is shared by every gateway replica (Redis) and answers 429 with Retry-After', async (t) => {
  const limits = { RATE_LIMIT_PER_WINDOW: '6', RATE_LIMIT_WINDOW_SECONDS: '30' };
  const replicas: RunningService[] = await Promise.all(
    [10, 11].map((replica) => startApp(system().backing, 'gateway', limits, { replica })),
  );
  t.teardown(() => Promise.all(replicas.map((r) => r.stop())));
  const token = await signToken(system().backing.signingKey, 'carol');
  // The window is fixed (aligned to multiples of 30 s): start early in one.
  const left = 30 - ((Date.now() / 1000) % 30);
  if (left < 10) await sleep(left * 1000 + 100);
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) statuses.push((await call(replicas[i % 2]!.appUrl, 'GET', '/mypages/me', { token })).status);
  t.deepEqual(statuses, [200, 200, 200, 200, 200, 200]);
  const limited = await call(replicas[0]!.appUrl, 'GET', '/mypages/me', { token });
  t.is(limited.status, 429);
  t.is(limited.body.error.code, 'RATE.LIMITED');
  const retryAfter = Number(limited.headers.get('retry-after'));
  t.true(retryAfter >= 1 && retryAfter <= 30, `Retry-After ${retryAfter}`);
  t.is((await call(replicas[1]!.appUrl, 'GET', '/mypages/me', { token })).status, 429, 'the other replica counts the same');
  const dave = await signToken(system().backing.signingKey, 'dave');
  t.is((await call(replicas[1]!.appUrl, 'GET', '/mypages/me', { token: dave })).status, 200, 'other members are not affected');
  await eventually(async () => (await call(replicas[0]!.appUrl, 'GET', '/mypages/me', { token })).status === 200, {
    what: 'the window to pass',
    timeoutMs: 35_000,
    intervalMs: 1_000,
  });
});
