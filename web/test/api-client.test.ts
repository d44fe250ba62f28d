import test from 'ava';
import { ApiClient, type ClientOptions, type RetryNotice } from '../src/api/client.js';
import { ApiError, NetworkError, RetryableError, UnauthenticatedError, ValidationError } from '../src/api/errors.js';

interface Seen {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | undefined;
}

type Answer = { status: number; body?: unknown; headers?: Record<string, string> } | Error;

/** A fetch that answers from a script, one answer per call, and records what it was sent. */
function scriptedFetch(answers: Answer[]) {
  const seen: Seen[] = [];
  const fetch = (async (url: string, init: RequestInit) => {
    seen.push({
      method: init.method ?? 'GET',
      url,
      headers: init.headers as Record<string, string>,
      body: init.body as string | undefined,
    });
    const answer = answers.shift();
    if (answer === undefined) throw new Error('no more answers scripted');
    if (answer instanceof Error) throw answer;
    return new Response(answer.body === undefined ? null : JSON.stringify(answer.body), {
      status: answer.status,
      headers: { 'Content-Type': 'application/json', ...answer.headers },
    });
  }) as unknown as typeof globalThis.fetch;
  return { fetch, seen };
}

/** A client on a fake clock: sleeping only records how long it would have slept. */
function client(answers: Answer[], options: Partial<ClientOptions> = {}) {
  const { fetch, seen } = scriptedFetch(answers);
  const slept: number[] = [];
  const unauthenticated: UnauthenticatedError[] = [];
  const api = new ApiClient({
    fetch,
    sleep: async (ms) => {
      slept.push(ms);
    },
    now: () => Date.parse('2026-12-02T12:00:00Z'),
    token: () => 'tok',
    onUnauthenticated: (e) => unauthenticated.push(e),
    ...options,
  });
  return { api, seen, slept, unauthenticated };
}

const error = (code: string, details?: unknown) => ({ error: { code, message: `${code} happened`, ...(details ? { details } : {}) } });
const recipe = { recipeId: 'r1', memberId: 'alice', title: 'Stew', ingredients: ['kimchi'], steps: ['boil'], registeredAt: 'x', points: 0 };
const newRecipe = { title: 'Stew', ingredients: ['kimchi'], steps: ['boil'] };

test('sends the bearer token and parses the JSON answer', async (t) => {
  const { api, seen } = client([{ status: 200, body: { displayName: 'Alice', source: 'member' } }]);
  t.deepEqual(await api.profile(), { displayName: 'Alice', source: 'member' });
  t.is(seen[0]?.headers.Authorization, 'Bearer tok');
  t.is(seen[0]?.url, '/members/me');
});

test('catalogue query: limit, cursor and q, encoded; nothing for absent ones', async (t) => {
  const page = { items: [], limit: 20, hasMore: false, nextCursor: null };
  const { api, seen } = client([
    { status: 200, body: page },
    { status: 200, body: page },
  ]);
  await api.catalogue({ q: '김치 stew', cursor: 'abc.def' });
  await api.catalogue({});
  t.is(seen[0]?.url, '/recipes?limit=20&cursor=abc.def&q=%EA%B9%80%EC%B9%98+stew');
  t.is(seen[1]?.url, '/recipes?limit=20');
});

test('a 400 is a ValidationError with the details of each field', async (t) => {
  const details = [
    { field: 'title', message: 'Too big' },
    { field: 'ingredients.0', message: 'Too small' },
  ];
  const { api } = client([{ status: 400, body: error('REQUEST.INVALID', details) }]);
  const e = await t.throwsAsync(api.register(newRecipe, { idempotencyKey: 'k1' }), { instanceOf: ValidationError });
  t.is(e?.kind, 'validation');
  t.is(e?.code, 'REQUEST.INVALID');
  t.deepEqual(e?.details, details);
});

