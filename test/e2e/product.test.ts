import { randomUUID } from 'node:crypto';
import test from 'ava';
import { checkInvariants } from '../../scripts/invariants.js';
import { call, memberClient, sampleRecipe, type MemberClient } from '../support/client.js';
import { eventually } from '../support/processes.js';
import { viaSidecar } from '../support/sidecar.js';
import { checkTargets } from '../support/system.js';
import { useSystem } from '../support/use-system.js';

// The whole product through the gateway, with real sidecars. Each test uses its
// own members, so the tests of this file run concurrently on one system.
const POINT = 2;
const system = useSystem(test, { env: { recipe: { POINT: String(POINT) } } });

const member = async (name: string): Promise<MemberClient> =>
  memberClient(system().gatewayUrl, await system().token(`${name}-${randomUUID().slice(0, 8)}`));
const memberId = async (client: MemberClient) => (await client.get('/mypages/me')).body.memberId as string;

async function registered(author: MemberClient, title = 'Doenjang jjigae') {
  const res = await author.post('/myrecipes', sampleRecipe(title));
  if (res.status !== 201) throw new Error(`register: ${res.status} ${res.text}`);
  await eventually(async () => (await author.get(`/recipes/${res.body.recipeId}`)).status === 200, { what: 'recipe recommendable' });
  return res.body.recipeId as string;
}

const pageOf = async (client: MemberClient) => (await client.get('/mypages/me')).body;

test('FR1: a member registers a recipe and sees it as their own; another member cannot see it as theirs', async (t) => {
  const [alice, bob] = await Promise.all([member('alice'), member('bob')]);
  const created = await alice.post('/myrecipes', sampleRecipe('Haemul pajeon'));
  t.is(created.status, 201);
  t.like(created.body, { ...sampleRecipe('Haemul pajeon'), memberId: await memberId(alice), points: 0 });
  t.regex(created.body.recipeId, /^[0-9a-f-]{36}$/);
  t.deepEqual((await alice.get(`/myrecipes/${created.body.recipeId}`)).body, created.body);
  const foreign = await bob.get(`/myrecipes/${created.body.recipeId}`);
  t.is(foreign.status, 404, "someone else's recipe does not exist for you");
  t.is(foreign.body.error.code, 'RECIPE.NOT_FOUND');
});

test('FR2+3: recommendations award POINT to the recipe and the author, once per member, never to oneself', async (t) => {
  const [alice, bob, carol] = await Promise.all([member('alice'), member('bob'), member('carol')]);
  const id = await registered(alice);
  const first = await bob.post(`/recipes/${id}/recommendations`);
  t.is(first.status, 201);
  t.like(first.body, { points: POINT, recommendations: 1, alreadyRecommended: false });
  const repeat = await bob.post(`/recipes/${id}/recommendations`);
  t.is(repeat.status, 200, 'a repeat is not an error, and earns nothing');
  t.is(repeat.body.points, POINT);
  const own = await alice.post(`/recipes/${id}/recommendations`);
  t.is(own.status, 403);
  t.is(own.body.error.code, 'RECOMMENDATION.OWN_RECIPE');
  t.is((await carol.post(`/recipes/${id}/recommendations`)).status, 201);

  await eventually(async () => (await pageOf(alice)).balance === 2 * POINT, { what: 'balance on my page' });
  await eventually(async () => (await alice.get(`/myrecipes/${id}`)).body.points === 2 * POINT, { what: 'points in myrecipe' });
  t.is((await bob.get(`/recipes/${id}`)).body.points, 2 * POINT);
  t.like((await pageOf(alice)).recipes[0], { recipeId: id, points: 2 * POINT });
});

