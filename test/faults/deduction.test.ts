import test from 'ava';
import { memberClient, sampleRecipe, type MemberClient } from '../support/client.js';
import { eventually, sleep } from '../support/processes.js';
import { verifyQuiet } from '../support/verify.js';
import type { Link } from '../support/link.js';
import { useSystem } from '../support/use-system.js';
import { emptyRecord } from '../support/traffic.js';

// The synchronous point deduction under faults, with a faulty link in front of
// the recommendation app: failures are injected where the app would answer.
let alice: MemberClient;
let bob: MemberClient;
// What this file's own requests acknowledged, for the final check.
const record = emptyRecord();

// The recipe sidecars probe their app as on Kubernetes (every 5 s, 3 failures): a hung app is not
// noticed at once, so a withdrawal to it times out.
const system = useSystem(test, {
  apps: { recipe: { linkApp: true, daprdArgs: ['--app-health-probe-interval', '5', '--app-health-threshold', '3'] } },
});

test.before(async () => {
  alice = memberClient(system().gatewayUrl, await system().token('alice'));
  bob = memberClient(system().gatewayUrl, await system().token('bob'));
});

/** A recipe of alice's with one recommendation from bob, settled everywhere. */
async function recommendedRecipe(): Promise<string> {
  const { body } = await alice.post('/myrecipes', sampleRecipe('Deduction'));
  record.registered.set(body.recipeId, 'alice');
  await eventually(async () => (await bob.post(`/recipes/${body.recipeId}/recommendations`)).status === 201, { what: 'recommended' });
  record.recommended.add(`${body.recipeId} bob`);
  await eventually(async () => (await alice.get(`/myrecipes/${body.recipeId}`)).body.points === 1, { what: 'credited' });
  return body.recipeId;
}

const balance = async () => (await alice.get('/mypages/me')).body.balance as number;
// Every recipe replica sits behind a faulty link: count and fail at all of them.
const withdrawalsSeen = () =>
  system().replicas.recipe.reduce((sum, r) => sum + r.appLink!.seen.filter((s) => s.startsWith('POST /withdrawals')).length, 0);
const setRule = (rule: Parameters<Link['setRule']>[0]) => system().replicas.recipe.forEach((r) => r.appLink!.setRule(rule));
/** Each myrecipe replica's sidecar has a deduction breaker of its own. */
const sidecars = () => system().replicas.myrecipe.length;

test.serial(
  'when the recommendation service fails during deletes, then 503 with Retry-After and nothing changes; the circuit opens after 5 failures, later deletes fail fast without reaching it and say how long it stays open, and it closes after recovery',
  async (t) => {
    const ids = [];
    // Enough recipes for every breaker to open however the deletes spread over the myrecipe replicas.
    const deletes = 15 * sidecars();
    for (let i = 0; i < deletes; i++) ids.push(await recommendedRecipe());
    await eventually(async () => (await balance()) === deletes, { what: `balance ${deletes}` });
    setRule((req) => (req.url.startsWith('/withdrawals') && req.method === 'POST' ? { kind: 'respond', status: 500 } : { kind: 'pass' }));

    const reached: number[] = [];
    const took: number[] = [];
    const retryAfter: number[] = [];
    const before = withdrawalsSeen();
    for (const id of ids) {
      const started = Date.now();
      const res = await alice.delete(`/myrecipes/${id}`);
      took.push(Date.now() - started);
      t.is(res.status, 503, res.text);
      retryAfter.push(Number(res.headers.get('retry-after')));
      reached.push(withdrawalsSeen() - before);
      // Done once four deletes in a row reached nothing after every breaker could have opened.
      if (reached.length >= 5 && reached.at(-1) === 5 * sidecars() && reached.at(-5) === reached.at(-1)) break;
    }
    t.log(
      'withdrawal calls that reached the recommendation app after each delete:',
      reached.join(' '),
      '; ms:',
      took.join(' '),
      '; Retry-After:',
      retryAfter.join(' '),
    );
    // No retries (a retried withdrawal is one more for a hung service to apply):
    // each delete reaches the app at most once, and each myrecipe sidecar's
    // breaker opens at its 5th failure, after which nothing reaches the app.
    const limit = 5 * sidecars();
    t.is(reached.at(-1), limit, 'with every circuit open, later deletes never reached the recommendation app');
    t.true(
      reached.every((n, i) => n <= i + 1),
      'never more than one withdrawal per delete',
    );
    const refusedByBreaker = retryAfter.filter((_, i) => reached[i] === reached[i - 1]);
    t.true(
      refusedByBreaker.length >= 4 && refusedByBreaker.every((s) => s >= 10),
      'a refusal by an open breaker tells the member to come back once it can have closed',
    );

    // Nothing changed anywhere; the relay releases every attempt's hold.
    for (const id of ids) t.is((await alice.get(`/myrecipes/${id}`)).body.points, 1);
    t.is(await balance(), deletes);
    setRule(undefined);
    for (const id of ids) await eventually(async () => (await bob.get(`/recipes/${id}`)).status === 200, { what: 'no hold left behind' });

    // Recovery: after the breakers' 10 s, a trial call closes each again.
    await sleep(10_500);
    for (const id of ids.slice(0, 2 * sidecars())) {
      const res = await alice.delete(`/myrecipes/${id}`);
      t.is(res.status, 200, res.text);
      t.deepEqual(res.body, { recipeId: id, pointsRevoked: 1 });
      record.deleted.add(id);
    }
  },
);

