import { randomUUID } from 'node:crypto';
import test from 'ava';
import { SignJWT } from 'jose';
import { call, memberClient, sampleRecipe, type MemberClient } from '../support/client.js';
import { eventually } from '../support/processes.js';
import { useSystem } from '../support/use-system.js';

// Members as others see them, and one's own recipes from the write side,
// through the gateway with real sidecars and two replicas of every app (the default).
const system = useSystem(test);

/** A member whose identity token carries these claims (name, nickname). */
async function member(prefix: string, claims: Record<string, string> = {}) {
  const subject = `${prefix}-${randomUUID().slice(0, 8)}`;
  const token = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(subject)
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(system().backing.signingKey));
  const client = memberClient(system().gatewayUrl, token);
  const setName = (displayName: string) => call(system().gatewayUrl, 'PUT', '/members/me', { token, body: { displayName } });
  return { subject, client, setName };
}

async function register(author: MemberClient, title: string) {
  const res = await author.post('/myrecipes', sampleRecipe(title));
  if (res.status !== 201) throw new Error(`register: ${res.status} ${res.text}`);
  return res.body.recipeId as string;
}

async function everyPage(client: MemberClient, limit: number) {
  const ids: string[] = [];
  for (let path = `/myrecipes?limit=${limit}`; ;) {
    const res = await client.get(path);
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${res.text}`);
    ids.push(...(res.body.items as { recipeId: string }[]).map((i) => i.recipeId));
    if (!res.body.nextCursor) return ids;
    path = `/myrecipes?limit=${limit}&cursor=${res.body.nextCursor as string}`;
  }
}

test("when bob reads alice's recipes, then he sees her display name and never her login subject", async (t) => {
  const alice = await member('alice', { name: 'Alice Kim' });
  const bob = await member('bob');
  const ids = [await register(alice.client, 'Kimchi stew'), await register(alice.client, 'Japchae')];

  const catalogue = await eventually(
    async () => {
      const res = await bob.client.get('/recipes?size=100');
      const mine = (res.body.items as { recipeId: string; author: { displayName: string } }[]).filter((i) => ids.includes(i.recipeId));
      return mine.length === 2 && mine.every((i) => i.author.displayName === 'Alice Kim') ? res : undefined;
    },
    { what: "alice's recipes in the catalogue under her name", timeoutMs: 20_000 },
  );
  const pages = [catalogue, ...(await Promise.all(ids.map((id) => bob.client.get(`/recipes/${id}`))))];
  t.deepEqual(
    pages.slice(1).map((p) => p.body.author),
    [{ displayName: 'Alice Kim' }, { displayName: 'Alice Kim' }],
  );
  const recommended = await bob.client.post(`/recipes/${ids[0]!}/recommendations`);
  t.is(recommended.status, 201);
  for (const res of [...pages, recommended]) {
    t.false(res.text.includes(alice.subject), `${res.text.slice(0, 200)} names no subject`);
    t.false(res.text.includes('authorId'));
  }

  t.deepEqual((await alice.setName('  Chef Alice 김  ')).body, {
    displayName: 'Chef Alice 김',
    source: 'member',
  });
  await eventually(async () => (await bob.client.get(`/recipes/${ids[1]!}`)).body.author?.displayName === 'Chef Alice 김', {
    what: 'the name she set, shown to bob',
  });
  t.deepEqual((await alice.client.get('/members/me')).body, { displayName: 'Chef Alice 김', source: 'member' });
  const bad = await alice.setName('two\nlines');
  t.is(bad.status, 400);
  t.is(bad.body.error.details[0].field, 'displayName');
});

test('when a member has no name at all, then others see a neutral generated one; a nickname claim is used when there is no name', async (t) => {
  const [nameless, nick, reader] = await Promise.all([member('ghost'), member('nick', { nickname: '닉 Nick' }), member('reader')]);
  const [ghostRecipe, nickRecipe] = await Promise.all([register(nameless.client, 'Tteokbokki'), register(nick.client, 'Bibimbap')]);
  const [ghostPage, nickPage] = await eventually(
    async () => {
      const pages = await Promise.all([reader.client.get(`/recipes/${ghostRecipe}`), reader.client.get(`/recipes/${nickRecipe}`)]);
      return pages.every((p) => p.status === 200) ? pages : undefined;
    },
    { what: 'both recipes recommendable' },
  );
  t.regex(ghostPage.body.author.displayName, /^Cook [A-Z2-9]{6}$/);
  t.false(ghostPage.text.includes(nameless.subject));
  t.deepEqual((await nameless.client.get('/members/me')).body, { displayName: ghostPage.body.author.displayName, source: 'generated' });
  await eventually(async () => (await reader.client.get(`/recipes/${nickRecipe}`)).body.author.displayName === '닉 Nick', {
    what: "the nickname, once Registered reached the read model (the page may come first: the recipe service's own copy)",
  });
  t.false(nickPage.text.includes(nick.subject));
});

test('when a member pages through GET /myrecipes across two replicas while registering and deleting, then each recipe that stays comes once', async (t) => {
  const { client } = await member('pager');
  const ids: string[] = [];
  for (let i = 0; i < 7; i++) ids.push(await register(client, `Banchan ${i}`));
  t.deepEqual(await everyPage(client, 3), [...ids].reverse(), 'newest first, right after registering (the write side)');

  const first = await client.get('/myrecipes?limit=3');
  t.deepEqual(
    first.body.items.map((i: { title: string; points: number }) => [i.title, i.points]),
    [
      ['Banchan 6', 0],
      ['Banchan 5', 0],
      ['Banchan 4', 0],
    ],
  );
  const added = await register(client, 'Banchan 7');
  t.is((await client.delete(`/myrecipes/${ids[1]!}`)).status, 200);
  const rest: string[] = [];
  for (let cursor = first.body.nextCursor as string | null; cursor;) {
    const res = await client.get(`/myrecipes?limit=3&cursor=${cursor}`);
    rest.push(...res.body.items.map((i: { recipeId: string }) => i.recipeId));
    cursor = res.body.nextCursor;
  }
  t.deepEqual(rest, [ids[3], ids[2], ids[0]], 'no gap, no repeat: the new one is above the cursor, the deleted one gone');
  t.deepEqual((await everyPage(client, 50))[0], added);

  const [body, tag] = (first.body.nextCursor as string).split('.');
  const tampered = await client.get(`/myrecipes?limit=3&cursor=${body!.slice(0, -1)}${body!.endsWith('A') ? 'B' : 'A'}.${tag!}`);
  t.is(tampered.status, 400);
  t.is(tampered.body.error.code, 'REQUEST.INVALID');
  const { client: other } = await member('other');
  t.is((await other.get(`/myrecipes?cursor=${first.body.nextCursor as string}`)).status, 400, "another member's cursor");
  t.deepEqual((await other.get('/myrecipes')).body, { items: [], limit: 20, hasMore: false, nextCursor: null });
});