test('FR2: concurrent recommendations by many members are all counted, by one member once', async (t) => {
  const alice = await member('alice');
  const id = await registered(alice);
  const fans = await Promise.all(Array.from({ length: 8 }, () => member('fan')));
  const replies = await Promise.all(fans.map((fan) => fan.post(`/recipes/${id}/recommendations`)));
  t.true(replies.every((r) => r.status === 201));
  const same = await Promise.all(Array.from({ length: 8 }, () => fans[0]!.post(`/recipes/${id}/recommendations`)));
  t.true(same.every((r) => r.status === 200));
  await eventually(async () => (await pageOf(alice)).balance === 8 * POINT, { what: '8 recommendations on my page' });
  t.is((await alice.get(`/recipes/${id}`)).body.points, 8 * POINT);
});

test('unknown and deleted recipes cannot be recommended (404); bad ids are 400', async (t) => {
  const [alice, bob] = await Promise.all([member('alice'), member('bob')]);
  t.is((await bob.post(`/recipes/${randomUUID()}/recommendations`)).status, 404);
  t.is((await bob.post('/recipes/not-a-uuid/recommendations')).status, 400);
  const id = await registered(alice);
  t.is((await alice.delete(`/myrecipes/${id}`)).status, 200);
  t.is((await bob.post(`/recipes/${id}/recommendations`)).status, 404);
  t.is((await bob.get(`/recipes/${id}`)).status, 404);
});

test('FR4+5: deleting a recipe takes its points back at once, everywhere; only the owner can', async (t) => {
  const [alice, bob, carol] = await Promise.all([member('alice'), member('bob'), member('carol')]);
  const keep = await registered(alice, 'Kept');
  const gone = await registered(alice, 'Gone');
  await bob.post(`/recipes/${keep}/recommendations`);
  await bob.post(`/recipes/${gone}/recommendations`);
  await carol.post(`/recipes/${gone}/recommendations`);
  await eventually(async () => (await pageOf(alice)).balance === 3 * POINT, { what: 'balance before delete' });

  const notMine = await bob.delete(`/myrecipes/${gone}`);
  t.is(notMine.status, 404);
  const res = await alice.delete(`/myrecipes/${gone}`);
  t.is(res.status, 200);
  t.deepEqual(res.body, { recipeId: gone, pointsRevoked: 2 * POINT });
  // Immediately: the owner's recipe is gone and the recommendation service no longer has it.
  t.is((await alice.get(`/myrecipes/${gone}`)).status, 404);
  t.is((await bob.get(`/recipes/${gone}`)).status, 404);
  const again = await alice.delete(`/myrecipes/${gone}`);
  t.is(again.status, 200, 'a repeated delete (a retry after a lost answer) answers as the first did');
  t.deepEqual(again.body, res.body);
  t.is((await bob.delete(`/myrecipes/${gone}`)).status, 404, "still nobody else's");
  const page = await eventually(
    async () => {
      const p = await pageOf(alice);
      return p.balance === POINT && p.recipes.length === 1 ? p : undefined;
    },
    { what: 'my page after delete' },
  );
  t.deepEqual(
    page.recipes.map((r: { recipeId: string }) => r.recipeId),
    [keep],
  );
});

test('FR6: my page lists my recipes with points, newest first, and only mine', async (t) => {
  const [dana, erin] = await Promise.all([member('dana'), member('erin')]);
  const first = await registered(dana, 'First');
  const second = await registered(dana, 'Second');
  await registered(erin, "Not Dana's");
  await erin.post(`/recipes/${first}/recommendations`);
  const page = await eventually(
    async () => {
      const p = await pageOf(dana);
      return p.balance === POINT ? p : undefined;
    },
    { what: 'dana page' },
  );
  t.is(page.memberId, await memberId(dana));
  t.deepEqual(
    page.recipes.map((r: { recipeId: string; points: number }) => [r.recipeId, r.points]),
    [
      [second, 0],
      [first, POINT],
    ],
  );
});

