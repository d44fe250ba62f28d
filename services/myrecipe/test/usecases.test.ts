import test from 'ava';
import { AppError, DaprError, createLogger, type Intent } from '@recipe/shared';
import { fakeOutbox, fakeSidecar } from '../../../packages/shared/test/fake-sidecar.js';
import { createCursors } from '../src/cursor.js';
import { recipeIdFor } from '../src/domain.js';
import { createStore, type MyRecipeStore } from '../src/store.js';
import { createMyRecipes } from '../src/usecases.js';

const log = createLogger('test', 'silent');
const cursors = createCursors('a test secret');
const recipe = { title: 'Bulgogi', ingredients: ['beef', 'pear'], steps: ['Marinate.', 'Grill.'] };
const recommended = (recipeId: string, recipePoints: number, recommenderId = 'bob') => ({
  recipeId,
  authorId: 'alice',
  recommenderId,
  points: 1,
  recipePoints,
  recommendedAt: '2026-01-01T00:00:01Z',
});

function setup({ wrapStore = (s: MyRecipeStore) => s } = {}) {
  const fake = fakeSidecar();
  const withdrawals: { recipeId: string; attempt: string }[] = [];
  const released: { recipeId: string; attempt: string }[] = [];
  let withdrawal: () => Promise<{ held: boolean; pointsRevoked?: number }> = async () => ({ held: true, pointsRevoked: 0 });
  const clock = { now: new Date('2026-01-01T00:00:00Z') };
  const { outbox, intents, relayAll: relay } = fakeOutbox(fake, 'myrecipe', () => myRecipes.resolver, clock);
  const myRecipes = createMyRecipes({
    store: wrapStore(createStore(fake.sidecar, 'store')),
    outbox,
    recommendations: {
      withdraw: async (recipeId, _memberId, attempt) => {
        withdrawals.push({ recipeId, attempt });
        return withdrawal();
      },
      releaseHold: async (recipeId, _memberId, attempt) => void released.push({ recipeId, attempt }),
    },
    clock: () => clock.now,
    retryAfterSeconds: 7,
    deductionBreakerSeconds: 10,
    log,
    cursors,
  });
  /** Delivers every intent to the relay, as the broker would; returns what it published. */
  const relayAll = async () => (await relay()).filter((p) => p.topic !== 'myrecipe-outbox-late');
  return {
    fake,
    myRecipes,
    outbox,
    withdrawals,
    released,
    clock,
    intents,
    relayAll,
    setWithdrawal: (fn: typeof withdrawal) => (withdrawal = fn),
  };
}

test('registering announces the attempt, stores the recipe, and the relay publishes Registered built from it', async (t) => {
  const { fake, myRecipes, relayAll } = setup();
  const { recipe: created, replayed } = await myRecipes.register('alice', recipe);
  t.false(replayed);
  t.like(created, { ...recipe, memberId: 'alice', points: 0 });
  t.deepEqual(
    fake.published.map((p) => p.topic),
    ['myrecipe-outbox'],
    'only the intent: the event comes from the relay',
  );
  const events = await relayAll();
  t.deepEqual(events, [
    {
      topic: 'Registered',
      id: `Registered:${created.recipeId}`,
      data: {
        recipeId: created.recipeId,
        memberId: 'alice',
        title: 'Bulgogi',
        ingredients: recipe.ingredients,
        registeredAt: '2026-01-01T00:00:00.000Z',
      },
    },
  ]);
});

test('when the outbox intent cannot be published, nothing is stored and the registration fails', async (t) => {
  const { fake, myRecipes } = setup();
  fake.failures.publishTo.add('myrecipe-outbox');
  await t.throwsAsync(() => myRecipes.register('alice', recipe, 'k1'));
  t.is(fake.state.size, 0);
});

