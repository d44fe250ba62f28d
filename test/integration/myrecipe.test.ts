import { randomUUID } from 'node:crypto';
import test from 'ava';
import pg from 'pg';
import { sampleRecipe } from '../support/client.js';
import type { RunningService } from '../support/dapr.js';
import { eventually } from '../support/processes.js';
import { viaSidecar } from '../support/sidecar.js';
import { readTopic } from '../support/streams.js';
import { startApp, startSidecarOnly } from '../support/system.js';
import { useBacking } from '../support/use-system.js';
import { createLogger, createSidecar } from '@recipe/shared';
import { createCursors } from '../../services/myrecipe/src/cursor.js';
import { createStore, type MyRecipeStore } from '../../services/myrecipe/src/store.js';
import { createMyRecipes } from '../../services/myrecipe/src/usecases.js';

// myrecipe with its real daprd, PostgreSQL state store (with the outbox) and Redis Streams.
let myrecipe: RunningService;
let recipeProducer: RunningService;
/** A second sidecar with myrecipe's identity, for replicas of the service run in this process. */
let myrecipeReplica: RunningService;
let dapr: ReturnType<typeof viaSidecar>;
let asRecipe: ReturnType<typeof viaSidecar>;

const backing = useBacking(test, {
  beforeStop: () => Promise.all([myrecipe?.stop(), recipeProducer?.stop(), myrecipeReplica?.stop()]),
});

test.before(async () => {
  [myrecipe, recipeProducer, myrecipeReplica] = await Promise.all([
    startApp(backing(), 'myrecipe'),
    startSidecarOnly(backing(), 'recipe'),
    startSidecarOnly(backing(), 'myrecipe'),
  ]);
  dapr = viaSidecar(myrecipe, myrecipe.daprApiToken);
  asRecipe = viaSidecar(recipeProducer, recipeProducer.daprApiToken);
});

const register = (member: string, body: unknown, key?: string) =>
  dapr.invoke('myrecipe', 'POST', 'myrecipes', { member, body, headers: key ? { 'idempotency-key': key } : {} });

test('when a recipe is registered, then it is stored in PostgreSQL and Registered is published once, built from the stored recipe', async (t) => {
  const res = await register('alice', sampleRecipe('Japchae'));
  t.is(res.status, 201, res.text);
  const { recipeId } = res.body;

  const client = new pg.Client({ connectionString: backing().db.url });
  await client.connect();
  const rows = await client.query('SELECT key FROM myrecipe_state WHERE key = $1', [`myrecipe||recipe:${recipeId}`]);
  await client.end();
  t.is(rows.rowCount, 1);

  const events = await eventually(
    async () => {
      const all = (await readTopic(backing().redis, 'Registered')).filter((e) => e.data.recipeId === recipeId);
      return all.length >= 1 ? all : undefined;
    },
    { what: 'Registered', timeoutMs: 15_000 },
  );
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const all = (await readTopic(backing().redis, 'Registered')).filter((e) => e.data.recipeId === recipeId);
  t.is(all.length, 1, 'one delivery per event');
  t.is(events[0]!.id, `Registered:${recipeId}`);
  t.deepEqual(events[0]!.data, {
    recipeId,
    memberId: 'alice',
    title: 'Japchae',
    ingredients: sampleRecipe('Japchae').ingredients,
    registeredAt: res.body.registeredAt,
  });
});

test('when the same Idempotency-Key is sent five times at once, then exactly one recipe exists', async (t) => {
  const replies = await Promise.all(Array.from({ length: 5 }, () => register('alice', sampleRecipe('Once'), 'same-key')));
  t.true(
    replies.every((r) => r.status === 201),
    replies.map((r) => r.text).join('\n'),
  );
  t.is(new Set(replies.map((r) => r.body.recipeId)).size, 1);
  const other = await register('alice', sampleRecipe('Different'), 'same-key');
  t.is(other.status, 409);
  t.is(other.body.error.code, 'IDEMPOTENCY.KEY_REUSED');
});

test('when the body carries unknown fields or bad types, then 400 names the field and nothing is stored', async (t) => {
  const res = await register('alice', { ...sampleRecipe(), points: 100 });
  t.is(res.status, 400);
  t.is(res.body.error.code, 'REQUEST.INVALID');
  t.true(JSON.stringify(res.body.error.details).includes('points') || res.body.error.message.includes('points'));
  t.is((await register('alice', { title: 5, ingredients: 'x', steps: [] })).status, 400);
});