test('the catalogue is most recommended first and paginated', async (t) => {
  const author = await member('author');
  const [low, high] = [await registered(author, 'Low'), await registered(author, 'High')];
  const fans = await Promise.all(Array.from({ length: 3 }, () => member('fan')));
  for (const fan of fans) await fan.post(`/recipes/${high}/recommendations`);
  await fans[0]!.post(`/recipes/${low}/recommendations`);
  const items = await eventually(
    async () => {
      const all: { recipeId: string; points: number }[] = [];
      for (let page = 1; ; page++) {
        const res = await author.get(`/recipes?page=${page}&size=5`);
        all.push(...res.body.items);
        if (!res.body.hasMore) break;
      }
      const [h, l] = [all.findIndex((r) => r.recipeId === high), all.findIndex((r) => r.recipeId === low)];
      return h >= 0 && l >= 0 && all[h]!.points === 3 * POINT && all[l]!.points === POINT ? all : undefined;
    },
    { what: 'catalogue order' },
  );
  t.true(items.findIndex((r) => r.recipeId === high) < items.findIndex((r) => r.recipeId === low));
  for (let i = 1; i < items.length; i++) t.true(items[i - 1]!.points >= items[i]!.points, 'sorted by points');
  t.is((await author.get('/recipes?size=0')).status, 400);
});

test('search by words (English and Korean) and by ingredient, and cursor paging to the end', async (t) => {
  const [cook, reader] = await Promise.all([member('cook'), member('reader')]);
  const tag = randomUUID().slice(0, 8);
  const body = { title: `순두부찌개 ${tag}`, ingredients: ['Soft tofu', '바지락', 'gochugaru'], steps: ['Simmer.'] };
  const [created, other] = await Promise.all([cook.post('/myrecipes', body), cook.post('/myrecipes', sampleRecipe(`Plain ${tag}`))]);
  t.is(created.status, 201);
  t.is(other.status, 201);
  const found = (query: string) =>
    reader.get(`/recipes?${query}`).then((r) => (r.body.items as { recipeId: string }[]).map((i) => i.recipeId));
  t.deepEqual(
    await eventually(async () => ((await found(`q=${tag}`)).length === 2 ? found(`q=${encodeURIComponent(`찌개 ${tag}`)}`) : undefined), {
      what: 'searchable',
    }),
    [created.body.recipeId],
  );
  t.deepEqual(await found(`q=gochugaru%20${tag}`), [created.body.recipeId]);
  t.deepEqual(await found(`q=${tag}&ingredient=soft%20TOFU`), [created.body.recipeId]);
  t.deepEqual(await found(`q=${tag}&ingredient=tofu`), [other.body.recipeId], 'a whole ingredient: not "Soft tofu"');

  const seen: string[] = [];
  for (let cursor = ''; ;) {
    const res = await reader.get(`/recipes?limit=3${cursor && `&cursor=${cursor}`}`);
    t.is(res.status, 200);
    seen.push(...(res.body.items as { recipeId: string }[]).map((i) => i.recipeId));
    if (!res.body.nextCursor) break;
    cursor = res.body.nextCursor;
  }
  t.is(new Set(seen).size, seen.length, 'no recipe twice');
  t.true(seen.includes(created.body.recipeId));
  const first = await reader.get(`/recipes?limit=1&q=${tag}`);
  t.true(first.body.hasMore);
  t.is((await reader.get(`/recipes?limit=1&q=${tag}&cursor=${first.body.nextCursor}`)).body.items.length, 1);
  const bad = await reader.get(`/recipes?limit=1&cursor=${first.body.nextCursor}&q=other`);
  t.is(bad.status, 400);
  t.is(bad.body.error.details[0].field, 'cursor');
});