test('a POST retried with the same Idempotency-Key returns the first recipe and stores nothing new', async (t) => {
  const { fake, myRecipes } = setup();
  const first = await myRecipes.register('alice', recipe, 'k1');
  const again = await myRecipes.register('alice', recipe, 'k1');
  t.true(again.replayed);
  t.deepEqual(again.recipe, first.recipe);
  t.is([...fake.state.keys()].filter((k) => k.startsWith('store/recipe:')).length, 1);
  t.deepEqual((await myRecipes.list('alice', 10, undefined)).items.length, 1, 'listed once');
});

test('an Idempotency-Key reused with a different recipe is a 409', async (t) => {
  const { myRecipes } = setup();
  await myRecipes.register('alice', recipe, 'k1');
  const err = await t.throwsAsync(() => myRecipes.register('alice', { ...recipe, title: 'Other' }, 'k1'));
  t.like(err, { status: 409, code: 'IDEMPOTENCY.KEY_REUSED' });
});

test('a registration whose write answer is lost is confirmed by reading it back; one that cannot be checked is a 504', async (t) => {
  let failNextSave: Error | undefined;
  let thenReadsFail = false;
  const { fake, myRecipes } = setup({
    wrapStore: (store) => ({
      ...store,
      saveRegistration: async (recipe, etag, index, headEtag) => {
        const failure = failNextSave;
        failNextSave = undefined;
        if (failure && thenReadsFail) fake.failures.get = new DaprError('unreachable', undefined, undefined, 'store down');
        if (failure) throw failure;
        return store.saveRegistration(recipe, etag, index, headEtag);
      },
    }),
  });
  failNextSave = new DaprError('timeout', undefined, undefined, 'no answer');
  const err = await t.throwsAsync(() => myRecipes.register('alice', recipe, 'k1'));
  t.like(err, { status: 503 }, 'nothing landed, and the id is voided so that nothing can');
  t.like(fake.state.get(`store/recipe:${recipeIdFor('alice', 'k1')}`)!.value, { voided: (fake.published[0]!.data as Intent).id });
  t.like((await myRecipes.register('alice', recipe, 'k1')).recipe, { title: 'Bulgogi' }, 'a retry registers over the void');

  failNextSave = new DaprError('timeout', undefined, undefined, 'no answer');
  thenReadsFail = true;
  const unknown = await t.throwsAsync(() => myRecipes.register('alice', recipe, 'k2'));
  t.like(unknown, { status: 504, code: 'SERVICE.OUTCOME_UNKNOWN' });
});

test("someone else's recipe is not found, for reading and for deleting", async (t) => {
  const { myRecipes, withdrawals } = setup();
  const { recipe: created } = await myRecipes.register('alice', recipe);
  await t.throwsAsync(() => myRecipes.get('bob', created.recipeId), { instanceOf: AppError, message: 'no such recipe' });
  await t.throwsAsync(() => myRecipes.remove('bob', created.recipeId), { instanceOf: AppError, message: 'no such recipe' });
  t.deepEqual(withdrawals, []);
});

test("any member reads a live recipe's ingredients and steps; of a deleted or unknown one, nothing", async (t) => {
  const { myRecipes, setWithdrawal } = setup();
  const { recipe: created } = await myRecipes.register('alice', recipe);
  t.deepEqual(await myRecipes.content(created.recipeId), { ingredients: recipe.ingredients, steps: recipe.steps });
  setWithdrawal(async () => ({ held: true, pointsRevoked: 0 }));
  await myRecipes.remove('alice', created.recipeId);
  await t.throwsAsync(() => myRecipes.content(created.recipeId), { instanceOf: AppError, message: 'no such recipe' });
  await t.throwsAsync(() => myRecipes.content(recipeIdFor('nobody', 'no key')), { instanceOf: AppError, message: 'no such recipe' });
});

