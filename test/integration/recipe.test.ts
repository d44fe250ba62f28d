import { randomUUID } from 'node:crypto';
import test from 'ava';
import { createLogger, createOutbox, createSidecar } from '@recipe/shared';
import { bucketOf } from '../../services/recipe/src/domain.js';
import { createStore } from '../../services/recipe/src/store.js';
import { createCatalogue, type Catalogue } from '../../services/recipe/src/usecases.js';
import { call } from '../support/client.js';
import type { RunningService } from '../support/dapr.js';
import { eventually } from '../support/processes.js';
import { viaSidecar } from '../support/sidecar.js';
import { readTopic } from '../support/streams.js';
import { startApp, startSidecarOnly } from '../support/system.js';
import { useBacking } from '../support/use-system.js';

// The recommendation service with its real daprd and Redis state store.
let recipe: RunningService;
let myrecipeProducer: RunningService;
/** A second sidecar with recipe's identity, for a replica of the service run in this process. */
let recipeReplica: RunningService;
let dapr: ReturnType<typeof viaSidecar>;
let asMyrecipe: ReturnType<typeof viaSidecar>;

const backing = useBacking(test, {
  beforeStop: () => Promise.all([recipe?.stop(), myrecipeProducer?.stop(), recipeReplica?.stop()]),
});

test.before(async () => {
  [recipe, myrecipeProducer, recipeReplica] = await Promise.all([
    startApp(backing(), 'recipe', { POINT: '3', OUTBOX_SETTLE_AFTER_SECONDS: '5' }),
    startSidecarOnly(backing(), 'myrecipe'),
    startSidecarOnly(backing(), 'recipe'),
  ]);
  dapr = viaSidecar(recipe, recipe.daprApiToken);
  asMyrecipe = viaSidecar(myrecipeProducer, myrecipeProducer.daprApiToken);
});

async function registered(author = 'alice') {
  const recipeId = randomUUID();
  await asMyrecipe.publish(
    'Registered',
    { recipeId, memberId: author, title: `Recipe ${recipeId.slice(0, 4)}`, registeredAt: new Date().toISOString() },
    `Registered:${recipeId}`,
  );
  await eventually(async () => (await dapr.invoke('recipe', 'GET', `recipes/${recipeId}`)).status === 200, { what: 'recipe in catalogue' });
  return recipeId;
}

const recommend = (recipeId: string, member: string) => dapr.invoke('recipe', 'POST', `recipes/${recipeId}/recommendations`, { member });

test("when ten different members recommend at once, then the recipe has ten times POINT and one Recommended per member, the last totals reaching the recipe's", async (t) => {
  const recipeId = await registered();
  const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => recommend(recipeId, `member-${i}`)));
  t.true(
    replies.every((r) => r.status === 201),
    replies.map((r) => r.text).join('\n'),
  );
  // Reading a recipe gives the totals its head copied from its buckets: the outbox relay copies them within moments.
  await eventually(async () => (await dapr.invoke('recipe', 'GET', `recipes/${recipeId}`)).body.points === 30, {
    what: 'the copied totals',
  });
  t.like((await dapr.invoke('recipe', 'GET', `recipes/${recipeId}`)).body, { points: 30, recommendations: 10 });
  const events = await eventually(
    async () => {
      const mine = (await readTopic(backing().redis, 'Recommended')).filter((e) => e.data.recipeId === recipeId);
      return new Set(mine.map((e) => e.id)).size === 10 ? mine : undefined;
    },
    { what: 'ten Recommended ids' },
  );
  t.is(events.length, 10, 'one delivery per event');
  t.true(
    events.every((e) => e.data.points === 3 && e.data.recipePoints >= 3 && e.data.recipePoints <= 30),
    'each names its own point and a total read after it',
  );
  t.is(
    Math.max(...events.map((e) => e.data.recipePoints)),
    30,
    "the largest total is the recipe's: subscribers that keep the largest end exact",
  );
});

test('when one member recommends ten times at once, then the point is awarded once', async (t) => {
  const recipeId = await registered();
  const replies = await Promise.all(Array.from({ length: 10 }, () => recommend(recipeId, 'bob')));
  t.is(replies.filter((r) => r.status === 201).length, 1);
  t.is(replies.filter((r) => r.status === 200).length, 9);
  await eventually(async () => (await dapr.invoke('recipe', 'GET', `recipes/${recipeId}`)).body.points === 3, {
    what: 'the copied totals',
  });
  await new Promise((resolve) => setTimeout(resolve, 500));
  t.is((await dapr.invoke('recipe', 'GET', `recipes/${recipeId}`)).body.points, 3, 'and never more');
});

test('own recipe is 403, unknown recipe is 404, a bad id is 400', async (t) => {
  const recipeId = await registered('carol');
  t.is((await recommend(recipeId, 'carol')).status, 403);
  t.is((await recommend(randomUUID(), 'bob')).status, 404);
  t.is((await recommend('not-a-uuid', 'bob')).status, 400);
});