test('each error status maps to its kind', async (t) => {
  const cases: [number, string, ApiError['kind']][] = [
    [403, 'RECOMMENDATION.OWN_RECIPE', 'forbidden'],
    [404, 'RECIPE.NOT_FOUND', 'not-found'],
    [409, 'IDEMPOTENCY.KEY_REUSED', 'conflict'],
    [500, 'INTERNAL.ERROR', 'unexpected'],
  ];
  for (const [status, code, kind] of cases) {
    const { api } = client([{ status, body: error(code) }]);
    const e = await t.throwsAsync(api.recipe('r1'), { instanceOf: ApiError });
    t.is(e?.kind, kind, `${status}`);
    t.is(e?.code, code);
    t.is(e?.status, status);
  }
});

test('an error without a JSON body still maps by status', async (t) => {
  const { api } = client([{ status: 404 }]);
  const e = await t.throwsAsync(api.recipe('r1'), { instanceOf: ApiError });
  t.is(e?.kind, 'not-found');
  t.is(e?.code, '');
});

test('503, 504 and 429 carry Retry-After; a final one is thrown with it', async (t) => {
  const cases: [number, ApiError['kind']][] = [
    [503, 'unavailable'],
    [504, 'outcome-unknown'],
    [429, 'too-many-requests'],
  ];
  for (const [status, kind] of cases) {
    const { api } = client([{ status, body: error('SERVICE.X'), headers: { 'Retry-After': '7' } }], { maxRetries: 0 });
    const e = await t.throwsAsync(api.myPage({}), { instanceOf: RetryableError });
    t.is(e?.kind, kind);
    t.is(e?.retryAfter, 7);
  }
});

test('Retry-After as an HTTP date counts from the clock', async (t) => {
  const headers = { 'Retry-After': 'Wed, 02 Dec 2026 12:00:05 GMT' };
  const { api } = client([{ status: 503, body: error('SERVICE.UNAVAILABLE'), headers }], { maxRetries: 0 });
  const e = await t.throwsAsync(api.myPage({}), { instanceOf: RetryableError });
  t.is(e?.retryAfter, 5);
});

test('a GET is retried after Retry-After, telling each wait, and succeeds', async (t) => {
  const page = { memberId: 'alice', balance: 3, recipes: [], limit: 20, hasMore: false, nextCursor: null };
  const { api, seen, slept } = client([
    { status: 503, body: error('SERVICE.UNAVAILABLE'), headers: { 'Retry-After': '3' } },
    { status: 429, body: error('RATE.LIMITED'), headers: { 'Retry-After': '1' } },
    { status: 200, body: page },
  ]);
  const notices: RetryNotice[] = [];
  t.deepEqual(await api.myPage({}, { onRetry: (n) => notices.push(n) }), page);
  t.is(seen.length, 3);
  t.deepEqual(slept, [3000, 1000]);
  t.deepEqual(
    notices.map((n) => [n.attempt, n.seconds, n.error.kind]),
    [
      [1, 3, 'unavailable'],
      [2, 1, 'too-many-requests'],
    ],
  );
});

test('a DELETE answered 504 is retried after Retry-After (deleting again is harmless)', async (t) => {
  const { api, seen, slept } = client([
    { status: 504, body: error('SERVICE.OUTCOME_UNKNOWN'), headers: { 'Retry-After': '2' } },
    { status: 200, body: { recipeId: 'r1', pointsRevoked: 4 } },
  ]);
  t.deepEqual(await api.deleteMyRecipe('r1'), { recipeId: 'r1', pointsRevoked: 4 });
  t.deepEqual(
    seen.map((s) => [s.method, s.url]),
    [
      ['DELETE', '/myrecipes/r1'],
      ['DELETE', '/myrecipes/r1'],
    ],
  );
  t.deepEqual(slept, [2000]);
});

test('a registration is retried with the same Idempotency-Key and the same body', async (t) => {
  const { api, seen } = client([
    { status: 504, body: error('SERVICE.OUTCOME_UNKNOWN'), headers: { 'Retry-After': '1' } },
    new TypeError('fetch failed'),
    { status: 201, body: recipe },
  ]);
  t.deepEqual(await api.register(newRecipe, { idempotencyKey: 'key-1' }), recipe);
  t.is(seen.length, 3);
  for (const s of seen) {
    t.is(s.headers['Idempotency-Key'], 'key-1');
    t.deepEqual(JSON.parse(s.body ?? ''), newRecipe);
  }
});