test('deleting holds the points for this attempt, lowers the balance, and the relay publishes Deleted from the tombstone', async (t) => {
  const { myRecipes, setWithdrawal, withdrawals, relayAll, intents } = setup();
  const { recipe: created } = await myRecipes.register('alice', recipe);
  await myRecipes.onRecommended(recommended(created.recipeId, 1));
  t.is((await myRecipes.balance('alice')).balance, 1);
  setWithdrawal(async () => ({ held: true, pointsRevoked: 1 }));
  t.deepEqual(await myRecipes.remove('alice', created.recipeId), { recipeId: created.recipeId, pointsRevoked: 1 });
  t.is(withdrawals[0]!.attempt, intents().find((i) => i.topic === 'Deleted')!.id, 'the hold names the attempt');
  t.is((await myRecipes.balance('alice')).balance, 0);
  await t.throwsAsync(() => myRecipes.get('alice', created.recipeId));
  const events = await relayAll();
  t.like(
    events.find((e) => e.topic === 'Deleted'),
    { id: `Deleted:${created.recipeId}`, data: { recipeId: created.recipeId, memberId: 'alice', pointsRevoked: 1 } },
  );
});

test('a repeated delete (a retry after a lost answer) answers as the first did, without another withdrawal', async (t) => {
  const { myRecipes, setWithdrawal, withdrawals } = setup();
  const { recipe: created } = await myRecipes.register('alice', recipe);
  setWithdrawal(async () => ({ held: true, pointsRevoked: 3 }));
  const first = await myRecipes.remove('alice', created.recipeId);
  t.deepEqual(await myRecipes.remove('alice', created.recipeId), first);
  t.is(withdrawals.length, 1);
});

test('when the recommendation service cannot confirm, the delete is a 503 saying how long its breaker stays open; the attempt is fenced off and the relay releases its hold', async (t) => {
  const { myRecipes, setWithdrawal, released, relayAll, fake } = setup();
  const { recipe: created } = await myRecipes.register('alice', recipe);
  setWithdrawal(async () => {
    throw new DaprError(
      'dapr',
      500,
      { errorCode: 'ERR_DIRECT_INVOKE', message: 'failed to invoke, id: recipe, err: circuit breaker is open' },
      'circuit breaker is open',
    );
  });
  const err = await t.throwsAsync(() => myRecipes.remove('alice', created.recipeId));
  t.like(err, { status: 503, retryAfterSeconds: 10 });
  t.truthy(await myRecipes.get('alice', created.recipeId), 'the recipe stays');
  t.deepEqual(released, [], 'the request itself releases nothing');
  const events = await relayAll();
  t.deepEqual(
    events.map((e) => e.topic),
    ['Registered'],
    'no Deleted',
  );
  t.deepEqual(
    released.map((r) => r.recipeId),
    [created.recipeId],
    'the relay released the hold of the fenced-off attempt',
  );
  const stored = fake.state.get(`store/recipe:${created.recipeId}`)!.value as { abortedDeletions: string[] };
  t.deepEqual(stored.abortedDeletions, [released[0]!.attempt]);
});

test('when the delete cannot be committed after the withdrawal, the answer is 503, the recipe is kept and the hold released by the relay', async (t) => {
  const { fake, myRecipes, released, relayAll } = setup();
  const { recipe: created } = await myRecipes.register('alice', recipe);
  fake.failures.transaction = new DaprError('dapr', 500, undefined, 'database down');
  const err = await t.throwsAsync(() => myRecipes.remove('alice', created.recipeId));
  t.like(err, { status: 503 });
  t.truthy(await myRecipes.get('alice', created.recipeId));
  await relayAll();
  t.is(released.length, 1);
});

test('an attempt nobody settled is abandoned after the settle time: fenced off, its hold released, no Deleted', async (t) => {
  const { myRecipes, outbox, released, clock, intents, fake } = setup();
  const { recipe: created } = await myRecipes.register('alice', recipe);
  // A delete whose process died after the withdrawal: only its intent is left.
  const intent = await outbox.intend('Deleted', { recipeId: created.recipeId, memberId: 'alice' });
  const delivery = intents().at(-1)!;
  await t.throwsAsync(() => outbox.relayLate(delivery), { message: /undecided/ });
  clock.now = new Date(clock.now.getTime() + 31_000);
  await outbox.relayLate(delivery);
  t.deepEqual(released, [{ recipeId: created.recipeId, attempt: intent.id }]);
  t.false(fake.published.some((p) => p.topic === 'Deleted'));
  t.truthy(await myRecipes.get('alice', created.recipeId));
});