test('the withdrawal reports the points, is idempotent per attempt, hides the recipe, and releasing its hold brings it back', async (t) => {
  const recipeId = await registered('dave');
  await recommend(recipeId, 'erin');
  const attempt = randomUUID();
  const withdraw = (member: string) => dapr.invoke('recipe', 'POST', 'withdrawals', { member, body: { recipeId, attempt } });
  const first = await withdraw('dave');
  const again = await withdraw('dave');
  t.deepEqual(
    [first.body, again.body],
    [
      { recipeId, held: true, pointsRevoked: 3 },
      { recipeId, held: true, pointsRevoked: 3 },
    ],
  );
  t.is((await dapr.invoke('recipe', 'GET', `recipes/${recipeId}`)).status, 404);
  t.is((await withdraw('mallory')).status, 403);
  t.is((await dapr.invoke('recipe', 'POST', 'withdrawal-cancellations', { member: 'dave', body: { recipeId, attempt } })).status, 204);
  t.is((await dapr.invoke('recipe', 'GET', `recipes/${recipeId}`)).body.points, 3);
  t.deepEqual((await withdraw('dave')).body, { recipeId, held: false }, 'a withdrawal arriving after its release is refused, with a 200');
});

test('Dapr quirk this design avoids: a state.redis transaction whose ETag check fails still applies its other operations', async (t) => {
  const token = { 'dapr-api-token': recipe.daprApiToken };
  const key = `quirk-${randomUUID()}`;
  await call(recipe.daprUrl, 'POST', '/v1.0/state/recipe-store', { headers: token, body: [{ key, value: 1 }] });
  const res = await call(recipe.daprUrl, 'POST', '/v1.0/state/recipe-store/transaction', {
    headers: token,
    body: {
      operations: [
        { operation: 'upsert', request: { key, value: 2, etag: '999', options: { concurrency: 'first-write' } } },
        { operation: 'upsert', request: { key: `${key}-other`, value: 'written anyway' } },
      ],
    },
  });
  t.true(res.status >= 400, 'the transaction fails on the ETag');
  t.is((await dapr.getState('recipe-store', key)).body, 1);
  t.is((await dapr.getState('recipe-store', `${key}-other`)).body, 'written anyway', 'Redis has no rollback: the other operation stayed');
});

test('with a replica of the service on another sidecar: a recommendation whose guarded write loses its race to a withdrawal leaves no Recommended behind', async (t) => {
  const recipeId = await registered('gina');
  const log = createLogger('replica', 'silent');
  const sidecar = createSidecar({ host: '127.0.0.1', httpPort: recipeReplica.daprHttpPort, apiToken: recipeReplica.daprApiToken, log });
  let interleave: (() => Promise<unknown>) | undefined;
  const store = createStore(sidecar, 'recipe-store');
  const outbox = createOutbox({
    sidecar,
    pubsub: 'pubsub',
    appId: 'recipe',
    log,
    resolver: { settle: (i) => replica.resolver.settle(i), abandon: (i) => replica.resolver.abandon(i) },
  });
  const replica: Catalogue = createCatalogue({
    store: {
      ...store,
      // The withdrawal (through the other replica, the app) lands between this replica's read and write.
      saveBucket: async (recipeId, bucket, value, etag) => {
        const run = interleave;
        interleave = undefined;
        await run?.();
        return store.saveBucket(recipeId, bucket, value, etag);
      },
    },
    outbox,
    clock: () => new Date(),
    rules: { pointValue: 3 },
    retryAfterSeconds: 5,
  });
  interleave = () => dapr.invoke('recipe', 'POST', 'withdrawals', { member: 'gina', body: { recipeId, attempt: randomUUID() } });
  await t.throwsAsync(() => replica.recommend(recipeId, 'hank'), { message: 'no such recipe' });
  // The app's relay gets the intent, finds nothing, and after its settle time (5 s here) fences the attempt off.
  const fenced = await eventually(
    async () => {
      const value = (await dapr.getState('recipe-store', `recipe:${recipeId}#${bucketOf('hank')}`)).body;
      return value?.fenced?.length ? value : undefined;
    },
    { what: 'the attempt fenced off', timeoutMs: 30_000, intervalMs: 500 },
  );
  t.deepEqual(fenced.recommendations, []);
  t.is(fenced.points, 0);
  t.false(
    (await readTopic(backing().redis, 'Recommended')).some((e) => e.data.recipeId === recipeId),
    'no Recommended for a recommendation that never happened',
  );
});

test('when Deleted confirms a withdrawal, then the recipe stays gone; a Registered arriving after it does not revive it', async (t) => {
  const recipeId = randomUUID();
  await asMyrecipe.publish(
    'Deleted',
    { recipeId, memberId: 'frank', pointsRevoked: 0, deletedAt: new Date().toISOString() },
    `Deleted:${recipeId}`,
  );
  await eventually(async () => (await dapr.getState('recipe-store', `recipe:${recipeId}`)).status === 200, { what: 'placeholder' });
  await asMyrecipe.publish(
    'Registered',
    { recipeId, memberId: 'frank', title: 'Late', registeredAt: new Date().toISOString() },
    `Registered:${recipeId}`,
  );
  await eventually(async () => (await dapr.getState('recipe-store', `recipe:${recipeId}`)).body?.title === 'Late', {
    what: 'registered late',
  });
  t.is((await dapr.invoke('recipe', 'GET', `recipes/${recipeId}`)).status, 404);
});

test('when a malformed Registered arrives, then it is dead-lettered', async (t) => {
  await asMyrecipe.publish('Registered', { recipeId: randomUUID(), memberId: 'x' }, 'poison-registered');
  t.truthy(
    await eventually(async () => (await readTopic(backing().redis, 'Registered-deadletter')).find((e) => e.id === 'poison-registered'), {
      what: 'dead letter',
    }),
  );
});