test('retries are bounded: the last error is thrown', async (t) => {
  const busy = { status: 503, body: error('SERVICE.UNAVAILABLE'), headers: { 'Retry-After': '1' } };
  const { api, seen, slept } = client([busy, busy, busy, busy, busy], { maxRetries: 2 });
  await t.throwsAsync(api.catalogue({}), { instanceOf: RetryableError });
  t.is(seen.length, 3);
  t.deepEqual(slept, [1000, 1000]);
});

test('a wait longer than the limit is not sat through', async (t) => {
  const { api, seen, slept } = client([{ status: 503, body: error('SERVICE.UNAVAILABLE'), headers: { 'Retry-After': '3600' } }]);
  const e = await t.throwsAsync(api.catalogue({}), { instanceOf: RetryableError });
  t.is(e?.retryAfter, 3600);
  t.is(seen.length, 1);
  t.deepEqual(slept, []);
});

test('a POST without an Idempotency-Key is never retried', async (t) => {
  const { api, seen, slept } = client([
    { status: 504, body: error('SERVICE.OUTCOME_UNKNOWN'), headers: { 'Retry-After': '1' } },
    { status: 201, body: recipe },
  ]);
  const call = api.request({ method: 'POST', path: '/myrecipes', body: newRecipe });
  const e = await t.throwsAsync(call, { instanceOf: RetryableError });
  t.is(e?.kind, 'outcome-unknown');
  t.is(seen.length, 1);
  t.deepEqual(slept, []);
});

test('a POST without a key is not retried after no answer either', async (t) => {
  const { api, seen } = client([new TypeError('fetch failed'), { status: 201, body: recipe }]);
  await t.throwsAsync(api.request({ method: 'POST', path: '/myrecipes', body: newRecipe }), { instanceOf: NetworkError });
  t.is(seen.length, 1);
});

test('no answer at all is a NetworkError; a GET is retried after it', async (t) => {
  const { api, seen, slept } = client([new TypeError('fetch failed'), { status: 200, body: { displayName: 'A', source: 'token' } }]);
  await api.profile();
  t.is(seen.length, 2);
  t.deepEqual(slept, [2000]);
});

test('errors that waiting does not fix are not retried', async (t) => {
  for (const status of [400, 403, 404, 409]) {
    const { api, seen } = client([
      { status, body: error('X.Y') },
      { status: 200, body: {} },
    ]);
    await t.throwsAsync(api.deleteMyRecipe('r1'));
    t.is(seen.length, 1, `${status}`);
  }
});

test('a 401 is an UnauthenticatedError, reported to onUnauthenticated, never retried', async (t) => {
  const { api, seen, unauthenticated } = client([
    { status: 401, body: error('AUTH.UNAUTHENTICATED') },
    { status: 200, body: {} },
  ]);
  const e = await t.throwsAsync(api.myPage({}), { instanceOf: UnauthenticatedError });
  t.is(e?.status, 401);
  t.is(seen.length, 1);
  t.deepEqual(unauthenticated, [e]);
});

test('without a token (none, or expired) nothing is sent: UnauthenticatedError', async (t) => {
  const { api, seen, unauthenticated } = client([], { token: () => undefined });
  await t.throwsAsync(api.profile(), { instanceOf: UnauthenticatedError });
  t.is(seen.length, 0);
  t.is(unauthenticated.length, 1);
});

test('public calls go without a token', async (t) => {
  const { api, seen } = client([{ status: 200, body: { signIn: { kind: 'development' } } }], { token: () => undefined });
  t.deepEqual(await api.webConfig(), { signIn: { kind: 'development' } });
  t.is(seen[0]?.headers.Authorization, undefined);
});

test('a repeat recommendation is harmless, so a 504 on it is retried', async (t) => {
  const answer = { recipeId: 'r1', title: 'S', registeredAt: 'x', points: 1, recommendations: 1, alreadyRecommended: true };
  const { api, seen } = client([
    { status: 504, body: error('SERVICE.OUTCOME_UNKNOWN'), headers: { 'Retry-After': '1' } },
    { status: 200, body: answer },
  ]);
  t.deepEqual(await api.recommend('r1'), answer);
  t.is(seen.length, 2);
});