test('when Recommended arrives (twice, and an older one late), then the author balance counts the latest total once', async (t) => {
  const { body } = await register('bob', sampleRecipe('Bossam'));
  const event = (recipePoints: number, recommenderId: string) => ({
    recipeId: body.recipeId,
    authorId: 'bob',
    recommenderId,
    points: 1,
    recipePoints,
    recommendedAt: new Date().toISOString(),
  });
  await asRecipe.publish('Recommended', event(2, 'dave'), `Recommended:${body.recipeId}:dave`);
  await asRecipe.publish('Recommended', event(2, 'dave'), `Recommended:${body.recipeId}:dave`);
  await asRecipe.publish('Recommended', event(1, 'carol'), `Recommended:${body.recipeId}:carol`);
  await eventually(async () => (await dapr.invoke('myrecipe', 'GET', 'members/bob/balance')).body.balance === 2, { what: 'balance 2' });
  await new Promise((r) => setTimeout(r, 500));
  t.is((await dapr.invoke('myrecipe', 'GET', 'members/bob/balance')).body.balance, 2);
  t.is((await dapr.invoke('myrecipe', 'GET', `myrecipes/${body.recipeId}`, { member: 'bob' })).body.points, 2);
});

test('when a malformed event arrives, then it goes to the dead-letter topic and is not retried forever', async (t) => {
  await asRecipe.publish('Recommended', { recipeId: 'not-a-uuid' }, 'poison-1');
  const dead = await eventually(async () => (await readTopic(backing().redis, 'Recommended-deadletter')).find((e) => e.id === 'poison-1'), {
    what: 'dead letter',
  });
  t.deepEqual(dead.data, { recipeId: 'not-a-uuid' });
});

test('when the recommendation service has no app behind its sidecar, a delete answers 503 with Retry-After and the recipe stays', async (t) => {
  const { body } = await register('erin', sampleRecipe('Galbi'));
  const res = await dapr.invoke('myrecipe', 'DELETE', `myrecipes/${body.recipeId}`, { member: 'erin' });
  t.is(res.status, 503);
  t.truthy(res.headers.get('retry-after'));
  t.is((await dapr.invoke('myrecipe', 'GET', `myrecipes/${body.recipeId}`, { member: 'erin' })).status, 200);
});

test("two replicas on real sidecars: a delete committing between a credit's reads never brings the deleted recipe's points back (PostgreSQL transactions, real ETags)", async (t) => {
  const log = createLogger('replica', 'silent');
  const sidecar = createSidecar({ host: '127.0.0.1', httpPort: myrecipeReplica.daprHttpPort, apiToken: myrecipeReplica.daprApiToken, log });
  const store = createStore(sidecar, 'myrecipe-store');
  const replica = (wrap: (s: MyRecipeStore) => MyRecipeStore) =>
    createMyRecipes({
      store: wrap(store),
      outbox: {
        intend: async () => ({ id: randomUUID(), topic: 'Deleted', subject: {}, createdAt: new Date().toISOString() }),
        finished: () => undefined,
      },
      // The recommendation service holds the points (this test is about myrecipe's store).
      recommendations: { withdraw: async () => ({ held: true, pointsRevoked: 1 }), releaseHold: async () => undefined },
      clock: () => new Date(),
      retryAfterSeconds: 5,
      deductionBreakerSeconds: 10,
      log,
      cursors: createCursors(undefined),
    });
  let interleave: (() => Promise<unknown>) | undefined;
  // The other replica's delete lands right after this replica's first read, whichever it is.
  const afterRead = async <T>(read: T) => {
    const run = interleave;
    interleave = undefined;
    await run?.();
    return read;
  };
  const crediting = replica((s) => ({
    ...s,
    getLedger: async (m) => afterRead(await s.getLedger(m)),
    getRecipe: async (r) => afterRead(await s.getRecipe(r)),
  }));
  const deleting = replica((s) => s);
  const { body } = await register('ivy', sampleRecipe('Gone for good'));
  await crediting.onRecommended({
    recipeId: body.recipeId,
    authorId: 'ivy',
    recommenderId: 'x',
    points: 1,
    recipePoints: 1,
    recommendedAt: new Date().toISOString(),
  });
  interleave = () => deleting.remove('ivy', body.recipeId);
  await crediting.onRecommended({
    recipeId: body.recipeId,
    authorId: 'ivy',
    recommenderId: 'y',
    points: 1,
    recipePoints: 2,
    recommendedAt: new Date().toISOString(),
  });
  t.deepEqual(
    (await dapr.invoke('myrecipe', 'GET', 'members/ivy/balance')).body,
    { memberId: 'ivy', balance: 0, recipes: {} },
    'the deleted recipe earns nothing, for good',
  );
});

const listPage = (member: string, query: string, caller = member) =>
  dapr.invoke('myrecipe', 'GET', `members/${member}/recipes?${query}`, { member: caller });

