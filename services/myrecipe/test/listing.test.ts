import test from 'ava';
import { AppError, createLogger } from '@recipe/shared';
import { fakeOutbox, fakeSidecar } from '../../../packages/shared/test/fake-sidecar.js';
import { createCursors } from '../src/cursor.js';
import { MAX_CHUNK_READS, pageOfIds, withRegistered, type IndexChunk, type IndexHead } from '../src/listing.js';
import { createStore } from '../src/store.js';
import { createMyRecipes } from '../src/usecases.js';

const log = createLogger('test', 'silent');
const recipe = (title: string) => ({ title, ingredients: ['rice'], steps: ['Cook.'] });

function setup(fake = fakeSidecar(), secret = 'a test secret') {
  const clock = { now: new Date('2026-01-01T00:00:00Z') };
  const { outbox } = fakeOutbox(fake, 'myrecipe', () => myRecipes.resolver, clock);
  const myRecipes = createMyRecipes({
    store: createStore(fake.sidecar, 'store'),
    outbox,
    recommendations: { withdraw: async () => ({ held: true, pointsRevoked: 0 }), releaseHold: async () => undefined },
    clock: () => clock.now,
    retryAfterSeconds: 7,
    deductionBreakerSeconds: 10,
    log,
    cursors: createCursors(secret),
    indexChunkSize: 3,
  });
  return { fake, myRecipes };
}

type MyRecipes = ReturnType<typeof setup>['myRecipes'];

async function everyPage(myRecipes: MyRecipes, memberId: string, limit: number, between: () => Promise<void> = async () => {}) {
  const titles: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 100; pages++) {
    const page = await myRecipes.list(memberId, limit, cursor);
    titles.push(...page.items.map((i) => i.title));
    if (!page.nextCursor) return titles;
    cursor = page.nextCursor;
    await between();
  }
  throw new Error('no last page');
}

const indexRecords = (fake: ReturnType<typeof fakeSidecar>) =>
  [...fake.state.entries()].filter(([k]) => k.startsWith('store/recipes-of:')).map(([, v]) => v.value as IndexChunk);

test('when a member pages through GET /myrecipes, then every recipe comes once, newest first, across chunks', async (t) => {
  const { fake, myRecipes } = setup();
  for (let i = 0; i < 10; i++) await myRecipes.register('alice', recipe(`r${i}`), `k${i}`);
  await myRecipes.register('bob', recipe('bob'), 'k0');
  t.deepEqual(await everyPage(myRecipes, 'alice', 4), ['r9', 'r8', 'r7', 'r6', 'r5', 'r4', 'r3', 'r2', 'r1', 'r0']);
  t.deepEqual(await everyPage(myRecipes, 'bob', 4), ['bob']);
  t.deepEqual(await myRecipes.list('carol', 4, undefined), { items: [], limit: 4, hasMore: false, nextCursor: null });
  const first = (await myRecipes.list('alice', 1, undefined)).items[0]!;
  t.deepEqual(Object.keys(first).sort(), ['points', 'recipeId', 'registeredAt', 'title'], 'a summary: the recipe is one GET away');
  t.true(
    indexRecords(fake).every((r) => r.entries.length <= 3),
    'no list record holds more than a chunk',
  );
});

test('when recipes are registered and deleted while a member pages, then no recipe that stays is skipped or repeated', async (t) => {
  const { myRecipes } = setup();
  const ids: string[] = [];
  for (let i = 0; i < 12; i++) ids.push((await myRecipes.register('alice', recipe(`r${i}`), `k${i}`)).recipe.recipeId);
  let n = 12;
  const seen = await everyPage(myRecipes, 'alice', 3, async () => {
    await myRecipes.register('alice', recipe(`r${n}`), `k${n}`);
    n++;
    await myRecipes.remove('alice', ids.shift()!); // the oldest, not yet paged to
  });
  t.is(new Set(seen).size, seen.length, 'no duplicates');
  const stayed = (await everyPage(myRecipes, 'alice', 50)).filter((title) => Number(title.slice(1)) < 12);
  t.deepEqual(
    seen.filter((title) => stayed.includes(title)),
    stayed,
    'every original recipe still there was seen, in order',
  );
});

