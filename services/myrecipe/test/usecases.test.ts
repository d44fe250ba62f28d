import test from 'ava';
import { AppError, DaprError, TOPICS, createLogger, createOutbox } from '@recipe/shared';
import { fakeSidecar } from '../../../packages/shared/test/fake-sidecar.js';
import { createStore } from '../src/store.js';
import { createMyRecipes } from '../src/usecases.js';

const log = createLogger('test', 'silent');
const recipe = { title: 'Bulgogi', ingredients: ['beef', 'pear'], steps: ['Marinate.', 'Grill.'] };

function setup() {
  const fake = fakeSidecar();
  const withdrawals: string[] = [];
  const cancels: string[] = [];
  let withdrawal: () => Promise<{ pointsRevoked: number }> = async () => ({ pointsRevoked: 0 });
  const myRecipes = createMyRecipes({
    store: createStore(fake.sidecar, 'store'),
    events: createOutbox({ sidecar: fake.sidecar, store: 'store', pubsub: 'pubsub', appId: 'myrecipe', topics: [TOPICS.registered, TOPICS.deleted], log, directPublish: true }),
    recommendations: {
      withdraw: async (recipeId) => {
        withdrawals.push(recipeId);
        return withdrawal();
      },
      cancelWithdrawal: async (recipeId) => void cancels.push(recipeId),
    },
    clock: () => new Date('2026-01-01T00:00:00Z'),
    retryAfterSeconds: 7,
    log,
  });
  return { fake, myRecipes, withdrawals, cancels, setWithdrawal: (fn: typeof withdrawal) => (withdrawal = fn) };
}

test('registering stores the recipe and emits Registered through the outbox and directly, with one event id', async (t) => {
  const { fake, myRecipes } = setup();
  const { recipe: created, replayed } = await myRecipes.register('alice', recipe);
  t.false(replayed);
  t.like(created, { ...recipe, memberId: 'alice', points: 0 });
  t.deepEqual(fake.outbox, [{ topic: 'Registered', id: `Registered:${created.recipeId}`, data: { recipeId: created.recipeId, memberId: 'alice', title: 'Bulgogi', registeredAt: '2026-01-01T00:00:00.000Z' } }]);
  t.deepEqual(fake.published.map((p) => p.topic), ['myrecipe-outbox', 'Registered'], 'the intent before the commit, the event after');
  t.is(fake.published[1]!.id, `Registered:${created.recipeId}`);
});

test('when only the direct publish fails, registering still succeeds (the outbox relay delivers)', async (t) => {
  const { fake, myRecipes } = setup();
  fake.failures.publishTo.add('Registered');
  await myRecipes.register('alice', recipe);
  t.is(fake.outbox.length, 1);
});

test('when the outbox intent cannot be published, nothing is stored and the registration fails', async (t) => {
  const { fake, myRecipes } = setup();
  fake.failures.publishTo.add('myrecipe-outbox');
  await t.throwsAsync(() => myRecipes.register('alice', recipe, 'k1'));
  t.is(fake.outbox.length, 0);
  t.is([...fake.state.keys()].filter((k) => k.includes('recipe:')).length, 0);
});

test('a POST retried with the same Idempotency-Key returns the first recipe and stores nothing new', async (t) => {
  const { fake, myRecipes } = setup();
  const first = await myRecipes.register('alice', recipe, 'k1');
  const again = await myRecipes.register('alice', recipe, 'k1');
  t.true(again.replayed);
  t.deepEqual(again.recipe, first.recipe);
  t.is(fake.outbox.length, 1);
});

test('an Idempotency-Key reused with a different recipe is a 409', async (t) => {
  const { myRecipes } = setup();
  await myRecipes.register('alice', recipe, 'k1');
  const err = await t.throwsAsync(() => myRecipes.register('alice', { ...recipe, title: 'Other' }, 'k1'));
  t.like(err as AppError, { status: 409, code: 'IDEMPOTENCY.KEY_REUSED' });
});

