import test from 'ava';
import { DaprError } from '@recipe/shared';
import { fakeOutbox, fakeSidecar } from '../../../packages/shared/test/fake-sidecar.js';
import { createStore, type CatalogueStore } from '../src/store.js';
import { createCatalogue } from '../src/usecases.js';

const recipeId = '6f1c1f5e-3b0a-4a57-9d77-2b6f0d9b8f11';
const a1 = '0b5e2a9e-1d7c-4c63-9a55-5f0f3c1d2e01';
const a2 = '0b5e2a9e-1d7c-4c63-9a55-5f0f3c1d2e02';
const registered = { recipeId, memberId: 'alice', title: 'Tteokbokki', registeredAt: '2026-01-01T00:00:00.000Z' };

function setup({ wrapStore = (s: CatalogueStore) => s } = {}) {
  const fake = fakeSidecar();
  const clock = { now: new Date('2026-01-01T00:00:00Z') };
  const { outbox, intents, relayAll } = fakeOutbox(fake, 'recipe', () => catalogue.resolver, clock);
  const catalogue = createCatalogue({
    store: wrapStore(createStore(fake.sidecar, 'store')),
    outbox,
    clock: () => clock.now,
    rules: { pointValue: 1 },
    retryAfterSeconds: 5,
  });
  /** Another replica of the service on the same store (its own process, its own locks). */
  const otherReplica = () =>
    createCatalogue({
      store: createStore(fake.sidecar, 'store'),
      outbox,
      clock: () => clock.now,
      rules: { pointValue: 1 },
      retryAfterSeconds: 5,
    });
  return { fake, catalogue, outbox, clock, intents, relayAll, otherReplica };
}

test('Registered twice makes one catalogue entry', async (t) => {
  const { catalogue } = setup();
  await catalogue.onRegistered(registered);
  await catalogue.onRegistered(registered);
  t.like(await catalogue.get(recipeId), { recipeId, title: 'Tteokbokki', points: 0, recommendations: 0 });
});

test('concurrent recommendations by one member award the point once, and the relay publishes one Recommended built from the record', async (t) => {
  const { catalogue, relayAll } = setup();
  await catalogue.onRegistered(registered);
  const results = await Promise.all(Array.from({ length: 5 }, () => catalogue.recommend(recipeId, 'bob')));
  t.is(results.filter((r) => !r.alreadyRecommended).length, 1);
  const events = await relayAll();
  t.is((await catalogue.get(recipeId)).points, 1, 'the relay copied the bucket into the head');
  t.deepEqual(
    events.map((e) => [e.topic, e.id]),
    [['Recommended', `Recommended:${recipeId}:bob`]],
  );
  t.like(events[0]!.data, { recipePoints: 1, points: 1 });
});

test('a recommendation whose guarded write loses its race to a delete leaves no event behind', async (t) => {
  let interleave: (() => Promise<unknown>) | undefined;
  const { catalogue, relayAll, outbox, intents, clock, otherReplica } = setup({
    wrapStore: (store) => ({
      ...store,
      // A delete (a withdrawal, on another replica) lands between the recommendation's read and its write.
      saveBucket: async (recipeId, bucket, value, etag) => {
        const run = interleave;
        interleave = undefined;
        await run?.();
        return store.saveBucket(recipeId, bucket, value, etag);
      },
    }),
  });
  await catalogue.onRegistered(registered);
  interleave = () => otherReplica().withdraw(recipeId, 'alice', a1);
  await t.throwsAsync(() => catalogue.recommend(recipeId, 'bob'), { message: 'no such recipe' });
  t.deepEqual(
    await relayAll(),
    [{ topic: 'recipe-outbox-late', data: intents()[0], id: undefined }],
    'undecided: handed to the late topic',
  );
  clock.now = new Date(clock.now.getTime() + 31_000);
  await outbox.relayLate(intents()[0]!);
  t.deepEqual(await catalogue.withdraw(recipeId, 'alice', a1), { recipeId, held: true, pointsRevoked: 0 }, 'no point was ever added');
});