test('when a recipe is deleted, then its id leaves its list record in the same transaction, in the head or in a written-out chunk', async (t) => {
  const { fake, myRecipes } = setup();
  const ids: string[] = [];
  for (let i = 0; i < 7; i++) ids.push((await myRecipes.register('alice', recipe(`r${i}`), `k${i}`)).recipe.recipeId);
  await myRecipes.remove('alice', ids[1]!); // in chunk 0, written out
  await myRecipes.remove('alice', ids[6]!); // in the head
  const listed = indexRecords(fake).flatMap((r) => r.entries.map((e) => e.recipeId));
  t.false(listed.includes(ids[1]!));
  t.false(listed.includes(ids[6]!));
  t.deepEqual(await everyPage(myRecipes, 'alice', 2), ['r5', 'r4', 'r3', 'r2', 'r0']);

  fake.failures.transaction = new Error('store down');
  await t.throwsAsync(() => myRecipes.remove('alice', ids[0]!));
  fake.failures.transaction = undefined;
  t.true(
    indexRecords(fake).some((r) => r.entries.some((e) => e.recipeId === ids[0])),
    'a delete that did not commit left the list as it was',
  );
});

test('when two replicas register for one member at once, then each recipe is listed exactly once (ETags, not locks)', async (t) => {
  const fake = fakeSidecar();
  const [one, two] = [setup(fake).myRecipes, setup(fake).myRecipes];
  await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? one : two).register('alice', recipe(`r${i}`), `k${i}`)));
  const titles = await everyPage(one, 'alice', 3);
  t.deepEqual([...titles].sort(), ['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7']);
});

test('when a cursor is edited, forged, or used for another member, then the answer is a 400', async (t) => {
  const { myRecipes } = setup();
  for (let i = 0; i < 3; i++) await myRecipes.register('alice', recipe(`r${i}`), `k${i}`);
  await myRecipes.register('bob', recipe('b'), 'k');
  const { nextCursor } = await myRecipes.list('alice', 1, undefined);
  const [body, tag] = nextCursor!.split('.');
  const forged = `${Buffer.from(JSON.stringify({ below: 99 })).toString('base64url')}.${tag}`;
  const other = setup(fakeSidecar(), 'another secret').myRecipes;
  // The same tag spelt otherwise: the last character's two spare bits flipped (base64url decoding ignores them).
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const respelt = `${tag!.slice(0, -1)}${alphabet[alphabet.indexOf(tag!.at(-1)!) ^ 1]}`;
  t.deepEqual(Buffer.from(respelt, 'base64url'), Buffer.from(tag!, 'base64url'), 'the same bytes');
  for (const [cursor, member, lister] of [
    [`${body}.${respelt}`, 'alice', myRecipes],
    [forged, 'alice', myRecipes],
    [`${body}.${tag!.slice(0, -2)}AA`, 'alice', myRecipes],
    [`${body}x.${tag}`, 'alice', myRecipes],
    [nextCursor!, 'bob', myRecipes],
    [nextCursor!, 'alice', other],
  ] as const) {
    const err = await t.throwsAsync(() => lister.list(member, 1, cursor));
    t.true(err instanceof AppError && err.status === 400 && err.code === 'REQUEST.INVALID', cursor);
  }
  t.is((await myRecipes.list('alice', 1, nextCursor!)).items[0]!.title, 'r1');
});

test('when many chunks were emptied by deletes, then a page reads a bounded number of them and says where to go on', async (t) => {
  let head: IndexHead | undefined;
  for (let i = 0; i < 40; i++) head = withRegistered(head, 'alice', `id${i}`, 2).head;
  const reads: number[] = [];
  const oldest = { memberId: 'alice', chunk: 0, entries: [{ seq: 0, recipeId: 'id0' }] };
  const readChunk = async (chunk: number) => (reads.push(chunk), chunk === 0 ? oldest : undefined);
  const emptied = { ...head!, entries: [] };
  const first = await pageOfIds(emptied, Number.MAX_SAFE_INTEGER, 5, readChunk);
  t.deepEqual(first.ids, []);
  t.is(reads.length, MAX_CHUNK_READS - 1, 'the head and chunks below it, no more');
  t.true(first.next! > 0);
  let next = first.next;
  let found: string[] = [];
  while (next !== undefined) {
    const page = await pageOfIds(emptied, next, 5, readChunk);
    found = found.concat(page.ids.map((e) => e.recipeId));
    next = page.next;
  }
  t.deepEqual(found, ['id0']);
});