test('Idempotency-Key: a retried POST returns the first recipe; the key with another body is 409', async (t) => {
  const alice = await member('alice');
  const key = randomUUID();
  const replies = await Promise.all(
    Array.from({ length: 4 }, () => alice.post('/myrecipes', sampleRecipe('Once only'), { headers: { 'idempotency-key': key } })),
  );
  t.true(replies.every((r) => r.status === 201));
  t.is(new Set(replies.map((r) => r.body.recipeId)).size, 1);
  const reused = await alice.post('/myrecipes', sampleRecipe('Something else'), { headers: { 'idempotency-key': key } });
  t.is(reused.status, 409);
  t.is(reused.body.error.code, 'IDEMPOTENCY.KEY_REUSED');
  // Once its recipe is deleted, the key stays spent: it never brings the recipe back.
  const other = randomUUID();
  const { body } = await alice.post('/myrecipes', sampleRecipe('Short-lived'), { headers: { 'idempotency-key': other } });
  await eventually(async () => (await alice.delete(`/myrecipes/${body.recipeId}`)).status === 200, { what: 'deleted' });
  const spent = await alice.post('/myrecipes', sampleRecipe('Short-lived'), { headers: { 'idempotency-key': other } });
  t.is(spent.status, 409);
  t.is(spent.body.error.code, 'IDEMPOTENCY.KEY_USED');
  await eventually(async () => (await pageOf(alice)).recipes.length === 1, { what: 'one recipe on my page' });
  await new Promise((r) => setTimeout(r, 300));
  t.is((await pageOf(alice)).recipes.length, 1);
});

