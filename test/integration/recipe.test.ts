import { randomUUID } from 'node:crypto';
import test from 'ava';
import type { RunningService } from '../support/dapr.js';
import { eventually } from '../support/processes.js';
import { viaSidecar } from '../support/sidecar.js';
import { readTopic } from '../support/streams.js';
import { startApp, startBacking, startSidecarOnly, type Backing } from '../support/system.js';

// The recommendation service with its real daprd and Redis state store (with the outbox).
let backing: Backing;
let recipe: RunningService;
let myrecipeProducer: RunningService;
let dapr: ReturnType<typeof viaSidecar>;
let asMyrecipe: ReturnType<typeof viaSidecar>;

test.before(async () => {
  backing = await startBacking();
  [recipe, myrecipeProducer] = await Promise.all([startApp(backing, 'recipe', { POINT: '3' }), startSidecarOnly(backing, 'myrecipe')]);
  dapr = viaSidecar(recipe, backing.mesh.daprApiToken);
  asMyrecipe = viaSidecar(myrecipeProducer, backing.mesh.daprApiToken);
});

test.after.always(async () => {
  await Promise.all([recipe?.stop(), myrecipeProducer?.stop()]);
  await backing?.stop();
});

async function registered(author = 'alice') {
  const recipeId = randomUUID();
  await asMyrecipe.publish('Registered', { recipeId, memberId: author, title: `Recipe ${recipeId.slice(0, 4)}`, registeredAt: new Date().toISOString() }, `Registered:${recipeId}`);
  await eventually(async () => (await dapr.invoke('recipe', 'GET', `recipes/${recipeId}`)).status === 200, { what: 'recipe in catalogue' });
  return recipeId;
}

const recommend = (recipeId: string, member: string) => dapr.invoke('recipe', 'POST', `recipes/${recipeId}/recommendations`, { member });

test('when ten different members recommend at once, then the recipe has ten times POINT and ten Recommended events', async (t) => {
  const recipeId = await registered();
  const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => recommend(recipeId, `member-${i}`)));
  t.true(replies.every((r) => r.status === 201), replies.map((r) => r.text).join('\n'));
  t.like((await dapr.invoke('recipe', 'GET', `recipes/${recipeId}`)).body, { points: 30, recommendations: 10 });
  const events = await eventually(async () => {
    const mine = (await readTopic(backing.redis, 'Recommended')).filter((e) => e.data.recipeId === recipeId);
    return new Set(mine.map((e) => e.id)).size === 10 ? mine : undefined;
  }, { what: 'ten Recommended ids' });
  t.deepEqual([...new Set(events.map((e) => e.data.recipePoints))].sort((a, b) => a - b), [3, 6, 9, 12, 15, 18, 21, 24, 27, 30]);
});

test('when one member recommends ten times at once, then the point is awarded once', async (t) => {
  const recipeId = await registered();
  const replies = await Promise.all(Array.from({ length: 10 }, () => recommend(recipeId, 'bob')));
  t.is(replies.filter((r) => r.status === 201).length, 1);
  t.is(replies.filter((r) => r.status === 200).length, 9);
  t.is((await dapr.invoke('recipe', 'GET', `recipes/${recipeId}`)).body.points, 3);
});

test('own recipe is 403, unknown recipe is 404, a bad id is 400', async (t) => {
  const recipeId = await registered('carol');
  t.is((await recommend(recipeId, 'carol')).status, 403);
  t.is((await recommend(randomUUID(), 'bob')).status, 404);
  t.is((await recommend('not-a-uuid', 'bob')).status, 400);
});

test('the withdrawal reports the points, is idempotent, hides the recipe, and a cancel brings it back', async (t) => {
  const recipeId = await registered('dave');
  await recommend(recipeId, 'erin');
  const withdraw = (member: string) => dapr.invoke('recipe', 'POST', 'withdrawals', { member, body: { recipeId } });
  const first = await withdraw('dave');
  const again = await withdraw('dave');
  t.deepEqual([first.body, again.body], [{ recipeId, pointsRevoked: 3 }, { recipeId, pointsRevoked: 3 }]);
  t.is((await dapr.invoke('recipe', 'GET', `recipes/${recipeId}`)).status, 404);
  t.is((await withdraw('mallory')).status, 403);
  t.is((await dapr.invoke('recipe', 'POST', 'withdrawal-cancellations', { member: 'dave', body: { recipeId } })).status, 204);
  t.is((await dapr.invoke('recipe', 'GET', `recipes/${recipeId}`)).body.points, 3);
});

test('when Deleted confirms a withdrawal, then the recipe stays gone; a Registered arriving after it does not revive it', async (t) => {
  const recipeId = randomUUID();
  await asMyrecipe.publish('Deleted', { recipeId, memberId: 'frank', pointsRevoked: 0, deletedAt: new Date().toISOString() }, `Deleted:${recipeId}`);
  await eventually(async () => (await dapr.getState('recipe-store', `recipe:${recipeId}`)).status === 200, { what: 'placeholder' });
  await asMyrecipe.publish('Registered', { recipeId, memberId: 'frank', title: 'Late', registeredAt: new Date().toISOString() }, `Registered:${recipeId}`);
  await eventually(async () => (await dapr.getState('recipe-store', `recipe:${recipeId}`)).body?.title === 'Late', { what: 'registered late' });
  t.is((await dapr.invoke('recipe', 'GET', `recipes/${recipeId}`)).status, 404);
});

test('when a malformed Registered arrives, then it is dead-lettered', async (t) => {
  await asMyrecipe.publish('Registered', { recipeId: randomUUID(), memberId: 'x' }, 'poison-registered');
  t.truthy(await eventually(async () => (await readTopic(backing.redis, 'Registered-deadletter')).find((e) => e.id === 'poison-registered'), { what: 'dead letter' }));
});
