import test from 'ava';
import { DaprError } from '@recipe/shared';
import { SignJWT } from 'jose';
import { createAuthenticator } from '../src/auth.js';
import { gateway, log, recipeId, secret, sign } from './support.js';

test('when no token, a malformed one, a wrongly signed or an expired one is sent, then 401 with a JSON error', async (t) => {
  const { call, fake } = await gateway(t);
  for (const token of [
    undefined,
    'not-a-jwt',
    await sign('alice', { key: 'another-key-of-enough-length!!' }),
    await sign('alice', { expiresIn: '-1m' }),
  ]) {
    const res = await call('GET', '/mypages/me', { token });
    t.is(res.status, 401);
    t.is(res.body.error.code, 'AUTH.UNAUTHENTICATED');
  }
  t.deepEqual(fake.invoked, []);
});

const recipe = { title: 'Kkakdugi', ingredients: ['radish'], steps: ['Cube, salt, season, ferment.'] };
const json = (body: unknown) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

test('when the token is valid, then the member id travels in a header, and every registration carries an idempotency key', async (t) => {
  const { call, fake } = await gateway(t);
  fake.handle('myrecipe POST myrecipes', () => ({ recipeId }));
  t.is((await call('POST', '/myrecipes', { token: await sign('alice'), ...json(recipe) })).status, 201);
  t.is(
    (
      await call('POST', '/myrecipes', {
        token: await sign('alice'),
        ...json(recipe),
        headers: { 'content-type': 'application/json', 'idempotency-key': 'mine-1' },
      })
    ).status,
    201,
  );
  const [generated, given] = fake.invoked.map((i) => i.options.headers!);
  t.is(generated!['x-member-id'], 'alice');
  t.regex(generated!['idempotency-key']!, /^gateway-[0-9a-f-]{36}$/);
  t.is(given!['idempotency-key'], 'mine-1');
});

test('when myrecipe answers a registration without its recipe, then 504 (retry with the same key), never a 201', async (t) => {
  const { call, fake } = await gateway(t);
  for (const answer of [undefined, '{"recipeId":"6f1c', { title: 'no id' }]) {
    fake.handle('myrecipe POST myrecipes', () => answer);
    const res = await call('POST', '/myrecipes', { token: await sign('alice'), ...json(recipe) });
    t.is(res.status, 504, JSON.stringify(answer));
    t.is(res.body.error.code, 'SERVICE.OUTCOME_UNKNOWN');
    t.truthy(res.headers.get('retry-after'));
  }
});

test('when a registration body is invalid, then 400 at the gateway and myrecipe is not called', async (t) => {
  const { call, fake } = await gateway(t);
  const res = await call('POST', '/myrecipes', { token: await sign('alice'), ...json({ ...recipe, memberId: 'mallory' }) });
  t.is(res.status, 400);
  t.is(res.body.error.code, 'REQUEST.INVALID');
  t.deepEqual(fake.invoked, []);
});

test('when more registrations are in flight than allowed, then the rest get 503 with Retry-After at once, and it recovers', async (t) => {
  const { call, fake } = await gateway(t, { registrationMaxInFlight: 2 });
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  fake.handle('myrecipe POST myrecipes', async () => {
    await gate;
    return { recipeId };
  });
  const token = await sign('alice');
  let answered = 0;
  const pending = Array.from({ length: 5 }, () => call('POST', '/myrecipes', { token, ...json(recipe) }).finally(() => answered++));
  // Hold the two admitted ones until the other three have been turned away.
  while (answered < 3) await new Promise((r) => setTimeout(r, 10));
  release();
  const replies = await Promise.all(pending);
  t.is(replies.filter((r) => r.status === 201).length, 2);
  const busy = replies.filter((r) => r.status === 503);
  t.is(busy.length, 3);
  t.is(busy[0]!.body.error.code, 'SERVICE.OVERLOADED');
  t.regex(busy[0]!.body.error.message, /register again in a moment/);
  t.is(busy[0]!.headers.get('retry-after'), '1');
  t.is((await call('POST', '/myrecipes', { token, ...json(recipe) })).status, 201);
});

const appError = (status: number, code: string, headers?: number) =>
  new DaprError('app', status, { error: { code, message: code } }, `${status}`, headers);
const daprRefusal = (text: string) =>
  new DaprError('dapr', 500, { errorCode: 'ERR_DIRECT_INVOKE', message: `failed to invoke, id: myrecipe, err: ${text}` }, text);

