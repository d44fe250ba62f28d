import { randomUUID } from 'node:crypto';
import test from 'ava';
import pg from 'pg';
import type { RunningService } from '../support/dapr.js';
import { eventually } from '../support/processes.js';
import { viaSidecar } from '../support/sidecar.js';
import { readTopic } from '../support/streams.js';
import { startApp, startSidecarOnly } from '../support/system.js';
import { useBacking } from '../support/use-system.js';
import { createDatabase } from '../support/backing.js';
import { createLogger } from '@recipe/shared';
import { connect, migrate } from '../../services/mypage/src/store.js';

// The read model with its real daprd, Redis Streams and its own PostgreSQL schema (knex migrations).
let mypage: RunningService;
let producers: RunningService[];
let dapr: ReturnType<typeof viaSidecar>;
let asMyrecipe: ReturnType<typeof viaSidecar>;
let asRecipe: ReturnType<typeof viaSidecar>;

const backing = useBacking(test, {
  beforeStop: () => Promise.all([mypage?.stop(), ...(producers ?? []).map((p) => p.stop())]),
});

test.before(async () => {
  let myrecipeProducer: RunningService;
  let recipeProducer: RunningService;
  [mypage, myrecipeProducer, recipeProducer] = await Promise.all([
    startApp(backing(), 'mypage'),
    startSidecarOnly(backing(), 'myrecipe'),
    startSidecarOnly(backing(), 'recipe'),
  ]);
  producers = [myrecipeProducer, recipeProducer];
  dapr = viaSidecar(mypage, mypage.daprApiToken);
  asMyrecipe = viaSidecar(myrecipeProducer, myrecipeProducer.daprApiToken);
  asRecipe = viaSidecar(recipeProducer, recipeProducer.daprApiToken);
});

const page = (member: string) => dapr.invoke('mypage', 'GET', `mypages/${member}`);
const now = () => new Date().toISOString();
const registered = (recipeId: string, memberId: string, title: string) =>
  asMyrecipe.publish('Registered', { recipeId, memberId, title, registeredAt: now() }, `Registered:${recipeId}`);
const recommended = (recipeId: string, authorId: string, recommenderId: string, recipePoints: number) =>
  asRecipe.publish(
    'Recommended',
    { recipeId, authorId, recommenderId, points: 1, recipePoints, recommendedAt: now() },
    `Recommended:${recipeId}:${recommenderId}`,
  );
const deleted = (recipeId: string, memberId: string) =>
  asMyrecipe.publish('Deleted', { recipeId, memberId, pointsRevoked: 0, deletedAt: now() }, `Deleted:${recipeId}`);

test('the migrations created the read model in its own schema', async (t) => {
  const client = new pg.Client({ connectionString: backing().db.url });
  await client.connect();
  const { rows } = await client.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'mypage' ORDER BY 1");
  await client.end();
  t.deepEqual(
    rows.map((r) => r.table_name),
    ['knex_migrations', 'knex_migrations_lock', 'member_profiles', 'points_log', 'recipes'],
  );
});

test('replicas starting at the same moment on an empty database all migrate it, one at a time', async (t) => {
  const db = await createDatabase('concurrent-migrations');
  const log = createLogger('test', 'silent');
  const replicas = Array.from({ length: 4 }, () => connect(db.url, 'mypage', 2));
  try {
    const results = await Promise.allSettled(replicas.map((knex) => migrate(knex, 'mypage', log)));
    t.deepEqual(
      results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok')),
      ['ok', 'ok', 'ok', 'ok'],
    );
    const { rows } = await replicas[0]!.raw('SELECT name FROM mypage.knex_migrations ORDER BY id');
    t.deepEqual(
      rows.map((r: { name: string }) => r.name),
      [
        '001_recipes_and_processed_events',
        '002_drop_processed_events',
        '003_search_and_keyset_paging',
        '004_member_profiles',
        '005_points_log_logged_at',
      ],
    );
  } finally {
    await Promise.all(replicas.map((knex) => knex.destroy()));
    await db.drop();
  }
});

test('the read model converges whatever copies of an event arrive first: an early copy with a lower total never hides the later one', async (t) => {
  const id = randomUUID();
  await registered(id, 'ivan', 'Kongguksu');
  // The same event id twice, the first copy carrying a lower total (as a
  // record written by an attempt that lost its race once could).
  await recommended(id, 'ivan', 'x', 1);
  await asRecipe.publish(
    'Recommended',
    { recipeId: id, authorId: 'ivan', recommenderId: 'x', points: 1, recipePoints: 2, recommendedAt: now() },
    `Recommended:${id}:x`,
  );
  const view = await eventually(
    async () => {
      const res = await page('ivan');
      return res.body.balance === 2 ? res.body : undefined;
    },
    { what: 'the higher total', timeoutMs: 10_000 },
  );
  t.is(view.recipes[0].points, 2);
});