test('Recommended for a deleted recipe credits nothing', async (t) => {
  const { myRecipes } = setup();
  const { recipe: created } = await myRecipes.register('alice', recipe);
  await myRecipes.remove('alice', created.recipeId);
  await myRecipes.onRecommended(recommended(created.recipeId, 1));
  t.is((await myRecipes.balance('alice')).balance, 0);
});

test("a delete committing between the credit's reads never brings the deleted recipe's points back", async (t) => {
  let interleave: (() => Promise<unknown>) | undefined;
  // The delete commits right after the credit's first read, whichever it is, as another replica's would.
  const afterRead = async <T>(read: T) => {
    const run = interleave;
    interleave = undefined;
    await run?.();
    return read;
  };
  const { myRecipes } = setup({
    wrapStore: (store) => ({
      ...store,
      getLedger: async (memberId) => afterRead(await store.getLedger(memberId)),
      getRecipe: async (recipeId) => afterRead(await store.getRecipe(recipeId)),
    }),
  });
  const { recipe: created } = await myRecipes.register('alice', recipe);
  await myRecipes.onRecommended(recommended(created.recipeId, 1));
  interleave = () => myRecipes.remove('alice', created.recipeId);
  await myRecipes.onRecommended(recommended(created.recipeId, 2, 'carol'));
  t.deepEqual((await myRecipes.balance('alice')).recipes, {}, 'the deleted recipe earns nothing, for good');
});

test('a deleted recipe leaves a tombstone: its Idempotency-Key cannot bring it back, and nothing of its content stays', async (t) => {
  const { fake, myRecipes } = setup();
  const { recipe: created } = await myRecipes.register('alice', recipe, 'soup-1');
  await myRecipes.remove('alice', created.recipeId);
  const again = await t.throwsAsync(() => myRecipes.register('alice', recipe, 'soup-1'));
  t.like(again, { status: 409, code: 'IDEMPOTENCY.KEY_USED' });
  const stored = fake.state.get(`store/recipe:${created.recipeId}`)!.value as Record<string, unknown>;
  t.deepEqual(Object.keys(stored).sort(), ['deletedAt', 'deletion', 'memberId', 'pointsRevoked', 'recipeId', 'requestHash']);
  await t.throwsAsync(() => myRecipes.get('alice', created.recipeId), { message: 'no such recipe' });
  t.like((await myRecipes.register('alice', recipe, 'soup-2')).recipe, { title: recipe.title });
});

test('a delete retried on another replica while the first commits answers as the first, and releases no hold', async (t) => {
  const fake = fakeSidecar();
  const released: string[] = [];
  let duringWithdraw: (() => Promise<unknown>) | undefined;
  const { outbox } = fakeOutbox(
    fake,
    'myrecipe',
    () => ({ settle: async () => ({ kind: 'pending' }), abandon: async () => ({ kind: 'void' }) }),
    {
      now: new Date('2026-01-01T00:00:00Z'),
    },
  );
  const replica = () =>
    createMyRecipes({
      store: createStore(fake.sidecar, 'store'),
      outbox,
      recommendations: {
        withdraw: async () => {
          const run = duringWithdraw;
          duringWithdraw = undefined;
          await run?.();
          return { held: true, pointsRevoked: 1 };
        },
        releaseHold: async (recipeId) => void released.push(recipeId),
      },
      clock: () => new Date('2026-01-01T00:00:00Z'),
      retryAfterSeconds: 5,
      deductionBreakerSeconds: 10,
      log,
      cursors,
    });
  const [a, b] = [replica(), replica()];
  const { recipe: created } = await a.register('alice', recipe, 'k');
  // The first DELETE commits on replica a while the retried one, on b, waits for its withdrawal.
  duringWithdraw = () => a.remove('alice', created.recipeId);
  t.deepEqual(await b.remove('alice', created.recipeId), { recipeId: created.recipeId, pointsRevoked: 1 });
  t.deepEqual(released, [], 'the hold of the delete that happened is never released by the request');
});