test('bad input gets a clear 4xx JSON error and stores nothing', async (t) => {
  const alice = await member('alice');
  const invalid = await alice.post('/myrecipes', { ...sampleRecipe(), title: '' });
  t.is(invalid.status, 400);
  t.is(invalid.body.error.details[0].field, 'title');
  const massAssignment = await alice.post('/myrecipes', { ...sampleRecipe(), points: 1000, memberId: 'someone-else' });
  t.is(massAssignment.status, 400);
  t.is((await alice.post('/myrecipes', undefined, { rawBody: '{"title": ', headers: { 'content-type': 'application/json' } })).status, 400);
  t.is(
    (await alice.post('/myrecipes', undefined, { rawBody: 'title=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }))
      .status,
    415,
  );
  const huge = await alice.post('/myrecipes', { ...sampleRecipe(), steps: Array(60).fill('x'.repeat(2000)) });
  t.is(huge.status, 413);
  t.is((await alice.get('/myrecipes/../../etc/passwd')).status, 404);
  t.deepEqual((await pageOf(alice)).recipes, []);
});

test('authentication: missing, malformed, foreign and expired tokens are 401', async (t) => {
  t.is((await call(system().gatewayUrl, 'GET', '/mypages/me')).status, 401);
  t.is((await call(system().gatewayUrl, 'GET', '/mypages/me', { token: 'x.y.z' })).status, 401);
  const expired = await system().token('alice', { expiresIn: '-1m' });
  const res = await call(system().gatewayUrl, 'GET', '/mypages/me', { token: expired });
  t.is(res.status, 401);
  t.is(res.body.error.message, 'the token has expired');
  t.is((await call(system().gatewayUrl, 'GET', '/healthz')).status, 200, 'health needs no token');
});

test('the withdrawal is not reachable through the gateway', async (t) => {
  const alice = await member('alice');
  const id = await registered(alice);
  for (const [method, path] of [
    ['POST', '/withdrawals'],
    ['POST', '/withdrawal-cancellations'],
    ['POST', `/recipes/${id}/withdrawal`],
    ['GET', '/members/x/balance'],
    ['GET', '/audit/recipes'],
  ] as const) {
    const res = await call(system().gatewayUrl, method, path, { token: await system().token('alice') });
    t.true(res.status === 404 || res.status === 405, `${method} ${path}: ${res.status}`);
  }
  t.is((await alice.get(`/recipes/${id}`)).status, 200);
});

test('events published twice, late or out of order (directly through Dapr) change nothing twice', async (t) => {
  const [alice, bob] = await Promise.all([member('alice'), member('bob')]);
  const aliceId = await memberId(alice);
  const id = await registered(alice, 'Replayed');
  await bob.post(`/recipes/${id}/recommendations`);
  await eventually(async () => (await pageOf(alice)).balance === POINT, { what: 'balance' });
  const producer = viaSidecar(system().services.recipe, system().services.recipe.daprApiToken);
  const asMyrecipe = viaSidecar(system().services.myrecipe, system().services.myrecipe.daprApiToken);
  const now = new Date().toISOString();
  // A duplicate of the real Recommended (same id), an older total under a new id, a duplicate Registered.
  await producer.publish(
    'Recommended',
    { recipeId: id, authorId: aliceId, recommenderId: await memberId(bob), points: POINT, recipePoints: POINT, recommendedAt: now },
    `Recommended:${id}:${await memberId(bob)}`,
  );
  await producer.publish('Recommended', {
    recipeId: id,
    authorId: aliceId,
    recommenderId: 'ghost',
    points: POINT,
    recipePoints: 0,
    recommendedAt: now,
  });
  await asMyrecipe.publish(
    'Registered',
    { recipeId: id, memberId: aliceId, title: 'Replayed twice', registeredAt: now },
    `Registered:${id}`,
  );
  // A recipe whose Deleted arrives before its Registered never appears anywhere.
  const ghost = randomUUID();
  await asMyrecipe.publish('Deleted', { recipeId: ghost, memberId: aliceId, pointsRevoked: 0, deletedAt: now }, `Deleted:${ghost}`);
  await asMyrecipe.publish('Registered', { recipeId: ghost, memberId: aliceId, title: 'Ghost', registeredAt: now }, `Registered:${ghost}`);
  await new Promise((r) => setTimeout(r, 1_500));
  const page = await pageOf(alice);
  t.is(page.balance, POINT);
  t.deepEqual(
    page.recipes.map((r: { title: string }) => r.title),
    ['Replayed'],
  );
  t.is((await bob.get(`/recipes/${ghost}`)).status, 404);
  t.is((await bob.post(`/recipes/${ghost}/recommendations`)).status, 404);
});

test.after('after the system goes quiet, balances agree across myrecipe, recipe and mypage', async (t) => {
  const report = await eventually(
    async () => {
      const r = await checkInvariants(checkTargets(system(), POINT));
      return r.ok ? r : Promise.reject(new Error(r.problems.join('\n')));
    },
    { what: 'invariants', timeoutMs: 20_000, intervalMs: 500 },
  );
  t.true(report.members > 10);
  t.true(report.liveRecipes > 10);
});

test('a delete sent again through the other gateway replica while the first is still in flight answers the same; the recipe is never recommendable again', async (t) => {
  const id = `delete-twice-${randomUUID().slice(0, 8)}`;
  const token = await system().token(id);
  const [viaFirst, viaSecond] = system().gatewayUrls.map((url) => memberClient(url, token));
  const [bob, carol] = await Promise.all([member('bob'), member('carol')]);
  const recipeId = await registered(viaFirst!, 'Deleted twice');
  t.is((await bob.post(`/recipes/${recipeId}/recommendations`)).status, 201);
  await eventually(async () => (await viaFirst!.get(`/myrecipes/${recipeId}`)).body.points === POINT, { what: 'credited' });

  const [first, second] = await Promise.all([viaFirst!.delete(`/myrecipes/${recipeId}`), viaSecond!.delete(`/myrecipes/${recipeId}`)]);
  t.is(first.status, 200, first.text);
  t.is(second.status, 200, second.text);
  t.deepEqual(first.body, { recipeId, pointsRevoked: POINT });
  t.deepEqual(second.body, first.body, 'the same answer, through either replica');
  for (let i = 0; i < 5; i++) {
    t.is((await carol.post(`/recipes/${recipeId}/recommendations`)).status, 404, 'never recommendable again');
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  await eventually(async () => (await pageOf(viaFirst!)).balance === 0, { what: 'balance back to 0' });
});