test('when events arrive out of order and twice, then the page and balance come out exact', async (t) => {
  const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
  // Recommended before Registered, duplicates, and an older total after a newer one.
  await recommended(a, 'gina', 'x', 2);
  await recommended(a, 'gina', 'x', 2);
  await registered(a, 'gina', 'Naengmyeon');
  await registered(b, 'gina', 'Sundubu');
  await recommended(b, 'gina', 'y', 3);
  await recommended(b, 'gina', 'z', 2);
  // Deleted before its Registered: never listed, never counted.
  await deleted(c, 'gina');
  await recommended(c, 'gina', 'y', 5);
  await registered(c, 'gina', 'Gone');

  const view = await eventually(
    async () => {
      const res = await page('gina');
      return res.body.balance === 5 && res.body.recipes.length === 2 ? res.body : undefined;
    },
    { what: 'settled page' },
  );
  t.deepEqual(view.recipes.map((r: { title: string; points: number }) => [r.title, r.points]).sort(), [
    ['Naengmyeon', 2],
    ['Sundubu', 3],
  ]);
  await new Promise((r) => setTimeout(r, 300));
  t.is((await page('gina')).body.balance, 5);
});

test('the catalogue lists live recipes most recommended first, with pages', async (t) => {
  const ids = [randomUUID(), randomUUID(), randomUUID()];
  await Promise.all(ids.map((id, i) => registered(id, 'hank', `Catalogue ${i}`)));
  await Promise.all(ids.map((id, i) => recommended(id, 'hank', 'r', 100 + i)));
  const first = await eventually(
    async () => {
      const res = await dapr.invoke('mypage', 'GET', 'catalogue?page=1&size=2');
      return res.body.items?.[0]?.points === 102 && res.body.items[1]?.points === 101 ? res.body : undefined;
    },
    { what: 'sorted catalogue' },
  );
  t.true(first.hasMore);
  const second = await dapr.invoke('mypage', 'GET', 'catalogue?page=2&size=2');
  t.is(second.status, 200, JSON.stringify(second.body));
  t.is(second.body.items[0].points, 100);
  t.is((await dapr.invoke('mypage', 'GET', 'catalogue?size=1000')).status, 400);
  t.is((await dapr.invoke('mypage', 'GET', 'catalogue?sort=points')).status, 400);
});

test('Registered events with ingredients make recipes searchable, in English and Hangul, and pages follow their cursors', async (t) => {
  const tag = randomUUID().slice(0, 8);
  const [stew, braise] = [randomUUID(), randomUUID()];
  await asMyrecipe.publish(
    'Registered',
    { recipeId: stew, memberId: 'kim', title: `김치찌개 ${tag}`, ingredients: ['김치', 'Pork belly', '두부'], registeredAt: now() },
    `Registered:${stew}`,
  );
  // An event from before ingredients were carried: still valid, searchable by its title.
  await registered(braise, 'kim', `두부조림 ${tag}`);
  const search = async (query: string) =>
    ((await dapr.invoke('mypage', 'GET', `catalogue?${query}`)).body.items as { recipeId: string }[]).map((i) => i.recipeId);
  t.deepEqual(
    await eventually(
      async () =>
        (await search(`q=${encodeURIComponent(tag)}`)).length === 2 ? search(`q=${encodeURIComponent(`두부 ${tag}`)}`) : undefined,
      {
        what: 'both listed',
      },
    ),
    [braise, stew],
  );
  t.deepEqual(await search(`q=${encodeURIComponent(`김치 ${tag}`)}`), [stew]);
  t.deepEqual(await search(`q=${tag}&ingredient=PORK%20BELLY`), [stew]);

  const first = await dapr.invoke('mypage', 'GET', 'mypages/kim?limit=1');
  t.like(first.body, { memberId: 'kim', limit: 1, hasMore: true });
  t.is(first.body.recipes[0].recipeId, braise, 'newest first');
  const second = await dapr.invoke('mypage', 'GET', `mypages/kim?limit=1&cursor=${first.body.nextCursor}`);
  t.like(second.body, { hasMore: false, nextCursor: null });
  t.is(second.body.recipes[0].recipeId, stew);
  const foreign = await dapr.invoke('mypage', 'GET', `mypages/lee?limit=1&cursor=${first.body.nextCursor}`);
  t.is(foreign.status, 400);
  t.like(foreign.body.error, { code: 'REQUEST.INVALID', details: [{ field: 'cursor' }] });
  t.is((await dapr.invoke('mypage', 'GET', `catalogue?cursor=${first.body.nextCursor}`)).status, 400);
  t.is((await dapr.invoke('mypage', 'GET', `catalogue?q=x&page=2`)).status, 400, 'no OFFSET paging of a search');
  t.is((await dapr.invoke('mypage', 'GET', `catalogue?page=11&size=100`)).status, 400, 'the OFFSET form stops at 1000 entries');
});

test('when a malformed Deleted arrives, then it is dead-lettered', async (t) => {
  await asMyrecipe.publish(
    'Deleted',
    { recipeId: randomUUID(), memberId: 'x', pointsRevoked: -1, deletedAt: 'yesterday' },
    'poison-deleted',
  );
  t.truthy(
    await eventually(async () => (await readTopic(backing().redis, 'Deleted-deadletter')).find((e) => e.id === 'poison-deleted'), {
      what: 'dead letter',
    }),
  );
});
