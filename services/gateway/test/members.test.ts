import test from 'ava';
import { DaprError, type InvokeOptions } from '@recipe/shared';
import { SignJWT } from 'jose';
import { gateway, recipeId, secret, sign } from './support.js';

const withClaims = (sub: string, claims: Record<string, unknown>) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('1h').sign(new TextEncoder().encode(secret));
const json = (body: unknown) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

test('when a member lists their recipes, then the checked limit and cursor go to myrecipe for that member only', async (t) => {
  const { call, fake } = await gateway(t);
  fake.handle('myrecipe GET members/alice/recipes?limit=20', () => ({ items: [], nextCursor: 'abc' }));
  const cursor = `${'e'.repeat(20)}.${'A'.repeat(43)}`;
  fake.handle(`myrecipe GET members/alice/recipes?limit=5&cursor=${cursor}`, () => ({ items: [], nextCursor: null }));
  const token = await sign('alice');
  t.deepEqual((await call('GET', '/myrecipes', { token })).body, { items: [], nextCursor: 'abc' });
  t.deepEqual((await call('GET', `/myrecipes?limit=5&cursor=${cursor}`, { token })).body, { items: [], nextCursor: null });
  const calls = fake.invoked.length;
  for (const query of ['limit=0', 'limit=51', 'limit=x', 'cursor=nope', 'cursor=a.b', 'other=1', `cursor=${cursor}&cursor=${cursor}`]) {
    const res = await call('GET', `/myrecipes?${query}`, { token });
    t.is(res.status, 400, query);
    t.is(res.body.error.code, 'REQUEST.INVALID', query);
  }
  t.is(fake.invoked.length, calls, 'nothing invalid reaches myrecipe');
});

test('when anyone reads the catalogue or a recipe, then authors are shown by display name, and the subject appears nowhere; without the names a recipe is still shown', async (t) => {
  const { call, fake } = await gateway(t);
  const lookups: unknown[] = [];
  fake.handle('mypage POST display-names', (o: InvokeOptions) => {
    lookups.push(o.body);
    return { names: { 'alice@example.com': 'Alice K.', 'carol-7': 'Cook 7QK2MZ' } };
  });
  fake.handle('mypage GET catalogue?size=20', () => ({
    items: [
      { recipeId, title: 'Kimchi stew', points: 3, authorId: 'alice@example.com' },
      { recipeId, title: 'Bibimbap', points: 1, authorId: 'carol-7' },
      { recipeId, title: 'Japchae', points: 0, authorId: 'alice@example.com' },
    ],
    nextCursor: null,
  }));
  fake.handle('recipe GET recipes/:id', () => ({ recipeId, title: 'Kimchi stew', points: 3, authorId: 'alice@example.com' }));
  fake.handle('myrecipe GET recipes/:id/content', () => ({ ingredients: ['kimchi'], steps: ['Simmer.'] }));
  fake.handle('recipe POST recipes/:id/recommendations', () => ({
    recipeId,
    points: 4,
    authorId: 'alice@example.com',
    alreadyRecommended: false,
  }));
  const token = await sign('bob');

  const listing = await call('GET', '/recipes?size=20', { token });
  t.is(listing.status, 200);
  t.deepEqual(
    listing.body.items.map((i: { author: unknown }) => i.author),
    [{ displayName: 'Alice K.' }, { displayName: 'Cook 7QK2MZ' }, { displayName: 'Alice K.' }],
  );
  t.deepEqual(lookups, [{ memberIds: ['alice@example.com', 'carol-7'] }], 'one lookup a page, each author once');
  const page = await call('GET', `/recipes/${recipeId}`, { token });
  t.deepEqual(page.body, {
    recipeId,
    title: 'Kimchi stew',
    points: 3,
    author: { displayName: 'Alice K.' },
    ingredients: ['kimchi'],
    steps: ['Simmer.'],
  });
  const recommended = await call('POST', `/recipes/${recipeId}/recommendations`, { token });
  t.is(recommended.status, 201);
  for (const body of [listing.body, page.body, recommended.body]) t.notRegex(JSON.stringify(body), /alice@example\.com|carol-7|authorId/);

  fake.handle('mypage POST display-names', () => {
    throw new DaprError('dapr', 500, { errorCode: 'ERR_DIRECT_INVOKE' }, 'mypage down');
  });
  const listingDown = await call('GET', '/recipes?size=20', { token });
  t.is(listingDown.status, 503, 'a listing without its names is not served');
  t.truthy(listingDown.headers.get('retry-after'));
  const pageDown = await call('GET', `/recipes/${recipeId}`, { token });
  t.is(pageDown.status, 200, "one recipe's page is, with its author unnamed");
  t.deepEqual(pageDown.body.author, { displayName: 'A member' });
});

test('when a member sets a display name, then it is checked (1-50 characters, one line, no control characters) and sent trimmed', async (t) => {
  const { call, fake } = await gateway(t);
  const sent: InvokeOptions[] = [];
  fake.handle('mypage PUT profiles/alice', (o: InvokeOptions) => {
    sent.push(o);
    return { displayName: (o.body as { displayName: string }).displayName, source: 'member' };
  });
  const token = await withClaims('alice', { name: '김치\u0007 요리사\n' });
  const ok = await call('PUT', '/members/me', { token, ...json({ displayName: '  김 셰프  ' }) });
  t.deepEqual(ok.body, { displayName: '김 셰프', source: 'member' });
  t.is(decodeURIComponent(sent[0]!.headers!['x-member-name']!), '김치 요리사', "the token's name, cleaned, percent-encoded");
  t.is((await call('PUT', '/members/me', { token, ...json({ displayName: '가'.repeat(50) }) })).status, 200, '50 characters, not bytes');
  for (const displayName of ['', '   ', 'a'.repeat(51), 'two\nlines', 'tab\tbed', 'bell\u0007', 'nul\u0000', 'a\u2028b', 42, null]) {
    const res = await call('PUT', '/members/me', { token, ...json({ displayName }) });
    t.is(res.status, 400, JSON.stringify(displayName));
    t.is(res.body.error.details[0].field, 'displayName');
  }
  t.is((await call('PUT', '/members/me', { token, ...json({ displayName: 'Al', memberId: 'mallory' }) })).status, 400);
  t.is(sent.length, 2, 'nothing invalid reaches mypage');
});

test('when a member reads their profile, then it comes from mypage with the name their token carries', async (t) => {
  const { call, fake } = await gateway(t);
  const headers: Record<string, string>[] = [];
  fake.handle('mypage GET profiles/alice', (o: InvokeOptions) => {
    headers.push(o.headers!);
    return { displayName: 'Ali K.', source: 'token' };
  });
  t.deepEqual((await call('GET', '/members/me', { token: await withClaims('alice', { nickname: 'Ali K.' }) })).body, {
    displayName: 'Ali K.',
    source: 'token',
  });
  await call('GET', '/members/me', { token: await sign('alice') });
  await call('GET', '/members/me', { token: await withClaims('alice', { name: 'ALICE', nickname: 'alice' }) });
  t.is(headers[0]!['x-member-name'], 'Ali%20K.');
  t.false('x-member-name' in headers[1]!, 'a token without a name sends none');
  t.false('x-member-name' in headers[2]!, 'nor one whose name is only the login subject again');
});
