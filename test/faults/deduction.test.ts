import test from 'ava';
import { memberClient, sampleRecipe, type MemberClient } from '../support/client.js';
import { eventually, sleep } from '../support/processes.js';
import { verifyQuiet } from '../support/verify.js';
import { startSystem, type System } from '../support/system.js';
import { emptyRecord } from '../support/traffic.js';

// The synchronous point deduction under faults, with a faulty link in front of
// the recommendation app: failures are injected where the app would answer.
let system: System;
let alice: MemberClient;
let bob: MemberClient;
// What this file's own requests acknowledged, for the final check.
const record = emptyRecord();

test.before(async () => {
  system = await startSystem({ apps: { recipe: { linkApp: true } } });
  alice = memberClient(system.gatewayUrl, await system.token('alice'));
  bob = memberClient(system.gatewayUrl, await system.token('bob'));
});

test.after.always(async () => {
  await system?.stop();
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
const withdrawalsSeen = () => system.services.recipe.appLink!.seen.filter((r) => r.startsWith('POST /withdrawals')).length;

test.serial('when the recommendation service fails during deletes, then 503 with Retry-After and nothing changes; the circuit opens after 5 failures, later deletes fail fast without reaching it, and it closes after recovery', async (t) => {
  const ids = [];
  for (let i = 0; i < 6; i++) ids.push(await recommendedRecipe());
  await eventually(async () => (await balance()) === 6, { what: 'balance 6' });
  const link = system.services.recipe.appLink!;
  link.setRule((req) => (req.url.startsWith('/withdrawals') && req.method === 'POST' ? { kind: 'respond', status: 500 } : { kind: 'pass' }));

  const reached: number[] = [];
  const took: number[] = [];
  for (const id of ids) {
    const started = Date.now();
    const res = await alice.delete(`/myrecipes/${id}`);
    took.push(Date.now() - started);
    t.is(res.status, 503, res.text);
    t.true(Number(res.headers.get('retry-after')) > 0);
    reached.push(withdrawalsSeen());
  }
  t.log('withdrawal calls that reached the recommendation app after each delete:', reached.join(' '), '; ms:', took.join(' '));
  // Each delete is tried 3 times (1 + 2 retries): the 5th failure, in the second delete, trips the breaker.
  t.deepEqual(reached.slice(0, 2), [3, 5], 'the breaker opened at the 5th failure');
  t.is(reached.at(-1), 5, 'with the circuit open, later deletes never reached the recommendation app');
  t.true(took.at(-1)! * 4 < took[0]!, `a delete with the circuit open fails fast (${took.at(-1)} ms, the first took ${took[0]} ms)`);

  // Nothing changed anywhere.
  for (const id of ids) t.is((await alice.get(`/myrecipes/${id}`)).body.points, 1);
  t.is(await balance(), 6);
  for (const id of ids) t.is((await bob.get(`/recipes/${id}`)).status, 200, 'no hold left behind');

  // Recovery: after the breaker's 10 s, one trial call closes it again.
  link.setRule(undefined);
  await sleep(10_500);
  const res = await alice.delete(`/myrecipes/${ids[0]}`);
  t.is(res.status, 200, res.text);
  t.deepEqual(res.body, { recipeId: ids[0], pointsRevoked: 1 });
  record.deleted.add(ids[0]!);
  t.is((await alice.delete(`/myrecipes/${ids[1]}`)).status, 200);
  record.deleted.add(ids[1]!);
});

for (const [fault, action] of [
  ['its reply is lost after the withdrawal was applied', { kind: 'lose-reply' }],
  ['its reply comes after the 1.5 s timeout', { kind: 'delay-reply', ms: 2_000 }],
] as const) {
  test.serial(`when the recommendation service applies the deduction but ${fault}, then the delete is 503 with nothing changed, and a retried delete deducts exactly once`, async (t) => {
    const id = await recommendedRecipe();
    const before = await balance();
    const link = system.services.recipe.appLink!;
    link.setRule((req) => (req.url.startsWith('/withdrawals') && req.method === 'POST' ? action : { kind: 'pass' }));
    const refused = await alice.delete(`/myrecipes/${id}`);
    t.is(refused.status, 503, refused.text);
    t.is((await alice.get(`/myrecipes/${id}`)).body.points, 1);
    t.is(await balance(), before);
    await eventually(async () => (await bob.get(`/recipes/${id}`)).status === 200, { what: 'the hold released', timeoutMs: 40_000 });

    link.setRule(undefined);
    await sleep(10_500); // a retried delete may find the circuit open for 10 s
    const done = await alice.delete(`/myrecipes/${id}`);
    t.is(done.status, 200, done.text);
    t.deepEqual(done.body, { recipeId: id, pointsRevoked: 1 });
    record.deleted.add(id);
    await eventually(async () => (await balance()) === before - 1, { what: 'deducted once' });
    await sleep(1_500);
    t.is(await balance(), before - 1, 'deducted exactly once');
  });
}

test.serial('after the faults, the system is consistent', async (t) => {
  t.deepEqual(await verifyQuiet(system, record), []);
});