test('a recommendation whose write answer is lost: a 503 after fencing the attempt off (nothing changed), or a 504 if that cannot be done', async (t) => {
  let failNextSave: Error | undefined;
  const { catalogue, fake, relayAll } = setup({
    wrapStore: (store) => ({
      ...store,
      saveBucket: async (recipeId, bucket, value, etag) => {
        const failure = failNextSave;
        failNextSave = undefined;
        if (failure) throw failure;
        return store.saveBucket(recipeId, bucket, value, etag);
      },
    }),
  });
  await catalogue.onRegistered(registered);
  failNextSave = new DaprError('timeout', undefined, undefined, 'no answer');
  const err = await t.throwsAsync(() => catalogue.recommend(recipeId, 'bob'));
  t.like(err, { status: 503 });
  t.is((await catalogue.get(recipeId)).points, 0);
  t.deepEqual(
    (await relayAll()).map((e) => e.topic),
    [],
    'the fenced-off attempt settles as void at once',
  );

  // The write's answer is lost, and the store is gone before it can be checked.
  failNextSave = new DaprError('timeout', undefined, undefined, 'no answer');
  const get = fake.sidecar.getState.bind(fake.sidecar);
  let reads = 0;
  fake.sidecar.getState = async (store, key) => {
    if (++reads > 2) throw new DaprError('unreachable', undefined, undefined, 'store down'); // after the head and the bucket
    return get(store, key);
  };
  const unknown = await t.throwsAsync(() => catalogue.recommend(recipeId, 'carol'));
  t.like(unknown, { status: 504, code: 'SERVICE.OUTCOME_UNKNOWN' });
});

test('the withdrawal reports the points, is idempotent per attempt, and hides the recipe until released', async (t) => {
  const { catalogue } = setup();
  await catalogue.onRegistered(registered);
  await catalogue.recommend(recipeId, 'bob');
  await catalogue.recommend(recipeId, 'carol');
  t.deepEqual(await catalogue.withdraw(recipeId, 'alice', a1), { recipeId, held: true, pointsRevoked: 2 });
  t.deepEqual(await catalogue.withdraw(recipeId, 'alice', a1), { recipeId, held: true, pointsRevoked: 2 });
  await t.throwsAsync(() => catalogue.get(recipeId), { message: 'no such recipe' });
  await t.throwsAsync(() => catalogue.recommend(recipeId, 'dave'), { message: 'no such recipe' });
  await catalogue.releaseHold(recipeId, 'alice', a1);
  t.like(await catalogue.get(recipeId), { points: 2 });
  t.deepEqual(
    await catalogue.withdraw(recipeId, 'alice', a1),
    { recipeId, held: false },
    'a late withdrawal of a released attempt is refused',
  );
});

test('only the author can withdraw', async (t) => {
  const { catalogue } = setup();
  await catalogue.onRegistered(registered);
  const err = await t.throwsAsync(() => catalogue.withdraw(recipeId, 'mallory', a1));
  t.like(err, { status: 403 });
});

test('a hold never lapses by time; Deleted makes the withdrawal final whichever attempt made it', async (t) => {
  const { catalogue, clock } = setup();
  await catalogue.onRegistered(registered);
  await catalogue.withdraw(recipeId, 'alice', a1);
  await catalogue.withdraw(recipeId, 'alice', a2);
  clock.now = new Date(clock.now.getTime() + 3_600_000);
  await t.throwsAsync(() => catalogue.get(recipeId), undefined, 'still held an hour later');
  await catalogue.onDeleted({ recipeId, memberId: 'alice', pointsRevoked: 0, deletedAt: '2026-01-01T00:00:31Z' });
  await catalogue.releaseHold(recipeId, 'alice', a1);
  await t.throwsAsync(() => catalogue.get(recipeId), undefined, 'deleted for good');
});

test('Deleted before Registered: the recipe never becomes recommendable', async (t) => {
  const { catalogue } = setup();
  await catalogue.onDeleted({ recipeId, memberId: 'alice', pointsRevoked: 0, deletedAt: '2026-01-01T00:00:00Z' });
  await catalogue.onRegistered(registered);
  await t.throwsAsync(() => catalogue.recommend(recipeId, 'bob'), { message: 'no such recipe' });
});
