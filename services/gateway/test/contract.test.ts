import test from 'ava';
import { DaprError } from '@recipe/shared';
import { createContract, type Answer } from '../../../test/support/contract.js';
import { gateway, recipeId, sign } from './support.js';

// The checker the end-to-end suite runs over every answer of the gateway
// (test/support/contract.ts): real answers of the in-process gateway pass,
// and each kind of drift is caught.

const contract = createContract();

async function answer(base: string, method: string, target: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(base + target, { method, ...init });
  const text = await res.text();
  return { method, target, status: res.status, header: (name) => res.headers.get(name), text };
}

const myRecipe = {
  recipeId,
  memberId: 'alice',
  title: 'Bibimbap',
  ingredients: ['rice', 'gochujang'],
  steps: ['Mix.'],
  registeredAt: '2026-12-02T08:00:00.000Z',
  points: 10,
};

test('when the gateway answers as documented, then the contract finds nothing wrong', async (t) => {
  const { base, fake } = await gateway(t);
  const auth = { authorization: `Bearer ${await sign('alice')}` };
  const json = { ...auth, 'content-type': 'application/json' };
  fake.handle('myrecipe GET myrecipes/:id', () => myRecipe);
  fake.handle('myrecipe DELETE myrecipes/:id', () => {
    throw new DaprError('app', 404, { error: { code: 'RECIPE.NOT_FOUND', message: 'recipe not found' } }, 'not found');
  });
  const answers = [
    await answer(base, 'GET', `/myrecipes/${recipeId}`, { headers: auth }),
    await answer(base, 'HEAD', `/myrecipes/${recipeId}`, { headers: auth }),
    await answer(base, 'DELETE', `/myrecipes/${recipeId}`, { headers: auth }),
    await answer(base, 'GET', '/myrecipes/not-a-uuid', { headers: auth }),
    await answer(base, 'GET', '/mypages/me'),
    await answer(base, 'GET', '/nowhere', { headers: auth }),
    await answer(base, 'PUT', '/recipes', { headers: auth }),
    await answer(base, 'HEAD', '/nowhere', { headers: auth }),
    await answer(base, 'OPTIONS', '/recipes', { headers: auth }),
    await answer(base, 'POST', '/myrecipes', { body: '{', headers: json }),
    await answer(base, 'POST', '/myrecipes', { body: '{"title":""}', headers: json }),
    await answer(base, 'POST', '/myrecipes', { body: 'x', headers: { ...auth, 'content-type': 'text/plain' } }),
    await answer(base, 'POST', '/myrecipes', { body: 'x'.repeat(2000), headers: json }),
    await answer(base, 'GET', '/openapi.json'),
    await answer(base, 'GET', '/docs'),
    await answer(base, 'GET', '/docs/init.js'),
    await answer(base, 'GET', '/healthz'),
    await answer(base, 'GET', '/readyz'),
  ];
  t.deepEqual(
    answers.map((a) => a.status),
    [200, 200, 404, 400, 401, 404, 405, 404, 200, 400, 400, 415, 413, 200, 200, 200, 200, 200],
  );
  for (const a of answers) t.is(contract.check(a), undefined, `${a.method} ${a.target} ${a.status}`);
});

test('when an answer drifts from the document, then the contract says how', async (t) => {
  const { base, fake } = await gateway(t);
  const auth = { headers: { authorization: `Bearer ${await sign('alice')}` } };
  const target = `/myrecipes/${recipeId}`;
  const { points: _dropped, ...withoutPoints } = myRecipe;
  fake.handle('myrecipe GET myrecipes/:id', () => withoutPoints);
  t.regex(contract.check(await answer(base, 'GET', target, auth)) ?? '', /GET \/myrecipes\/\{recipeId\} 200: .*missingProperty: "points"/);

  fake.handle('myrecipe GET myrecipes/:id', () => ({ ...myRecipe, requestHash: 'abc' }));
  t.regex(contract.check(await answer(base, 'GET', target, auth)) ?? '', /additionalProperty: "requestHash"/, 'an undocumented field');

  fake.handle('myrecipe GET myrecipes/:id', () => ({ ...myRecipe, registeredAt: 'yesterday' }));
  t.regex(contract.check(await answer(base, 'GET', target, auth)) ?? '', /registeredAt.*date-time/);

  fake.handle('myrecipe GET myrecipes/:id', () => {
    throw new DaprError('app', 409, { error: { code: 'SOMETHING.ODD', message: 'a status this operation does not document' } }, '409');
  });
  t.regex(contract.check(await answer(base, 'GET', target, auth)) ?? '', /409 is not documented for GET \/myrecipes\/\{recipeId\}/);

  const planted = (over: Partial<Answer>): Answer => ({
    method: 'GET',
    target: '/mypages/me',
    status: 503,
    header: (name) => ({ 'content-type': 'application/json', 'retry-after': '5' })[name.toLowerCase()],
    text: JSON.stringify({ error: { code: 'SERVICE.UNAVAILABLE', message: 'busy' } }),
    ...over,
  });
  t.is(contract.check(planted({})), undefined);
  t.regex(contract.check(planted({ status: 500 })) ?? '', /500 is not documented for GET \/mypages\/me/);
  t.regex(contract.check(planted({ header: (n) => (n === 'content-type' ? 'application/json' : null) })) ?? '', /Retry-After is missing/);
  t.regex(contract.check(planted({ header: (n) => (n === 'content-type' ? 'text/plain' : '5') })) ?? '', /Content-Type "text\/plain"/);
  t.regex(contract.check(planted({ text: '{"error":"busy"}' })) ?? '', /does not match/);
  t.regex(contract.check(planted({ target: '/nowhere', status: 200 })) ?? '', /200 for a request no operation documents/);
  t.regex(contract.check(planted({ target: '/nowhere', status: 404, text: 'Not Found' })) ?? '', /without a JSON error body/);
});