async function allPages(member: string, limit: number) {
  const titles: string[] = [];
  for (let query = `limit=${limit}`; ;) {
    const res = await listPage(member, query);
    if (res.status !== 200) throw new Error(`${res.status} ${res.text}`);
    titles.push(...(res.body.items as { title: string }[]).map((i) => i.title));
    if (!res.body.nextCursor) return titles;
    query = `limit=${limit}&cursor=${res.body.nextCursor}`;
  }
}

test('when a member pages through their recipes on the real store, then each comes once, newest first; a tampered cursor is a 400, another member a 404', async (t) => {
  for (let i = 0; i < 5; i++) {
    const res = await dapr.invoke('myrecipe', 'POST', 'myrecipes', {
      member: 'lena',
      body: sampleRecipe(`Lena ${i}`),
      headers: { 'x-member-name': encodeURIComponent('레나 K') },
    });
    t.is(res.status, 201, res.text);
  }
  t.deepEqual(await allPages('lena', 2), ['Lena 4', 'Lena 3', 'Lena 2', 'Lena 1', 'Lena 0']);
  const first = await listPage('lena', 'limit=2');
  const [body, tag] = (first.body.nextCursor as string).split('.');
  const forged = `${Buffer.from(JSON.stringify({ below: 1 })).toString('base64url')}.${tag}`;
  for (const cursor of [forged, `${body}.${tag!.slice(0, -1)}${tag!.endsWith('A') ? 'B' : 'A'}`]) {
    const res = await listPage('lena', `limit=2&cursor=${cursor}`);
    t.is(res.status, 400, res.text);
    t.is(res.body.error.code, 'REQUEST.INVALID');
  }
  t.is((await listPage('lena', 'limit=2', 'mallory')).status, 404, 'only the member themself');
  t.is((await listPage('lena', 'limit=500')).status, 400);

  const registered = await eventually(
    async () => {
      const mine = (await readTopic(backing().redis, 'Registered')).filter((e) => e.data.memberId === 'lena');
      return mine.length === 5 ? mine : undefined;
    },
    { what: "lena's Registered events", timeoutMs: 15_000 },
  );
  t.true(
    registered.every((e) => e.data.authorName === '레나 K'),
    "Registered carries the author's token name",
  );
});

test('two replicas on real sidecars registering and deleting for one member at once keep the list exact, in chunks of at most 3 (PostgreSQL transactions, real ETags)', async (t) => {
  const log = createLogger('replica', 'silent');
  const sidecar = createSidecar({ host: '127.0.0.1', httpPort: myrecipeReplica.daprHttpPort, apiToken: myrecipeReplica.daprApiToken, log });
  const replica = createMyRecipes({
    store: createStore(sidecar, 'myrecipe-store'),
    outbox: {
      intend: async (topic) => ({ id: randomUUID(), topic, subject: {}, createdAt: new Date().toISOString() }),
      finished: () => undefined,
    },
    recommendations: { withdraw: async () => ({ held: true, pointsRevoked: 0 }), releaseHold: async () => undefined },
    clock: () => new Date(),
    retryAfterSeconds: 5,
    deductionBreakerSeconds: 10,
    log,
    cursors: createCursors(undefined),
    // The member's first registration fixes the chunk size for every replica (it is kept in the list's head).
    indexChunkSize: 3,
  });
  await replica.register('max', sampleRecipe('max first'));
  const results = await Promise.all([
    ...Array.from({ length: 5 }, (_, i) => register('max', sampleRecipe(`max app ${i}`)).then((r) => r.body.recipeId as string)),
    ...Array.from({ length: 5 }, (_, i) => replica.register('max', sampleRecipe(`max replica ${i}`)).then((r) => r.recipe.recipeId)),
  ]);
  const gone = [results[0]!, results[6]!, results[8]!];
  await Promise.all(gone.map((id) => replica.remove('max', id)));

  const titles = await allPages('max', 2);
  t.is(new Set(titles).size, titles.length, 'no recipe twice');
  t.deepEqual([...titles].sort(), [
    'max app 1',
    'max app 2',
    'max app 3',
    'max app 4',
    'max first',
    'max replica 0',
    'max replica 2',
    'max replica 4',
  ]);
  const client = new pg.Client({ connectionString: backing().db.url });
  await client.connect();
  const records = await client.query<{ key: string; value: Buffer }>(
    "SELECT key, value FROM myrecipe_state WHERE key LIKE 'myrecipe||recipes-of:max%'",
  );
  await client.end();
  const sizes = records.rows.map((r) => (JSON.parse(r.value.toString('utf8')) as { entries: unknown[] }).entries.length);
  t.true(sizes.length >= 4, `${sizes.length} list records`);
  t.true(
    sizes.every((n) => n <= 3),
    JSON.stringify(sizes),
  );
});