test('the registration circuit opens after 5 failures of myrecipe, refuses at once with a Retry-After covering its open time, and a good trial call closes it', async (t) => {
  const { call, fake } = await gateway(t, { registrationBreaker: { failures: 5, openSeconds: 1 } });
  let failing = true;
  let calls = 0;
  fake.handle('myrecipe POST myrecipes', () => {
    calls++;
    if (failing) throw appError(500, 'INTERNAL');
    return { recipeId };
  });
  const token = await sign('alice');
  for (let i = 0; i < 5; i++) t.is((await call('POST', '/myrecipes', { token, ...json(recipe) })).status, 504);
  const refused = await call('POST', '/myrecipes', { token, ...json(recipe) });
  t.is(refused.status, 503);
  t.is(refused.headers.get('retry-after'), '1', 'never shorter than the time it stays open');
  t.regex(refused.body.error.message, /register again in a moment/);
  t.is(calls, 5, 'refused without reaching myrecipe');
  failing = false;
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  t.is((await call('POST', '/myrecipes', { token, ...json(recipe) })).status, 201, 'the trial call');
  t.is((await call('POST', '/myrecipes', { token, ...json(recipe) })).status, 201, 'closed again');
});

test("members' own errors (409, 404, 400 from myrecipe) never open the registration circuit for anyone", async (t) => {
  const { call, fake } = await gateway(t);
  fake.handle('myrecipe POST myrecipes', (options) => {
    if (options.headers!['x-member-id'] === 'mallory') throw appError(409, 'IDEMPOTENCY.KEY_REUSED');
    return { recipeId };
  });
  const mallory = await sign('mallory');
  for (let i = 0; i < 20; i++) t.is((await call('POST', '/myrecipes', { token: mallory, ...json(recipe) })).status, 409);
  t.is((await call('POST', '/myrecipes', { token: await sign('alice'), ...json(recipe) })).status, 201);
});

test('a call Dapr refused before sending it (a replica gone from name resolution) is made again; a half-open breaker\'s refusal is a 503, never "outcome unknown"', async (t) => {
  const { call, fake } = await gateway(t);
  let attempts = 0;
  fake.handle('myrecipe POST myrecipes', () => {
    if (++attempts < 3)
      throw daprRefusal(
        'error invoking app channel: Post "http://127.0.0.1:1/myrecipes": dial tcp 127.0.0.1:1: connect: connection refused',
      );
    return { recipeId };
  });
  const token = await sign('alice');
  t.is((await call('POST', '/myrecipes', { token, ...json(recipe) })).status, 201);
  t.is(attempts, 3);

  fake.handle('recipe POST recipes/:id/recommendations', () => {
    throw new DaprError(
      'dapr',
      500,
      { errorCode: 'ERR_DIRECT_INVOKE', message: 'failed to invoke, id: recipe, err: too many requests' },
      'half-open',
    );
  });
  const res = await call('POST', `/recipes/${recipeId}/recommendations`, { token });
  t.is(res.status, 503, 'nothing was sent: nothing changed');
  t.truthy(res.headers.get('retry-after'));
});

test("a service's own 503 is passed on with the service's Retry-After", async (t) => {
  const { call, fake } = await gateway(t);
  fake.handle('myrecipe DELETE myrecipes/:id', () => {
    throw new DaprError('app', 503, { error: { code: 'SERVICE.UNAVAILABLE', message: 'nothing was changed' } }, '503', 10);
  });
  const res = await call('DELETE', `/myrecipes/${recipeId}`, { token: await sign('alice') });
  t.is(res.status, 503);
  t.is(res.headers.get('retry-after'), '10');
});

test('when a path id is not a UUID (traversal, encoded slashes), then 400 (or 404 once the client resolved the dots) and nothing is called', async (t) => {
  const { call, fake } = await gateway(t);
  const token = await sign('alice');
  for (const id of ['..%2F..%2Fmembers%2Fbob%2Fbalance', 'abc', `${recipeId}%2Fwithdrawal`, '%2e%2e']) {
    const res = await call('GET', `/myrecipes/${id}`, { token });
    t.true(id === '%2e%2e' ? res.status === 404 : res.status === 400, `${id}: ${res.status}`);
  }
  t.deepEqual(fake.invoked, []);
});