for (const [fault, action] of [
  ['its reply is lost after the withdrawal was applied', { kind: 'lose-reply' }],
  ['its reply comes after the 2 s timeout', { kind: 'delay-reply', ms: 3_000 }],
] as const) {
  test.serial(
    `when the recommendation service applies the deduction but ${fault}, then the delete is 503 with nothing changed, and a retried delete deducts exactly once`,
    async (t) => {
      const id = await recommendedRecipe();
      const before = await balance();
      setRule((req) => (req.url.startsWith('/withdrawals') && req.method === 'POST' ? action : { kind: 'pass' }));
      const refused = await alice.delete(`/myrecipes/${id}`);
      t.is(refused.status, 503, refused.text);
      t.is((await alice.get(`/myrecipes/${id}`)).body.points, 1);
      t.is(await balance(), before);
      setRule(undefined);
      // The attempt was fenced off, so its hold is released at once by the relay.
      await eventually(async () => (await bob.get(`/recipes/${id}`)).status === 200, { what: 'the hold released', timeoutMs: 10_000 });

      const done = await alice.delete(`/myrecipes/${id}`);
      t.is(done.status, 200, done.text);
      t.deepEqual(done.body, { recipeId: id, pointsRevoked: 1 });
      record.deleted.add(id);
      await eventually(async () => (await balance()) === before - 1, { what: 'deducted once' });
      await sleep(1_500);
      t.is(await balance(), before - 1, 'deducted exactly once');
    },
  );
}

test.serial(
  'when the recommendation service hangs (SIGSTOP), a delete answers 503 with Retry-After well inside the gateway timeout; nothing changes and no extra withdrawal reaches it',
  async (t) => {
    const id = await recommendedRecipe();
    const before = await balance();
    const seenBefore = withdrawalsSeen();
    await system().all('recipe', (r) => r.signalApp('SIGSTOP'));
    let res;
    const started = Date.now();
    try {
      res = await alice.delete(`/myrecipes/${id}`);
    } finally {
      await system().all('recipe', (r) => r.signalApp('SIGCONT'));
    }
    const took = Date.now() - started;
    t.is(res.status, 503, res.text);
    t.truthy(res.headers.get('retry-after'));
    t.true(took < 5_000, `answered in ${took} ms (the gateway waits up to 10 s)`);
    t.is(withdrawalsSeen() - seenBefore, 1, 'one withdrawal, never retried');
    // Once it wakes up it applies the late withdrawal, and the relay releases it: the recipe is whole again.
    await eventually(async () => (await bob.get(`/recipes/${id}`)).status === 200, { what: 'the late hold released', timeoutMs: 15_000 });
    t.is((await alice.get(`/myrecipes/${id}`)).body.points, 1);
    t.is(await balance(), before);
  },
);

test.serial('after the faults, the system is consistent', async (t) => {
  t.deepEqual(await verifyQuiet(system(), record), []);
});