test("someone else's recipe is not found, for reading and for deleting", async (t) => {
  const { myRecipes, withdrawals } = setup();
  const { recipe: created } = await myRecipes.register('alice', recipe);
  await t.throwsAsync(() => myRecipes.get('bob', created.recipeId), { instanceOf: AppError, message: 'no such recipe' });
  await t.throwsAsync(() => myRecipes.remove('bob', created.recipeId), { instanceOf: AppError, message: 'no such recipe' });
  t.deepEqual(withdrawals, []);
});

test('deleting takes the points back synchronously, lowers the balance and emits Deleted', async (t) => {
  const { fake, myRecipes, setWithdrawal } = setup();
  const { recipe: created } = await myRecipes.register('alice', recipe);
  await myRecipes.onRecommended({ recipeId: created.recipeId, authorId: 'alice', recommenderId: 'bob', points: 1, recipePoints: 1, recommendedAt: '2026-01-01T00:00:01Z' });
  t.is((await myRecipes.balance('alice')).balance, 1);
  setWithdrawal(async () => ({ pointsRevoked: 1 }));
  t.deepEqual(await myRecipes.remove('alice', created.recipeId), { recipeId: created.recipeId, pointsRevoked: 1 });
  t.is((await myRecipes.balance('alice')).balance, 0);
  t.like(fake.outbox.at(-1), { topic: 'Deleted', id: `Deleted:${created.recipeId}`, data: { pointsRevoked: 1, memberId: 'alice' } });
  await t.throwsAsync(() => myRecipes.get('alice', created.recipeId));
});

test('when the recommendation service cannot confirm, the delete is a 503, nothing changes, and a possible hold is released', async (t) => {
  const { fake, myRecipes, setWithdrawal, cancels } = setup();
  const { recipe: created } = await myRecipes.register('alice', recipe);
  setWithdrawal(async () => {
    throw new DaprError('dapr', 500, undefined, 'circuit breaker is open');
  });
  const err = await t.throwsAsync(() => myRecipes.remove('alice', created.recipeId));
  t.like(err as AppError, { status: 503, retryAfterSeconds: 7 });
  t.truthy(await myRecipes.get('alice', created.recipeId));
  t.is(fake.outbox.length, 1, 'only Registered');
  t.deepEqual(cancels, [created.recipeId]);
});

test('when the delete cannot be committed after the withdrawal, the hold is released and the recipe kept', async (t) => {
  const { fake, myRecipes, cancels } = setup();
  const { recipe: created } = await myRecipes.register('alice', recipe);
  fake.failures.transaction = new DaprError('dapr', 500, undefined, 'database down');
  await t.throwsAsync(() => myRecipes.remove('alice', created.recipeId), { instanceOf: AppError });
  t.deepEqual(cancels, [created.recipeId]);
  t.truthy(await myRecipes.get('alice', created.recipeId));
});

test('Recommended for a deleted recipe credits nothing', async (t) => {
  const { myRecipes } = setup();
  const { recipe: created } = await myRecipes.register('alice', recipe);
  await myRecipes.remove('alice', created.recipeId);
  await myRecipes.onRecommended({ recipeId: created.recipeId, authorId: 'alice', recommenderId: 'bob', points: 1, recipePoints: 1, recommendedAt: '2026-01-01T00:00:01Z' });
  t.is((await myRecipes.balance('alice')).balance, 0);
});

test('a deleted recipe leaves a tombstone: its Idempotency-Key cannot bring it back, and nothing of its content stays', async (t) => {
  const { fake, myRecipes } = setup();
  const { recipe: created } = await myRecipes.register('alice', recipe, 'soup-1');
  await myRecipes.remove('alice', created.recipeId);
  const again = await t.throwsAsync(() => myRecipes.register('alice', recipe, 'soup-1'));
  t.like(again as AppError, { status: 409, code: 'IDEMPOTENCY.KEY_USED' });
  const stored = fake.state.get(`store/recipe:${created.recipeId}`)!.value as Record<string, unknown>;
  t.deepEqual(Object.keys(stored).sort(), ['deletedAt', 'memberId', 'recipeId', 'requestHash']);
  await t.throwsAsync(() => myRecipes.get('alice', created.recipeId), { message: 'no such recipe' });
  await t.throwsAsync(() => myRecipes.remove('alice', created.recipeId), { message: 'no such recipe' });
  t.like((await myRecipes.register('alice', recipe, 'soup-2')).recipe, { title: recipe.title });
});