test('when the body is too large or not JSON, then 413 or 415', async (t) => {
  const { call } = await gateway(t);
  const token = await sign('alice');
  t.is((await call('POST', '/myrecipes', { token, ...json({ ...recipe, title: 'x'.repeat(2000) }) })).status, 413);
  t.is((await call('POST', '/myrecipes', { token, headers: { 'content-type': 'text/plain' }, body: 'hello' })).status, 415);
  t.is((await call('POST', '/myrecipes', { token, headers: { 'content-type': 'application/json' }, body: '{"title":' })).status, 400);
});

test("a service's own 4xx is passed on; its failure or an unreachable sidecar becomes 503 with Retry-After", async (t) => {
  const { call, fake } = await gateway(t);
  const token = await sign('alice');
  fake.handle('recipe GET recipes/:id', () => {
    throw new DaprError('app', 404, { error: { code: 'RECIPE.NOT_FOUND', message: 'no such recipe' } }, 'not found');
  });
  const missing = await call('GET', `/recipes/${recipeId}`, { token });
  t.is(missing.status, 404);
  t.deepEqual(missing.body, { error: { code: 'RECIPE.NOT_FOUND', message: 'no such recipe' } });

  fake.handle('recipe GET recipes/:id', () => {
    throw new DaprError('dapr', 500, { errorCode: 'ERR_DIRECT_INVOKE', message: 'circuit breaker is open' }, 'open');
  });
  const down = await call('GET', `/recipes/${recipeId}`, { token });
  t.is(down.status, 503);
  t.is(down.headers.get('retry-after'), '5');
  t.is(down.body.error.code, 'SERVICE.UNAVAILABLE');
  t.notRegex(JSON.stringify(down.body), /circuit|ERR_|at /, 'no internals leak');
});

test('a repeated recommendation answers 200, the first 201', async (t) => {
  const { call, fake } = await gateway(t);
  const token = await sign('bob');
  let already = false;
  fake.handle('recipe POST recipes/:id/recommendations', () => {
    const reply = { recipeId, points: 1, alreadyRecommended: already };
    already = true;
    return reply;
  });
  t.is((await call('POST', `/recipes/${recipeId}/recommendations`, { token })).status, 201);
  t.is((await call('POST', `/recipes/${recipeId}/recommendations`, { token })).status, 200);
});

test('health endpoints need no token', async (t) => {
  const { call } = await gateway(t);
  t.is((await call('GET', '/healthz')).status, 200);
  t.is((await call('GET', '/readyz')).status, 200);
});

test('an unknown route is a JSON 404', async (t) => {
  const { call } = await gateway(t);
  const res = await call('GET', '/nope', { token: await sign('alice') });
  t.is(res.status, 404);
  t.truthy(res.body.error.code);
});

test('a write that may have reached the service before failing is a 504 (outcome unknown), a read a 503', async (t) => {
  const { call, fake } = await gateway(t);
  const token = await sign('bob');
  const dropped = () => {
    throw new DaprError(
      'dapr',
      500,
      { errorCode: 'ERR_DIRECT_INVOKE', message: 'failed to invoke, id: recipe, err: error invoking app channel: EOF' },
      'dropped',
    );
  };
  fake.handle('recipe POST recipes/:id/recommendations', dropped);
  fake.handle('recipe GET recipes/:id', dropped);
  const write = await call('POST', `/recipes/${recipeId}/recommendations`, { token });
  t.is(write.status, 504);
  t.is(write.body.error.code, 'SERVICE.OUTCOME_UNKNOWN');
  t.truthy(write.headers.get('retry-after'));
  t.is((await call('GET', `/recipes/${recipeId}`, { token })).status, 503);
});

// Serial: on a busy machine the other tests of this file could eat the token's few seconds.
test('a token checked once is taken on trust until it expires, never after', async (t) => {
  let clock = Date.now();
  const auth = createAuthenticator({ key: { secret: async () => secret }, log, now: () => clock });
  const { call, fake } = await gateway(t, { auth });
  fake.handle('mypage GET mypages/alice', () => ({ memberId: 'alice', balance: 0, recipes: [] }));
  const exp = Math.floor(clock / 1000) + 3;
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('alice')
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(secret));
  t.is((await call('GET', '/mypages/me', { token })).status, 200);
  clock = exp * 1000 - 1;
  t.is((await call('GET', '/mypages/me', { token })).status, 200, 'again, from the cache, a moment before it expires');
  clock = exp * 1000;
  const expired = await call('GET', '/mypages/me', { token });
  t.is(expired.status, 401, 'expired is expired, cached or not');
  t.regex(expired.body.error.message, /expired/);
});
