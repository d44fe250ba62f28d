import test from 'ava';
import { AppError, TOPICS, createLogger, createOutbox } from '@recipe/shared';
import { fakeSidecar } from '../../../packages/shared/test/fake-sidecar.js';
import { createStore } from '../src/store.js';
import { createCatalogue } from '../src/usecases.js';

const log = createLogger('test', 'silent');
const recipeId = '6f1c1f5e-3b0a-4a57-9d77-2b6f0d9b8f11';
const registered = { recipeId, memberId: 'alice', title: 'Tteokbokki', registeredAt: '2026-01-01T00:00:00.000Z' };

function setup() {
  const fake = fakeSidecar();
  let now = new Date('2026-01-01T00:00:00Z');
  const catalogue = createCatalogue({
    store: createStore(fake.sidecar, 'store'),
    events: createOutbox({ sidecar: fake.sidecar, store: 'store', pubsub: 'pubsub', appId: 'recipe', topics: [TOPICS.recommended], log, directPublish: false }),
    clock: () => now,
    rules: { pointValue: 1, holdMs: 30_000 },
    retryAfterSeconds: 5,
  });
  return { fake, catalogue, advance: (ms: number) => (now = new Date(now.getTime() + ms)) };
}

test('Registered twice makes one catalogue entry', async (t) => {
  const { catalogue } = setup();
  await catalogue.onRegistered(registered);
  await catalogue.onRegistered(registered);
  t.like(await catalogue.get(recipeId), { recipeId, title: 'Tteokbokki', points: 0, recommendations: 0 });
});

test('concurrent recommendations by one member award the point once', async (t) => {
  const { catalogue, fake } = setup();
  await catalogue.onRegistered(registered);
  const results = await Promise.all(Array.from({ length: 5 }, () => catalogue.recommend(recipeId, 'bob')));
  t.is(results.filter((r) => !r.alreadyRecommended).length, 1);
  t.is((await catalogue.get(recipeId)).points, 1);
  t.is(fake.outbox.length, 1);
  t.like(fake.outbox[0], { topic: 'Recommended', id: `Recommended:${recipeId}:bob`, data: { recipePoints: 1 } });
});

test('the withdrawal reports the points, is idempotent, and hides the recipe', async (t) => {
  const { catalogue } = setup();
  await catalogue.onRegistered(registered);
  await catalogue.recommend(recipeId, 'bob');
  await catalogue.recommend(recipeId, 'carol');
  t.deepEqual(await catalogue.withdraw(recipeId, 'alice'), { recipeId, pointsRevoked: 2 });
  t.deepEqual(await catalogue.withdraw(recipeId, 'alice'), { recipeId, pointsRevoked: 2 });
  await t.throwsAsync(() => catalogue.get(recipeId), { message: 'no such recipe' });
  await t.throwsAsync(() => catalogue.recommend(recipeId, 'dave'), { message: 'no such recipe' });
});

test('only the author can withdraw', async (t) => {
  const { catalogue } = setup();
  await catalogue.onRegistered(registered);
  const err = await t.throwsAsync(() => catalogue.withdraw(recipeId, 'mallory'));
  t.like(err as AppError, { status: 403 });
});

test('a withdrawal that is never confirmed lapses; Deleted makes it final', async (t) => {
  const { catalogue, advance } = setup();
  await catalogue.onRegistered(registered);
  await catalogue.withdraw(recipeId, 'alice');
  advance(31_000);
  t.truthy(await catalogue.get(recipeId), 'lapsed hold: the delete never happened');
  await catalogue.withdraw(recipeId, 'alice');
  await catalogue.onDeleted({ recipeId, memberId: 'alice', pointsRevoked: 0, deletedAt: '2026-01-01T00:00:31Z' });
  advance(3_600_000);
  await t.throwsAsync(() => catalogue.get(recipeId));
});

test('Deleted before Registered: the recipe never becomes recommendable', async (t) => {
  const { catalogue } = setup();
  await catalogue.onDeleted({ recipeId, memberId: 'alice', pointsRevoked: 0, deletedAt: '2026-01-01T00:00:00Z' });
  await catalogue.onRegistered(registered);
  await t.throwsAsync(() => catalogue.recommend(recipeId, 'bob'), { message: 'no such recipe' });
});
